"""Reads of people, accounts and roles.

Reading someone else's personal data is itself an event: the selectors that
show it write an audit row in the same transaction, so a read whose audit
fails is never served.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from truyvet.accounts import permissions
from truyvet.accounts.models import (
    AccessToken,
    BrowserSession,
    ClaimStatus,
    IdentityClaim,
    Person,
    RoleAssignment,
    User,
    Viewer,
)
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.accounts.services import INVALID_INPUT
from truyvet.core.errors import ErrorCollector, NotAllowed, NotFound
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.core.services import audit_record, audit_record_found
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit

# One message whether the person is outside the viewer's scope or does not
# exist at all, so probing ids reveals nothing.
PERSON_NOT_FOUND = gettext_lazy("Không tìm thấy người này.")
SEARCH_PURPOSE_DEFAULT = gettext_lazy("Tra cứu người dân")
SEARCH_MAX_LIMIT = 100
MIN_NAME_QUERY = 2

_DIGITS = re.compile(r"\d")
_ID_NUMBER = re.compile(r"\d{9}|\d{12}|[A-Z][A-Z0-9]{5,8}")

# What a list of people needs, without a query per row for the commune.
_PERSON_RELATED = ("commune", "commune__parent", "commune__parent__parent")


def _clean_purpose(purpose: str, *, required: bool) -> str:
    cleaned = " ".join((purpose or "").split())[:300]
    if required and len(cleaned) < 3:
        errors = ErrorCollector()
        errors.add(
            "purpose", gettext_lazy("Hãy ghi rõ mục đích xem dữ liệu cá nhân."), "required"
        )
        errors.raise_if_any(gettext_lazy("Cần ghi rõ mục đích trước khi xem dữ liệu."))
    return cleaned


def _search_condition(query: str) -> tuple[Q | None, str]:
    """The filter a search text stands for and which kind of search it is.

    Text with digits is an identifier and must match exactly (a phone number
    however written, or a document number), so nobody can enumerate ID
    numbers by prefix. Text without digits matches names, ignoring case and
    diacritics.
    """
    text = " ".join((query or "").split())
    if not text:
        return None, ""
    if _DIGITS.search(text):
        condition = Q(pk__in=[])
        kind = "id"
        try:
            condition |= Q(phone=normalize_phone(text))
            kind = "phone"
        except PhoneError:
            pass
        compact = re.sub(r"\s", "", text).upper()
        if _ID_NUMBER.fullmatch(compact):
            condition |= Q(id_number=compact)
        return condition, kind
    folded = fold(text)
    if len(folded) < MIN_NAME_QUERY:
        return None, ""
    # Every word typed must begin a word of the name: "thi hoa" finds
    # "Nguyễn Thị Hoa" (and "Hoàng"), "hoa" does not find "Khoa".
    condition = Q()
    for token in folded.split():
        condition &= Q(name_folded__startswith=token) | Q(name_folded__contains=" " + token)
    return condition, "name"


def _scope_unit_for_audit(viewer: User) -> AdministrativeUnit | None:
    """The widest unit the viewer works in, so the search shows up in the
    audit log of whoever oversees them (admins: no unit, seen by admins)."""
    units = permissions.scope_units(viewer)
    return min(units, key=lambda unit: len(unit.path)) if units else None


def people_search(
    *,
    viewer: User,
    query: str,
    limit: int = 20,
    purpose: str = "",
    request: HttpRequest | None = None,
) -> list[Person]:
    """People living in the viewer's scope who match ``query`` by name
    (word beginnings, diacritics and case ignored), phone number or
    document number; at most ``limit`` of them, by name.

    Each non-empty search appends one audit row (no subject: only the ids of
    the people returned, whose data the caller must still show masked), and
    one row under each person returned, who sees on "who viewed my data"
    that they were found. Raises NotAllowed for anyone who is not an
    official.
    """
    if not permissions.can_search_people(viewer):
        raise NotAllowed(gettext_lazy("Chỉ cán bộ được tra cứu người dân."))
    condition, kind = _search_condition(query)
    if condition is None:
        return []
    limit = max(1, min(limit, SEARCH_MAX_LIMIT))
    with transaction.atomic():
        found = list(
            Person.objects.filter(permissions.unit_scope_q(viewer, "commune__path"))
            .filter(condition)
            .select_related(*_PERSON_RELATED)
            .order_by("name_folded", "pk")[:limit]
        )
        purpose = _clean_purpose(purpose, required=False) or str(SEARCH_PURPOSE_DEFAULT)
        unit = _scope_unit_for_audit(viewer)
        audit_record(
            actor=viewer,
            action=AuditAction.PERSON_SEARCH,
            purpose=purpose,
            request=request,
            unit=unit,
            detail={"kind": kind, "results": len(found), "person_ids": [p.pk for p in found]},
        )
        audit_record_found(actor=viewer, people=found, purpose=purpose, request=request,
                           unit=unit, detail={"kind": kind})
    return found


def person_visible_to(*, viewer: User, person_id: int) -> Person:
    """The person if the viewer may see them, without reading their data for
    display (no audit). Raises NotFound otherwise, with the same message
    whether the person exists or not."""
    person = Person.objects.select_related(*_PERSON_RELATED).filter(pk=person_id).first()
    if person is None or not permissions.can_view_person(viewer, person):
        raise NotFound(PERSON_NOT_FOUND)
    return person


def person_detail_for(
    *, viewer: User, person_id: int, purpose: str, request: HttpRequest | None = None
) -> Person:
    """The full record of a person, for display.

    The person themselves reads freely. Anyone else must be allowed by
    ``permissions.can_view_person`` and state a purpose, and the read is
    audited (subject, unit, purpose, address) in the same transaction.
    """
    person = person_visible_to(viewer=viewer, person_id=person_id)
    if getattr(viewer, "person_id", None) == person.pk:
        return person
    cleaned = _clean_purpose(purpose, required=True)
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action=AuditAction.PERSON_READ,
            purpose=cleaned,
            request=request,
            subject_person=person,
            target=f"person:{person.pk}",
            unit=person.commune,
        )
    return person


def area_units_for(user: Viewer) -> list[AdministrativeUnit]:
    """The units a user works for (their roles) and lives in: where the
    places they look for most likely are (the commune search ranks them
    first). Nothing for an anonymous visitor."""
    if not getattr(user, "is_authenticated", False):
        return []
    units = list(permissions.scope_units(user))
    person = getattr(user, "person", None)
    if person is not None and person.commune_id is not None:
        units.append(person.commune)
    return units


def unit_for_input(unit_id: int | None, *, field: str = "commune") -> AdministrativeUnit | None:
    """The unit a form or request picked by id; an unknown id is a field error."""
    if unit_id is None:
        return None
    unit = AdministrativeUnit.objects.select_related("parent").filter(pk=unit_id).first()
    if unit is None:
        errors = ErrorCollector()
        errors.add(field, gettext_lazy("Không tìm thấy đơn vị hành chính đã chọn."), "unknown_unit")
        errors.raise_if_any(INVALID_INPUT)
    return unit


def me_for(user: User) -> Person:
    """The caller's own person record, with what the profile shows."""
    return Person.objects.select_related(*_PERSON_RELATED).get(pk=user.person_id)


