"""Writes owned by core: appending to the audit log.

``subject_person`` is an ``accounts.Person`` and ``unit`` a
``places.AdministrativeUnit`` (the log's foreign keys); core imports no app,
so they are typed as models and stored by key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model
from django.http import HttpRequest

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.core.requests import client_ip


def audit_event(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: AuditAction | str,
    purpose: str,
    request: HttpRequest | None = None,
    subject_person: Model | None = None,
    target: str = "",
    unit: Model | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """An event not yet stored, for ``audit_record_all``; ``ip_address``
    saves reading it from ``request`` again for every event of a batch."""
    return AuditEvent(
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        action=action,
        purpose=str(purpose)[:300],
        subject_person_id=subject_person.pk if subject_person is not None else None,
        target=target[:200],
        unit_id=unit.pk if unit is not None else None,
        ip_address=ip_address if ip_address is not None else client_ip(request),
        detail=detail or {},
    )


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
    actor: AbstractBaseUser | AnonymousUser | None,
    people: Sequence[Model],
    purpose: str,
    request: HttpRequest | None = None,
    target: str = "",
    unit: Model | None = None,
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
