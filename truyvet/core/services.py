"""Writes owned by core: appending to the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.core.requests import client_ip

if TYPE_CHECKING:
    from truyvet.accounts.models import Person
    from truyvet.places.models import AdministrativeUnit


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
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        purpose=purpose[:300],
        subject_person=subject_person,
        target=target[:200],
        unit=unit,
        ip_address=client_ip(request),
        detail=detail or {},
    )