def roles_visible_to(viewer: User) -> QuerySet[RoleAssignment]:
    """Role assignments over units in the viewer's officer scope (admins: all,
    including system admins, which have no unit)."""
    return (
        RoleAssignment.objects.filter(
            permissions.unit_scope_q(viewer, "unit__path", permissions.OFFICER_ROLES)
        )
        .select_related(
            "user", "user__person", "unit", "unit__parent", "unit__parent__parent", "granted_by"
        )
        .order_by("unit__path", "role", "pk")
    )


def roles_of(user: User) -> QuerySet[RoleAssignment]:
    """The roles a user holds, for their own profile."""
    return (
        RoleAssignment.objects.filter(user=user)
        .select_related("unit", "unit__parent", "unit__parent__parent")
        .order_by("unit__path", "role")
    )
def audit_events_visible_to(
    user: User, *, action: str | None = None, since: datetime | None = None
) -> QuerySet[AuditEvent]:
    """The events an officer may read: those filed under a unit in their scope
    (admins: all). The log itself is core's; who may read which part of it
    is decided by roles, which accounts owns."""
    events = AuditEvent.objects.select_related("actor", "unit", "subject_person")
    if not permissions.is_system_admin(user):
        condition = Q(pk__in=[])
        for unit in permissions.scope_units(user, permissions.OFFICER_ROLES):
            condition |= Q(unit__path__startswith=unit.path)
        events = events.filter(condition)
    if action:
        events = events.filter(action=action)
    if since:
        events = events.filter(at__gte=since)
    return events


