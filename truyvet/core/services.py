"""Writes owned by core: appending to the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.core.requests import client_ip

if TYPE_CHECKING:
    from truyvet.accounts.models import Person
    from truyvet.places.models import AdministrativeUnit


def audit_event(
    *,
    actor: Any,
    action: AuditAction | str,
    purpose: str,
    request: HttpRequest | None = None,
    subject_person: Person | None = None,
    target: str = "",
    unit: AdministrativeUnit | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """An event not yet stored, for ``audit_record_all``; ``ip_address``
    saves reading it from ``request`` again for every event of a batch."""
    return AuditEvent(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        purpose=str(purpose)[:300],
        subject_person=subject_person,
        target=target[:200],
        unit=unit,
        ip_address=ip_address if ip_address is not None else client_ip(request),
        detail=detail or {},
    )


def audit_record(
    *,
    actor: Any,
    action: AuditAction | str,
    purpose: str,
    request: HttpRequest | None = None,
    subject_person: Person | None = None,
    target: str = "",
    unit: AdministrativeUnit | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction, so a read that
    fails to be audited is rolled back with it (for exports: never served)."""
    event = audit_event(actor=actor, action=action, purpose=purpose, request=request,
                        subject_person=subject_person, target=target, unit=unit, detail=detail)
    event.save()
    return event


def audit_record_all(events: Sequence[AuditEvent]) -> None:
    """Appends ``events`` (from ``audit_event``) in one statement: an offline
    batch of door scans, or one row per person a search returned."""
    if events:
        AuditEvent.objects.bulk_create(events)


def audit_record_found(
    *,
    actor: Any,
    people: Sequence[Person],
    purpose: str,
    request: HttpRequest | None = None,
    target: str = "",
    unit: AdministrativeUnit | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One ``PERSON_FOUND`` row per person a search or lookup returned, so
    that each of them sees on their "who viewed my data" page who found
    them, when and why (the search's own row has no single subject)."""
    ip_address = client_ip(request)
    audit_record_all([
        audit_event(actor=actor, action=AuditAction.PERSON_FOUND, purpose=purpose,
                    subject_person=person, target=target, unit=unit, detail=detail,
                    ip_address=ip_address)
        for person in people
    ])
