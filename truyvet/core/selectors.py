"""Reads owned by core: the audit log, as its subject sees it.

Which officials may read which part of the log depends on their roles, so
that read lives with the roles: ``truyvet.accounts.selectors.audit_events_visible_to``.
"""

from __future__ import annotations

from django.db.models import QuerySet

from truyvet.core.models import AuditEvent


def audit_events_about(person_id: int) -> QuerySet[AuditEvent]:
    """What officials did with this person's data, for the person to see."""
    return (
        AuditEvent.objects.filter(subject_person_id=person_id)
        .exclude(actor__person_id=person_id)
        .select_related("actor", "actor__person")
    )
