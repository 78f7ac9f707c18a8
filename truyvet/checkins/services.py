"""Writes for check-ins: citizen scans, guest forms, staff scans, manual
entries, offline batches, check-outs, adoption of guest visits, the purge.

How scans become visits (``checkin_record``), with W = CHECKIN_MERGE_MINUTES
and D = the venue's dwell time (``Venue.effective_dwell_minutes``):

1. **Same scan again.** A scan carries a client UUID (``checkin_id``). If that
   id was already recorded, nothing is written and the earlier answer comes
   back with ``duplicate=True``: a retried upload never doubles a visit.
2. **Repeat.** A scan of the same person at the same venue within W of a
   visit's arrival (before or after it) belongs to that visit ("merged").
   A late-synced earlier scan moves the arrival back; a scan after the
   visit's end (they came back) reopens it until scan time + D.
3. **Exit scan.** A controller's scan of a card (personal QR, CCCD or
   national QR) later than W after the arrival of a visit that is still
   open (no real departure, scan time before its estimated end) is the
   person leaving: the visit ends at the scan (``DepartureKind.EXIT_SCAN``).
4. **New visit** otherwise: it ends at arrival + D (``ESTIMATED``) until the
   citizen taps "leaving" (``checkin_checkout``) or an exit scan.

Every function validates first and writes in one transaction (a savepoint
inside a batch), so a rejected scan stores nothing: not even the person a
CCCD would have created.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.identity import IdentityError, guess_id_kind, validate_identity_number
from truyvet.accounts.models import IdKind, Person, User
from truyvet.accounts.personal_qr import card_colour_for, personal_qr_verify
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.checkins.models import (
    CheckIn,
    CheckInMethod,
    DepartureKind,
    PersonalQrKey,
    ScanIdentity,
    ScanIdentityKind,
    ScanOutcome,
    ScanReceipt,
)
from truyvet.checkins.parsers import (
    PayloadKind,
    classify_payload,
    parse_cccd_qr,
    parse_national_qr,
)
from truyvet.core import permissions, ratelimit
from truyvet.core.errors import (
    ErrorCollector,
    FieldError,
    NotAllowed,
    NotFound,
    ServiceError,
    Throttled,
)
from truyvet.core.masking import mask_name
from truyvet.core.requests import client_ip
from truyvet.core.text import fold
from truyvet.venues.models import Venue, VenueStatus

INVALID_INPUT = _("Thông tin chưa hợp lệ, vui lòng kiểm tra lại.")
# Methods by which a controller scans a card at the door: a second such scan
# of someone already inside is them leaving.
EXIT_SCAN_METHODS = frozenset(
    {CheckInMethod.PERSONAL_QR, CheckInMethod.CCCD_QR, CheckInMethod.NATIONAL_QR}
)
STAFF_METHODS = EXIT_SCAN_METHODS | {CheckInMethod.MANUAL}
# A "leaving" tap this long after arrival is no longer believable as the
# end of that visit.
MAX_CHECKOUT_AFTER = timedelta(hours=24)
GUEST_CHECKOUT_SALT = "truyvet.checkins.guest-checkout"
BATCH_MAX_ITEMS = 500


@dataclass(frozen=True)
class CheckInResult:
    """What a scan did. ``outcome`` is that of the first time the scan was
    seen; ``duplicate`` says this call was a retry that wrote nothing."""

    checkin: CheckIn
    outcome: ScanOutcome
    duplicate: bool = False


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


@dataclass(frozen=True)
class StaffScanResult:
    result: CheckInResult
    display: ScanDisplay


# --- Validation helpers -----------------------------------------------------------


def _venue_ready(venue: Venue) -> None:
    if venue.status == VenueStatus.ACTIVE:
        return
    messages: dict[str, str | Promise] = {
        VenueStatus.PENDING: _("Địa điểm này đang chờ cán bộ duyệt, chưa nhận khai báo ra vào."),
        VenueStatus.SUSPENDED: _("Địa điểm này đang tạm dừng hoạt động, không nhận khai báo "
                                 "ra vào."),
        VenueStatus.CLOSED: _("Địa điểm này đã đóng cửa, không nhận khai báo ra vào."),
    }
    raise ServiceError(
        messages.get(venue.status, messages[VenueStatus.CLOSED]), code="venue_inactive",
        status=409,
    )


def _check_time(at: datetime, *, now: datetime) -> None:
    if timezone.is_naive(at):
        raise ServiceError(
            _("Thời điểm quét phải kèm múi giờ (ví dụ 2021-10-01T08:30:00+07:00)."),
            code="time_without_zone",
            errors=[FieldError("scanned_at", _("Thiếu múi giờ."), "time_without_zone")],
        )
    if at < now - timedelta(days=settings.CHECKIN_RETENTION_DAYS):
        raise ServiceError(
            _("Lượt quét đã cũ hơn %(days)s ngày (thời hạn lưu dữ liệu) nên không được ghi "
              "nhận.") % {"days": settings.CHECKIN_RETENTION_DAYS},
            code="checkin_too_old",
        )
    if at > now + timedelta(seconds=settings.CHECKIN_MAX_CLOCK_SKEW_SECONDS):
        raise ServiceError(
            _("Thời điểm quét ở tương lai: hãy kiểm tra đồng hồ của thiết bị."),
            code="checkin_in_future",
        )


def _throttle(key: str, limit: int) -> None:
    """Counts one request against ``limit`` per minute; 0 means no limit."""
    if limit <= 0:
        return
    allowed, reset_in = ratelimit.hit(f"checkins:{key}", limit=limit, window_seconds=60)
    if not allowed:
        raise Throttled(
            _("Bạn thao tác quá nhanh. Vui lòng thử lại sau %(seconds)s giây.")
            % {"seconds": reset_in},
            retry_after=reset_in,
        )


def checkin_throttle(*, scope: str, request: HttpRequest | None, user: Any = None) -> None:
    """Rate limits shared by the pages and the API: per caller address, and
    per account (controllers get a higher limit than citizens). ``scope``
    names the action so that, say, guest forms do not eat into scans."""
    if request is not None:
        _throttle(f"{scope}:ip:{client_ip(request) or 'unknown'}",
                  settings.CHECKIN_RATELIMIT_IP_PER_MINUTE)
    if getattr(user, "is_authenticated", False):
        limit = (
            settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE
            if scope in {"staff", "batch", "lookup"}
            else settings.CHECKIN_RATELIMIT_USER_PER_MINUTE
        )
        _throttle(f"{scope}:user:{user.pk}", limit)


# --- Recording a scan -------------------------------------------------------------


def _lock_person(person: Person) -> None:
    """Serialises scans of one person (PostgreSQL row lock; SQLite already
    runs one writer at a time), so two phones scanning the same card at
    once make one visit, not two."""
    if connection.features.has_select_for_update:
        list(
            Person.objects.select_for_update().filter(pk=person.pk).values_list("pk", flat=True)
        )


def _earlier_answer(
    checkin_id: uuid.UUID, *, venue: Venue, person: Person
) -> CheckInResult | None:
    existing = CheckIn.objects.filter(pk=checkin_id).first()
    outcome = ScanOutcome.CREATED
    if existing is None:
        receipt = ScanReceipt.objects.select_related("checkin").filter(pk=checkin_id).first()
        if receipt is None:
            return None
        existing, outcome = receipt.checkin, ScanOutcome(receipt.outcome)
    if existing.venue_id != venue.pk or existing.person_id != person.pk:
        raise ServiceError(
            _("Mã lượt quét này đã được dùng cho một lượt quét khác."),
            code="checkin_id_conflict", status=409,
        )
    return CheckInResult(checkin=existing, outcome=outcome, duplicate=True)


def _apply(
    *, venue: Venue, person: Person, at: datetime, method: str, recorded_by: Any,
    checkin_id: uuid.UUID | None, received_at: datetime,
) -> CheckInResult:
    window = timedelta(minutes=settings.CHECKIN_MERGE_MINUTES)
    dwell = timedelta(minutes=venue.effective_dwell_minutes)
    recent = list(
        CheckIn.objects.filter(
            person=person, venue=venue,
            arrived_at__gte=at - max(window, dwell), arrived_at__lte=at + window,
        ).order_by("-arrived_at")[:10]
    )
    # Rule 2, repeat: the visit whose arrival is nearest, if within W.
    near = [v for v in recent if abs(v.arrived_at - at) <= window]
    if near:
        visit = min(near, key=lambda v: abs(v.arrived_at - at))
        changed: list[str] = []
        if at < visit.arrived_at:
            visit.arrived_at = at
            changed.append("arrived_at")
        if at > visit.ends_at:
            visit.ends_at = at + dwell
            visit.departure_kind = DepartureKind.ESTIMATED
            changed += ["ends_at", "departure_kind"]
        if changed:
            visit.save(update_fields=changed)
        return _receipt(visit, ScanOutcome.MERGED, checkin_id, received_at)
    # Rule 3, exit scan: a controller scans someone who is still inside.
    if method in EXIT_SCAN_METHODS:
        inside = [
            v for v in recent
            if v.departure_kind == DepartureKind.ESTIMATED and v.arrived_at + window < at
            and at <= v.ends_at
        ]
        if inside:
            visit = max(inside, key=lambda v: v.arrived_at)
            visit.ends_at = at
            visit.departure_kind = DepartureKind.EXIT_SCAN
            visit.save(update_fields=["ends_at", "departure_kind"])
            return _receipt(visit, ScanOutcome.CHECKED_OUT, checkin_id, received_at)
    # Rule 4, a new visit.
    visit = CheckIn.objects.create(
        id=checkin_id or uuid.uuid4(), venue=venue, person=person, arrived_at=at,
        received_at=received_at, ends_at=at + dwell, departure_kind=DepartureKind.ESTIMATED,
        method=method, recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
    )
    return CheckInResult(checkin=visit, outcome=ScanOutcome.CREATED)


def _receipt(
    visit: CheckIn, outcome: ScanOutcome, checkin_id: uuid.UUID | None, received_at: datetime
) -> CheckInResult:
    if checkin_id is not None:
        ScanReceipt.objects.create(
            id=checkin_id, checkin=visit, outcome=outcome, received_at=received_at
        )
    return CheckInResult(checkin=visit, outcome=outcome)


def checkin_record(
    *,
    venue: Venue,
    person: Person,
    arrived_at: datetime,
    method: str,
    recorded_by: Any = None,
    checkin_id: uuid.UUID | None = None,
    received_at: datetime | None = None,
) -> CheckInResult:
    """Records one scan of ``person`` at ``venue`` at ``arrived_at`` (the
    scan's own time; ``received_at``, default now, is when the server got
    it), following the rules in this module's docstring.

    Callers resolve and verify the venue QR and the personal QR first; this
    refuses a venue that is not active, a scan older than the retention
    period or further in the future than CHECKIN_MAX_CLOCK_SKEW_SECONDS, and
    a ``checkin_id`` already used for another person or venue.
    """
    if method not in CheckInMethod.values:
        raise ServiceError(_("Cách ghi nhận không hợp lệ."), code="invalid_method")
    now = received_at or timezone.now()
    if checkin_id is not None and not isinstance(checkin_id, uuid.UUID):
        checkin_id = uuid.UUID(str(checkin_id))
    for attempt in range(2):
        try:
            with transaction.atomic():
                _lock_person(person)
                if checkin_id is not None:
                    earlier = _earlier_answer(checkin_id, venue=venue, person=person)
                    if earlier is not None:
                        return earlier
                _venue_ready(venue)
                _check_time(arrived_at, now=now)
                return _apply(
                    venue=venue, person=person, at=arrived_at, method=method,
                    recorded_by=recorded_by, checkin_id=checkin_id, received_at=now,
                )
        except IntegrityError:
            # The same client id arrived twice at once and the other request
            # won the insert: the second pass finds and returns its row.
            if checkin_id is None or attempt:
                raise
    raise AssertionError("unreachable")


# --- Citizens ----------------------------------------------------------------------


def venue_from_scanned_payload(payload: str) -> Venue:
    """A scanned venue QR, verified (forged, unknown and revoked codes are
    refused by venues.qr with their own codes)."""
    from truyvet.venues.qr import venue_qr_resolve

    return venue_qr_resolve(payload)


def checkin_citizen_scan(
    *,
    user: User,
    venue_payload: str,
    scanned_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> CheckInResult:
    """A logged-in citizen scanned a venue's poster (the web page or an app
    posting the payload)."""
    checkin_throttle(scope="scan", request=request, user=user)
    venue = venue_from_scanned_payload(venue_payload)
    return checkin_record(
        venue=venue, person=user.person, arrived_at=scanned_at or timezone.now(),
        method=CheckInMethod.CITIZEN_SCAN, recorded_by=user, checkin_id=checkin_id,
    )


@dataclass
class _PersonFields:
    full_name: str
    phone: str
    id_number: str
    id_kind: str


def _clean_person_fields(
    *, full_name: str, phone: str, id_number: str, phone_required: bool,
) -> _PersonFields:
    errors = ErrorCollector()
    name = " ".join((full_name or "").split())
    if not name:
        errors.add("full_name", _("Vui lòng nhập họ và tên."), "required")
    elif len(name) > 120:
        errors.add("full_name", _("Họ và tên dài quá 120 ký tự."), "too_long")
    normalized_phone = ""
    if (phone or "").strip():
        try:
            normalized_phone = normalize_phone(phone)
        except PhoneError as exc:
            errors.add("phone", exc.message)
    elif phone_required:
        errors.add("phone", _("Vui lòng nhập số điện thoại."), "required")
    number = "".join((id_number or "").split()).upper()
    kind = ""
    if number:
        kind = guess_id_kind(number)
        try:
            number = validate_identity_number(kind, number)
        except IdentityError as exc:
            errors.add("id_number", exc.message)
    if not phone_required and not (phone or "").strip() and not number:
        errors.add("phone", _("Cần số điện thoại hoặc số giấy tờ để liên hệ khi truy vết."),
                   "required")
    errors.raise_if_any(INVALID_INPUT)
    return _PersonFields(full_name=name, phone=normalized_phone, id_number=number, id_kind=kind)


def _find_or_create_person(fields: _PersonFields) -> Person:
    """The person these details stand for: by document number; else by
    phone and name (ignoring case and diacritics, so family members who
    share one phone stay apart), preferring one with an account; else a new
    record without a login.

    A document number already on record with a different phone is not
    trusted (anyone can type a number) and is left out: the visit goes by
    phone and name instead. The answer is the same either way, so the form
    cannot be used to find out which numbers are on record.
    """
    if fields.id_number:
        person = Person.objects.filter(id_number=fields.id_number).first()
        if person is not None and not (
            fields.phone and person.phone and person.phone != fields.phone
        ):
            return person
        if person is not None:
            fields = _PersonFields(
                full_name=fields.full_name, phone=fields.phone, id_number="", id_kind=""
            )
    if fields.phone:
        candidates = list(
            Person.objects.filter(phone=fields.phone, name_folded=fold(fields.full_name))
            .select_related("user").order_by("pk")[:10]
        )
        if candidates:
            # The account holder, if one of them has an account.
            return min(candidates, key=lambda p: (not hasattr(p, "user"), p.pk))
    return _create_person(
        full_name=fields.full_name, phone=fields.phone, id_number=fields.id_number,
        id_kind=fields.id_kind,
    )


def _create_person(**values: Any) -> Person:
    """A record without a login, through the accounts service so that it is
    validated like any other. A concurrent scan of the same document may
    create it first; then that record is used."""
    from truyvet.accounts.services import PersonInput, person_create

    try:
        return person_create(data=PersonInput(**values))
    except ServiceError as exc:
        number = values.get("id_number")
        duplicate = any(error.code == "duplicate" for error in exc.errors)
        if number and duplicate:
            found = Person.objects.filter(id_number=number).first()
            if found is not None:
                return found
        raise


def checkin_guest(
    *,
    venue: Venue,
    full_name: str,
    phone: str,
    id_number: str = "",
    arrived_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> CheckInResult:
    """A visitor without an account checks in with name and phone (ID
    optional), no OTP: it must take under 20 seconds at a door. The visit
    goes to the person with that ID number, or that phone and name, or a new
    record; registering later with the same phone and name adopts it
    (``checkins_adopt_guest``)."""
    checkin_throttle(scope="guest", request=request)
    fields = _clean_person_fields(
        full_name=full_name, phone=phone, id_number=id_number, phone_required=True
    )
    with transaction.atomic():
        person = _find_or_create_person(fields)
        return checkin_record(
            venue=venue, person=person, arrived_at=arrived_at or timezone.now(),
            method=CheckInMethod.GUEST_FORM, checkin_id=checkin_id,
        )


def guest_checkout_token(checkin: CheckIn) -> str:
    """Lets the browser (or app) that made a guest check-in also end it,
    without an account."""
    return signing.dumps(str(checkin.pk), salt=GUEST_CHECKOUT_SALT, compress=True)


def guest_token_matches(token: str, checkin: CheckIn) -> bool:
    try:
        value = signing.loads(
            token, salt=GUEST_CHECKOUT_SALT,
            max_age=timedelta(days=settings.CHECKIN_RETENTION_DAYS),
        )
    except signing.BadSignature:
        return False
    return value == str(checkin.pk)


def checkin_checkout(
    *, actor: Any, checkin: CheckIn, guest_token: str = "", at: datetime | None = None
) -> CheckIn:
    """The citizen taps "leaving": the visit ends now (``DepartureKind.CITIZEN``).

    Allowed for the person the visit belongs to, or with the guest token
    returned by the guest check-in. Tapping again changes nothing. Refused
    more than 24 hours after arrival, when an end tapped now would not be
    the real one.
    """
    allowed = permissions.can_checkout_checkin(actor, checkin) or (
        bool(guest_token) and guest_token_matches(guest_token, checkin)
    )
    if not allowed:
        raise NotFound(_("Không tìm thấy lượt đến này."))
    now = at or timezone.now()
    with transaction.atomic():
        visit = CheckIn.objects.select_for_update().get(pk=checkin.pk)
        if visit.departure_kind != DepartureKind.ESTIMATED:
            return visit
        if now - visit.arrived_at > MAX_CHECKOUT_AFTER:
            raise ServiceError(
                _("Lượt đến này đã quá 24 giờ nên không thể ghi nhận rời đi."),
                code="checkout_too_late",
            )
        visit.ends_at = max(now, visit.arrived_at)
        visit.departure_kind = DepartureKind.CITIZEN
        visit.save(update_fields=["ends_at", "departure_kind"])
    return visit


# --- Controllers --------------------------------------------------------------------


def _require_staff(controller: Any, venue: Venue) -> None:
    if not permissions.can_scan_at_venue(controller, venue):
        raise NotAllowed(
            _("Bạn không phải người kiểm soát của địa điểm này."), code="not_venue_staff"
        )


def _display(result: CheckInResult, person: Person) -> ScanDisplay:
    method = CheckInMethod(result.checkin.method)
    outcome = ScanOutcome(result.outcome)
    return ScanDisplay(
        name=mask_name(person.full_name),
        birth_year=person.birth_year,
        card_colour=card_colour_for(person),
        method=method.value,
        method_label=str(method.label),
        outcome=outcome.value,
        outcome_label=str(outcome.label),
    )


def _person_from_cccd(payload: str) -> Person:
    card = parse_cccd_qr(payload)
    numbers = [card.cccd] + ([card.cmnd] if card.cmnd else [])
    found = Person.objects.filter(id_number__in=numbers).order_by("pk")
    # Prefer the CCCD number over an old CMND registered earlier.
    by_number = {p.id_number: p for p in found}
    person = by_number.get(card.cccd) or by_number.get(card.cmnd)
    if person is not None:
        return person
    # Least data: the name, birth date, sex and document number are kept;
    # the address printed on the card is not.
    return _create_person(
        full_name=card.full_name, birth_date=card.birth_date, sex=card.sex,
        id_kind=IdKind.CCCD, id_number=card.cccd,
    )


def _person_from_national_qr(payload: str) -> Person:
    """By the ID number when the QR shows it in full; else by the QID seen
    on an earlier scan; else a new record. A masked ID cannot deduplicate,
    so the QID is stored (``ScanIdentity``) to find the person next time."""
    card = parse_national_qr(payload)
    person = None
    if not card.id_masked and card.id_number:
        person = Person.objects.filter(id_number=card.id_number).first()
    if person is None:
        identity = (
            ScanIdentity.objects.select_related("person")
            .filter(kind=ScanIdentityKind.NATIONAL_QID, value=card.qid).first()
        )
        person = identity.person if identity is not None else None
    if person is None:
        phone = ""
        if card.ext.phone and "*" not in card.ext.phone:
            try:
                phone = normalize_phone(card.ext.phone)
            except PhoneError:
                phone = ""
        person = _create_person(
            full_name=card.full_name.title(), birth_date=card.birth_date,
            birth_year=card.birth_year, sex=card.ext.sex,
            id_kind=card.id_kind if not card.id_masked else "",
            id_number="" if card.id_masked else card.id_number,
            phone=phone,
        )
    ScanIdentity.objects.get_or_create(
        kind=ScanIdentityKind.NATIONAL_QID, value=card.qid, defaults={"person": person}
    )
    return person


def _person_and_method(payload: str) -> tuple[Person, str]:
    kind = classify_payload(payload)
    if kind == PayloadKind.PERSONAL_QR:
        return personal_qr_verify(payload), CheckInMethod.PERSONAL_QR
    if kind == PayloadKind.CCCD:
        return _person_from_cccd(payload), CheckInMethod.CCCD_QR
    if kind == PayloadKind.NATIONAL_QR:
        return _person_from_national_qr(payload), CheckInMethod.NATIONAL_QR
    if kind == PayloadKind.VENUE:
        raise ServiceError(
            _("Đây là mã QR của địa điểm, không phải mã của người đến. Hãy quét mã QR cá "
              "nhân, CCCD gắn chip hoặc mã QR PC-Covid/VNEID."),
            code="payload_is_venue",
        )
    raise ServiceError(
        _("Không đọc được mã này. Chấp nhận mã QR cá nhân truyvet, mã QR trên CCCD gắn chip "
          "và mã QR cá nhân PC-Covid/VNEID."),
        code="payload_unknown",
    )


def checkin_staff_scan(
    *,
    controller: Any,
    venue: Venue,
    payload: str,
    scanned_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> StaffScanResult:
    """A controller at ``venue`` scanned someone's personal QR, chip ID card
    or national QR (camera, or a handheld scanner typing into the page).

    Someone first seen through a card is created as a person without an
    account, once: later scans find them by document number (or QID).
    Returns what the door screen shows.
    """
    _require_staff(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    with transaction.atomic():
        person, method = _person_and_method(payload)
        result = checkin_record(
            venue=venue, person=person, arrived_at=scanned_at or timezone.now(),
            method=method, recorded_by=controller, checkin_id=checkin_id,
        )
    return StaffScanResult(result=result, display=_display(result, person))


def _phone_or_blank(raw: str) -> str:
    try:
        return normalize_phone(raw) if (raw or "").strip() else ""
    except PhoneError:
        return ""


def _person_for_manual(
    *, venue: Venue, person_id: int, fields: _PersonFields
) -> Person:
    """A person picked from the lookup: only one the controller could have
    found there (same phone or document number, or a visitor of this venue
    within the retention period), so ids cannot be guessed into visits."""
    person = Person.objects.filter(pk=person_id).first()
    if person is not None:
        matches = (fields.phone and person.phone == fields.phone) or (
            fields.id_number and person.id_number == fields.id_number
        )
        since = timezone.now() - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
        if matches or CheckIn.objects.filter(
            person=person, venue=venue, arrived_at__gte=since
        ).exists():
            return person
    raise NotFound(_("Không tìm thấy người này."))


def checkin_manual(
    *,
    controller: Any,
    venue: Venue,
    full_name: str,
    phone: str = "",
    id_number: str = "",
    person_id: int | None = None,
    scanned_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> StaffScanResult:
    """A controller types in a visitor with nothing to scan: name and phone
    or document number, or a person picked from ``people_lookup``."""
    _require_staff(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    if person_id is not None:
        fields = _PersonFields(
            full_name=full_name, phone=_phone_or_blank(phone),
            id_number="".join((id_number or "").split()).upper(), id_kind="",
        )
    else:
        fields = _clean_person_fields(
            full_name=full_name, phone=phone, id_number=id_number, phone_required=False
        )
    with transaction.atomic():
        if person_id is not None:
            person = _person_for_manual(venue=venue, person_id=person_id, fields=fields)
        else:
            person = _find_or_create_person(fields)
        result = checkin_record(
            venue=venue, person=person, arrived_at=scanned_at or timezone.now(),
            method=CheckInMethod.MANUAL, recorded_by=controller, checkin_id=checkin_id,
        )
    return StaffScanResult(result=result, display=_display(result, person))


# --- Offline batches ---------------------------------------------------------------


class BatchKind:
    STAFF_SCAN = "staff_scan"
    MANUAL = "manual"
    CITIZEN_SCAN = "citizen_scan"
    ALL = frozenset({STAFF_SCAN, MANUAL, CITIZEN_SCAN})


@dataclass(frozen=True)
class BatchItem:
    """One queued scan. ``venue`` is, for staff_scan and manual, the venue's
    code or its QR; for citizen_scan, the scanned venue QR (a plain code is
    not accepted from citizens: anyone could type one)."""

    id: uuid.UUID
    kind: str
    venue: str
    scanned_at: datetime
    payload: str = ""
    full_name: str = ""
    phone: str = ""
    id_number: str = ""
    person_id: int | None = None


@dataclass(frozen=True)
class ItemResult:
    id: uuid.UUID
    ok: bool
    outcome: str = ""
    duplicate: bool = False
    checkin_id: uuid.UUID | None = None
    display: ScanDisplay | None = None
    code: str = ""
    message: str | Promise = ""
    errors: list[FieldError] = field(default_factory=list)


def venue_for_staff(*, controller: Any, text: str) -> Venue:
    """The venue a controller names: its QR (verified, so a forged or
    revoked poster is refused) or its plain code. Whether the controller
    may scan there is checked by the scan itself."""
    from truyvet.venues.qr import venue_qr_resolve

    cleaned = (text or "").strip()
    if "." in cleaned or "/" in cleaned:
        return venue_qr_resolve(cleaned)
    venue = (
        Venue.objects.select_related("commune").filter(code=cleaned.upper()).first()
        if cleaned else None
    )
    if venue is None:
        raise NotFound(_("Không có địa điểm với mã này."), code="venue_unknown")
    return venue


def _batch_apply(actor: Any, item: BatchItem, venues: dict[str, Venue]) -> ItemResult:
    if item.kind == BatchKind.CITIZEN_SCAN:
        venue = venue_from_scanned_payload(item.venue)
        result = checkin_record(
            venue=venue, person=actor.person, arrived_at=item.scanned_at,
            method=CheckInMethod.CITIZEN_SCAN, recorded_by=actor, checkin_id=item.id,
        )
        return ItemResult(
            id=item.id, ok=True, outcome=result.outcome, duplicate=result.duplicate,
            checkin_id=result.checkin.pk,
        )
    # A queue holds many scans at the same door: resolve each venue once.
    if item.venue not in venues:
        venues[item.venue] = venue_for_staff(controller=actor, text=item.venue)
    venue = venues[item.venue]
    if item.kind == BatchKind.STAFF_SCAN:
        staff = checkin_staff_scan(
            controller=actor, venue=venue, payload=item.payload, scanned_at=item.scanned_at,
            checkin_id=item.id,
        )
    else:
        staff = checkin_manual(
            controller=actor, venue=venue, full_name=item.full_name, phone=item.phone,
            id_number=item.id_number, person_id=item.person_id, scanned_at=item.scanned_at,
            checkin_id=item.id,
        )
    return ItemResult(
        id=item.id, ok=True, outcome=staff.result.outcome, duplicate=staff.result.duplicate,
        checkin_id=staff.result.checkin.pk, display=staff.display,
    )


def checkins_batch(
    *, actor: Any, items: Sequence[BatchItem], request: HttpRequest | None = None
) -> list[ItemResult]:
    """Applies an offline queue, item by item, each in its own transaction:
    a bad item is reported with its own reason code and message and does
    not stop the others. Items already seen (by their client UUID) come back
    as before with ``duplicate=True`` and write nothing, so posting the same
    batch again is safe."""
    if not getattr(actor, "is_authenticated", False):
        raise ServiceError(_("Bạn cần đăng nhập."), code="unauthenticated", status=401)
    if len(items) > BATCH_MAX_ITEMS:
        raise ServiceError(
            _("Mỗi lần gửi tối đa %(count)s lượt quét.") % {"count": BATCH_MAX_ITEMS},
            code="batch_too_large",
        )
    checkin_throttle(scope="batch", request=request, user=actor)
    results: list[ItemResult] = []
    venues: dict[str, Venue] = {}
    for item in items:
        if item.kind not in BatchKind.ALL:
            results.append(ItemResult(
                id=item.id, ok=False, code="invalid_kind",
                message=_("Loại lượt quét không hợp lệ."),
            ))
            continue
        try:
            results.append(_batch_apply(actor, item, venues))
        except ServiceError as exc:
            results.append(ItemResult(
                id=item.id, ok=False, code=exc.code, message=exc.message, errors=exc.errors,
            ))
    return results


# --- Accounts: adopting guest visits --------------------------------------------------


def checkins_adopt_guest(*, user: User) -> int:
    """Moves the visits of guest records (no account) with the new account's
    phone and name to the account's person; returns how many moved. Called
    when an account is registered: the OTP proved the phone.

    Only the same name (ignoring case and diacritics) is adopted, so a
    child checked in with a parent's phone stays a separate person. The
    guest record itself stays (other data may point at it), empty of
    visits; a printed personal QR card moves with it when the account has
    none yet.
    """
    person = user.person
    phone = person.phone or user.phone
    guests = list(
        Person.objects.filter(phone=phone, name_folded=fold(person.full_name), user__isnull=True)
        .exclude(pk=person.pk).values_list("pk", flat=True)
    )
    if not guests:
        return 0
    with transaction.atomic():
        moved = CheckIn.objects.filter(person_id__in=guests).update(person=person)
        ScanIdentity.objects.filter(person_id__in=guests).update(person=person)
        if not PersonalQrKey.objects.filter(person=person).exists():
            key = PersonalQrKey.objects.filter(person_id__in=guests).order_by("pk").first()
            if key is not None:
                PersonalQrKey.objects.filter(pk=key.pk).update(person=person)
    return moved


# --- Personal QR cards ------------------------------------------------------------------


def personal_qr_card_pdf(
    *, actor: Any, person: Person, purpose: str = "", request: HttpRequest | None = None
) -> bytes:
    """The printable 5 × 5 cm card of ``person``. People print their own;
    officials print for people living in their scope (no smartphone), with
    a purpose, and each such print is audited."""
    from django.utils.translation import gettext

    from truyvet.accounts.personal_qr import personal_qr_token
    from truyvet.checkins.cards import personal_card_pdf
    from truyvet.core.models import AuditAction
    from truyvet.core.services import audit_record

    if not permissions.can_print_personal_qr_card(actor, person):
        raise NotFound(_("Không tìm thấy người này."))
    own = getattr(actor, "person_id", None) == person.pk
    cleaned = " ".join((purpose or "").split())[:300]
    if not own and len(cleaned) < 3:
        raise ServiceError(
            _("Hãy ghi rõ mục đích in thẻ."), code="validation_error",
            errors=[FieldError("purpose", _("Hãy ghi rõ mục đích in thẻ."), "required")],
        )
    with transaction.atomic():
        token = personal_qr_token(person)
        if not own:
            audit_record(
                actor=actor, action=AuditAction.EXPORT, purpose=cleaned, request=request,
                subject_person=person, target=f"person:{person.pk}", unit=person.commune,
                detail={"kind": "personal_qr_card"},
            )
    return personal_card_pdf(
        token=token, full_name=person.full_name, title=gettext("truyvet · Mã QR cá nhân"),
        note=gettext("Cắt theo đường viền: thẻ 5 × 5 cm. Đưa mã này cho người kiểm soát quét "
                     "khi ra vào địa điểm."),
    )
