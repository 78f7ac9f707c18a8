"""Staff at a door: scans of someone's personal QR, chip ID card or
national QR, and manual entries of a visitor with nothing to scan.

Only the venue's staff may record there (``_require_staff``), only once the
venue is approved for it (``venues.readiness``), and a scan's device time
is bounded (``_door_floor``: no backdating before the staff member joined
or the venue was approved, and only the offline window for newcomers).
Who the scan names is decided by ``identity``; name and phone alone reach
only unverified records (``people``). Every door scan is audited under the
scanned person (``_door_audit``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person, User
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.checkins import hooks
from truyvet.checkins.models import CheckIn, CheckInMethod, ScanOutcome
from truyvet.checkins.parsers import PayloadKind, classify_payload
from truyvet.checkins.personal_qr import card_colour_for, personal_qr_verify
from truyvet.checkins.selectors import not_your_venue
from truyvet.checkins.services.identity import (
    IdentityMismatch,
    _confirm_identity,
    _person_and_method,
    _refuse_mismatch,
)
from truyvet.checkins.services.people import (
    _clean_person_fields,
    _create_person,
    _PersonFields,
    _unverified_record,
)
from truyvet.checkins.services.recording import CheckInResult, _record_retrying, checkin_throttle
from truyvet.core.errors import FieldError, NotFound, ServiceError
from truyvet.core.masking import mask_name
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.core.requests import client_ip
from truyvet.core.services import audit_event
from truyvet.venues import permissions as venue_permissions
from truyvet.venues.models import Venue


@dataclass(frozen=True)
class ScanDisplay:
    """What the door screen shows: enough to tell it is the right person,
    nothing more (the 2021 readers showed an abbreviated name, sex and birth
    year)."""

    name: str  # abbreviated: "N. T. Hoa"
    birth_year: int | None
    card_colour: str | None  # None until vaccination data exists
    method: str
    method_label: str
    outcome: str
    outcome_label: str
    # Further lines, for codes claimed by an app above (``door_scan_claimed``).
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffScanResult:
    result: CheckInResult
    display: ScanDisplay


def _door_floor(*, venue: Venue, staff_since: datetime, now: datetime) -> datetime:
    """The earliest time a door scan (someone else's visit recorded by staff
    who joined the venue at ``staff_since``) may carry when it reaches the
    server at ``now``.

    Never before the staff member joined nor before the venue's staff were
    allowed to scan (those scans could not have happened). Within
    CHECKIN_OFFLINE_WINDOW_HOURS of ``now`` while the venue or the staff
    member has less than CHECKIN_TRACK_RECORD_DAYS behind them: the offline
    queue needs no more, and anything older from a newcomer is a backdated
    visit. Device clocks may run CHECKIN_MAX_CLOCK_SKEW_SECONDS slow."""
    skew = timedelta(seconds=settings.CHECKIN_MAX_CLOCK_SKEW_SECONDS)
    floor = max(venue.staff_checkins_from, staff_since) - skew
    track_record = timedelta(days=settings.CHECKIN_TRACK_RECORD_DAYS)
    if now - venue.staff_checkins_from < track_record or now - staff_since < track_record:
        floor = max(floor, now - timedelta(hours=settings.CHECKIN_OFFLINE_WINDOW_HOURS))
    return floor


def _floor_for(venue: Venue, staff_since: datetime) -> Callable[[datetime], datetime]:
    """``_door_floor`` of ``venue`` for staff who joined at ``staff_since``,
    for the recording path to apply once it knows the server time."""
    return lambda now: _door_floor(venue=venue, staff_since=staff_since, now=now)


def _require_staff(controller: User, venue: Venue) -> datetime:
    """When ``controller`` joined ``venue``'s staff. Anyone else gets the
    same answer as for a venue code that does not exist, so codes cannot be
    tried to learn which venues exist."""
    since = venue_permissions.venue_staff_since(controller, venue)
    if since is None:
        raise not_your_venue()
    return since


_UNKNOWN = object()


def _display(result: CheckInResult, person: Person,
             card_colour: str | None | object = _UNKNOWN) -> ScanDisplay:
    """``card_colour`` when the caller read it already (a batch reads all
    its people's at once), else read here."""
    method = CheckInMethod(result.checkin.method)
    outcome = ScanOutcome(result.outcome)
    return ScanDisplay(
        name=mask_name(person.full_name),
        birth_year=person.birth_year,
        card_colour=(card_colour_for(person) if card_colour is _UNKNOWN
                     else card_colour if isinstance(card_colour, str) else None),
        method=method.value,
        method_label=str(method.label),
        outcome=outcome.value,
        outcome_label=str(outcome.label),
    )


def door_scan_claimed(
    *, controller: User, venue: Venue, payload: str, scanned_at: datetime | None = None,
    scan_id: uuid.UUID | None = None, request: HttpRequest | None = None,
) -> hooks.ClaimedScan | None:
    """What an app above recorded for ``payload`` when it is one of its
    codes (``hooks.door_scan_claim``, e.g. a declaration QR at a checkpoint),
    or None: then it is read as a check-in by ``checkin_staff_scan``."""
    claims: list[hooks.ClaimedScan] = []
    hooks.door_scan_claim(controller=controller, venue=venue, payload=payload,
                          scanned_at=scanned_at, scan_id=scan_id, request=request,
                          claims=claims)
    return claims[0] if claims else None


def claimed_display(claim: hooks.ClaimedScan) -> ScanDisplay:
    """The door screen of a claimed scan."""
    return ScanDisplay(name=claim.name, birth_year=claim.birth_year,
                       card_colour=claim.card_colour, method=claim.method,
                       method_label=claim.method_label, outcome=claim.outcome,
                       outcome_label=claim.outcome_label, lines=claim.lines)


def _door_audit(
    *, controller: User, venue: Venue, person: Person, result: CheckInResult, method: str,
    at: datetime, ip_address: str | None,
) -> AuditEvent:
    """The audit row of a door scan or manual entry: who recorded whose
    visit, where, when it happened and when the server got it. The person
    sees it on "who viewed my data" (the door screen showed them)."""
    checkin = result.checkin
    return audit_event(
        actor=controller, action=AuditAction.CHECKIN_BY_STAFF,
        purpose=str(_("Khai báo hộ tại %(venue)s") % {"venue": venue.name}),
        subject_person=person, target=f"venue:{venue.code}", unit=venue.commune,
        ip_address=ip_address,
        detail={"at_venue": venue.name, "method": str(method), "outcome": str(result.outcome),
                "duplicate": result.duplicate, "checkin": str(checkin.pk),
                "scanned_at": at.isoformat() if not timezone.is_naive(at) else str(at)},
    )


def checkin_staff_scan(
    *,
    controller: User,
    venue: Venue,
    payload: str,
    scanned_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> StaffScanResult:
    """A controller at ``venue`` scanned someone's personal QR, chip ID card
    or national QR (camera, or a handheld scanner typing into the page).

    Someone first seen through a card is created as a person without an
    account, once: later scans find them by document number (or QID), and
    only when the card's name and birth date agree with that record
    (``identity_mismatch`` otherwise, counted and audited). The venue must
    be approved for its staff to record other people (``venues.readiness``)
    and the scan no older than ``_door_floor`` allows. Every scan is audited
    under the scanned person. Returns what the door screen shows.
    """
    staff_since = _require_staff(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    return _staff_scan(controller=controller, venue=venue, payload=payload,
                       scanned_at=scanned_at, checkin_id=checkin_id, staff_since=staff_since,
                       request=request)


def _staff_scan(
    *, controller: User, venue: Venue, payload: str, scanned_at: datetime | None,
    checkin_id: uuid.UUID | None, staff_since: datetime, request: HttpRequest | None,
) -> StaffScanResult:
    """``checkin_staff_scan`` once access and rate limits are checked."""
    at = scanned_at or timezone.now()
    ip_address = client_ip(request)
    if classify_payload(payload) == PayloadKind.PERSONAL_QR:
        # Reading a personal QR writes nothing, so the record's own
        # transaction is the only one needed (no savepoint round trips).
        person, method = personal_qr_verify(payload), str(CheckInMethod.PERSONAL_QR)
        result = _record_retrying(
            venue=venue, person_id=person.pk, arrived_at=at, method=method,
            recorded_by=controller, checkin_id=checkin_id, received_at=None,
            floor=_floor_for(venue, staff_since),
            then=lambda done: _door_audit(
                controller=controller, venue=venue, person=person, result=done, method=method,
                at=at, ip_address=ip_address).save(),
        )
        return StaffScanResult(result=result, display=_display(result, person))
    # A card may create its person: that and the visit commit together or not at all.
    try:
        with transaction.atomic():
            person, method = _person_and_method(controller, payload)
            result = _record_retrying(
                venue=venue, person_id=person.pk, arrived_at=at, method=method,
                recorded_by=controller, checkin_id=checkin_id, received_at=None,
                floor=_floor_for(venue, staff_since),
            )
            _door_audit(controller=controller, venue=venue, person=person, result=result,
                        method=method, at=at, ip_address=ip_address).save()
    except IdentityMismatch as exc:
        raise _refuse_mismatch(controller=controller, venue=venue, exc=exc,
                               method=str(classify_payload(payload)), request=request) from None
    return StaffScanResult(result=result, display=_display(result, person))


def _phone_or_blank(raw: str) -> str:
    try:
        return normalize_phone(raw) if (raw or "").strip() else ""
    except PhoneError:
        return ""


def _is_verified(person: Person) -> bool:
    """A record someone has proved: it has an account, or a document number."""
    return bool(person.id_number) or User.objects.filter(person_id=person.pk).exists()


def _birth_date_needed() -> ServiceError:
    message = _("Nhập ngày sinh trên giấy tờ của người đến để đối chiếu với hồ sơ, hoặc chọn ghi "
                "nhận riêng (chưa xác minh).")
    return ServiceError(message, code="birth_date_required",
                        errors=[FieldError("birth_date", message, "required")])


def _person_for_manual(
    *, controller: User, venue: Venue, person_id: int, fields: _PersonFields,
    birth_date: date | None,
) -> Person:
    """A person picked from the lookup: only one the controller could have
    found there (same phone or document number, or a visitor of this venue
    within the retention period), so ids cannot be guessed into visits; and
    a record someone has proved (an account, a document number) only with
    its birth date, so that knowing a number is not enough."""
    person = Person.objects.filter(pk=person_id).first()
    if person is not None:
        matches = (fields.phone and person.phone == fields.phone) or (
            fields.id_number and person.id_number == fields.id_number
        )
        since = timezone.now() - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
        if matches or CheckIn.objects.filter(
            person=person, venue=venue, arrived_at__gte=since
        ).exists():
            if _is_verified(person):
                if birth_date is None:
                    raise _birth_date_needed()
                _confirm_identity(controller, person, full_name=None, birth_date=birth_date,
                                  field="birth_date")
            return person
    raise NotFound(_("Không tìm thấy người này."))


def _manual_person(
    *, controller: User, fields: _PersonFields, birth_date: date | None, separate: bool
) -> Person:
    """The record a typed-in visitor goes to. With a document number: the
    record with that number, if the name and birth date agree with it; or a
    new record with them. Without one, or when the controller records the
    visitor separately: ``_unverified_record`` or a new record without the
    number (it is not proved), never anyone's account or card record."""
    if fields.id_number and not separate:
        if birth_date is None:
            raise _birth_date_needed()
        record = Person.objects.filter(id_number=fields.id_number).first()
        if record is not None:
            _confirm_identity(controller, record, full_name=fields.full_name,
                              birth_date=birth_date, field="birth_date")
            return record
        return _create_person(
            full_name=fields.full_name, phone=fields.phone, id_number=fields.id_number,
            id_kind=fields.id_kind, birth_date=birth_date, street=fields.street,
        )
    existing = _unverified_record(full_name=fields.full_name, phone=fields.phone)
    if existing is not None:
        return existing
    return _create_person(full_name=fields.full_name, phone=fields.phone, street=fields.street)


def checkin_manual(
    *,
    controller: User,
    venue: Venue,
    full_name: str,
    phone: str = "",
    id_number: str = "",
    id_kind: str = "",
    street: str = "",
    birth_date: date | None = None,
    separate: bool = False,
    person_id: int | None = None,
    scanned_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> StaffScanResult:
    """A controller types in a visitor with nothing to scan: name and phone
    or document number, or a person picked from ``people_lookup``.

    ``id_kind`` is the document type the controller chose (CCCD, CMND,
    passport): the number is checked against it (guessed from the number
    when empty, for older offline clients). A phone or an address
    (``street``) is required, so that tracers can reach the visitor.
    A document number, or a pick of a record someone has proved, needs the
    birth date, which must agree with the record (``birth_date_required``,
    ``identity_mismatch``); ``separate`` records the visitor apart instead,
    in a record without the number. Name and phone alone never reach an
    account's history. Audited like a door scan."""
    staff_since = _require_staff(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    return _manual(controller=controller, venue=venue, full_name=full_name, phone=phone,
                   id_number=id_number, id_kind=id_kind, street=street,
                   birth_date=birth_date, separate=separate,
                   person_id=person_id, scanned_at=scanned_at, checkin_id=checkin_id,
                   staff_since=staff_since, request=request)


def _manual(
    *, controller: User, venue: Venue, full_name: str, phone: str, id_number: str,
    birth_date: date | None, separate: bool, person_id: int | None,
    id_kind: str = "", street: str = "",
    scanned_at: datetime | None, checkin_id: uuid.UUID | None, staff_since: datetime,
    request: HttpRequest | None,
) -> StaffScanResult:
    """``checkin_manual`` once access and rate limits are checked."""
    if person_id is not None:
        fields = _PersonFields(
            full_name=full_name, phone=_phone_or_blank(phone),
            id_number="".join((id_number or "").split()).upper(), id_kind="",
        )
    else:
        fields = _clean_person_fields(
            full_name=full_name, phone=phone, id_number=id_number, phone_required=False,
            id_kind=id_kind, street=street,
        )
    at = scanned_at or timezone.now()
    try:
        with transaction.atomic():
            if person_id is not None:
                person = _person_for_manual(controller=controller, venue=venue,
                                            person_id=person_id, fields=fields,
                                            birth_date=birth_date)
            else:
                person = _manual_person(controller=controller, fields=fields,
                                        birth_date=birth_date, separate=separate)
            result = _record_retrying(
                venue=venue, person_id=person.pk, arrived_at=at, method=CheckInMethod.MANUAL,
                recorded_by=controller, checkin_id=checkin_id, received_at=None,
                floor=_floor_for(venue, staff_since),
            )
            _door_audit(controller=controller, venue=venue, person=person, result=result,
                        method=CheckInMethod.MANUAL, at=at, ip_address=client_ip(request)).save()
    except IdentityMismatch as exc:
        raise _refuse_mismatch(controller=controller, venue=venue, exc=exc,
                               method=CheckInMethod.MANUAL, request=request) from None
    return StaffScanResult(result=result, display=_display(result, person))