# --- Claims on existing records ------------------------------------------------------

CLAIM_NOT_FOUND = gettext_lazy("Không tìm thấy yêu cầu này.")
CLAIM_PURPOSE = gettext_lazy("Xác minh yêu cầu nhận hồ sơ")
_CLAIM_RELATED = (
    "user", "user__person", "record", "unit", "unit__parent", "unit__parent__parent",
)


def identity_claim_of(user: User) -> IdentityClaim | None:
    """The caller's own latest claim, whatever its status, for their profile."""
    return (
        IdentityClaim.objects.select_related(*_CLAIM_RELATED)
        .filter(user_id=user.pk)
        .order_by("-created_at", "-pk")
        .first()
    )


def identity_claims_for(viewer: User) -> QuerySet[IdentityClaim]:
    """Pending claims an officer may decide: those of units in their scope
    (system admins: all, including those with no unit yet), never their own.
    Lists show them masked; ``identity_claim_detail_for`` is the audited read."""
    if not permissions.can_list_identity_claims(viewer):
        raise NotAllowed(gettext_lazy("Chỉ cán bộ được xử lý yêu cầu nhận hồ sơ."))
    return (
        IdentityClaim.objects.filter(status=ClaimStatus.PENDING)
        .filter(permissions.unit_scope_q(viewer, "unit__path", permissions.OFFICER_ROLES))
        .exclude(user_id=viewer.pk)
        .exclude(record_id=viewer.person_id)
        .select_related(*_CLAIM_RELATED)
        .order_by("created_at", "pk")
    )


def identity_claim_visible_to(*, viewer: User, claim_id: int) -> IdentityClaim:
    """The claim if the viewer may decide it, without reading it for display.
    NotFound otherwise, the same for claims that do not exist."""
    claim = IdentityClaim.objects.select_related(*_CLAIM_RELATED).filter(pk=claim_id).first()
    if claim is None or not permissions.can_decide_identity_claim(viewer, claim):
        raise NotFound(CLAIM_NOT_FOUND)
    return claim


def identity_claim_detail_for(
    *, viewer: User, claim_id: int, request: HttpRequest | None = None
) -> IdentityClaim:
    """A claim with the record's full name, birth date and number, for the
    officer who checks the card: the read is audited against the record."""
    claim = identity_claim_visible_to(viewer=viewer, claim_id=claim_id)
    with transaction.atomic():
        audit_record(
            actor=viewer, action=AuditAction.PERSON_READ, purpose=str(CLAIM_PURPOSE),
            request=request, subject_person=claim.record, target=f"claim:{claim.pk}",
            unit=claim.unit,
        )
    return claim


# --- Where one is signed in ----------------------------------------------------------


def sessions_of(user: User) -> QuerySet[BrowserSession]:
    """The caller's browser sessions that have not expired, newest first."""
    return BrowserSession.objects.filter(
        user_id=user.pk, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-pk")


def tokens_of(user: User) -> QuerySet[AccessToken]:
    """The caller's app tokens that have not expired, newest first."""
    return AccessToken.objects.filter(
        user_id=user.pk, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-pk")
