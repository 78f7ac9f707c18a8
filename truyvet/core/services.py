"""Writes owned by core: appending to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model
from django.http import HttpRequest

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.core.requests import client_ip


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: AuditAction | str,
    purpose: str,
    request: HttpRequest | None = None,
    subject_person: Model | None = None,
    target: str = "",
    unit: Model | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction, so a read that
    fails to be audited is rolled back with it (for exports: never served).

    ``subject_person`` is an ``accounts.Person`` and ``unit`` a
    ``places.AdministrativeUnit`` (the log's foreign keys); core imports no
    app, so they are typed as models and stored by key."""
    return AuditEvent.objects.create(
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        action=action,
        purpose=purpose[:300],
        subject_person_id=subject_person.pk if subject_person is not None else None,
        target=target[:200],
        unit_id=unit.pk if unit is not None else None,
        ip_address=client_ip(request),
        detail=detail or {},
    )
