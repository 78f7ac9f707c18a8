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

Rules 2 to 4 are one pure function (``_decide``) over the person's recent
visits at the venue, read in one query with the earlier answer of rule 1
(``_rows_for_scan``). An offline batch (``checkins_batch``) applies the same
function item after item in memory to whole runs of its queue, with a fixed
number of queries per run (``_batch_record``), so it records exactly what
the same scans sent one by one would (a test compares the two).

Every function validates first and writes in one transaction, so a rejected
scan stores nothing: not even the person a CCCD would have created. In a
batch each item is checked before anything of it is kept, and a run is
written together.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.identity import IdentityError, guess_id_kind, validate_identity_number
from truyvet.accounts.models import IdKind, Person, User, Viewer
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.accounts.services import PersonInput, person_create
from truyvet.checkins import hooks, permissions
from truyvet.checkins.cards import personal_card_pdf
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
from truyvet.checkins.personal_qr import (
    ParsedToken,
    card_colour_for,
    personal_qr_check_signature,
    personal_qr_token,
    personal_qr_verify,
)
from truyvet.core import ratelimit
from truyvet.core.errors import (
    ErrorCollector,
    FieldError,
    NotAllowed,
    NotFound,
    ServiceError,
    Throttled,
)
from truyvet.core.masking import mask_name
from truyvet.core.models import AuditAction
from truyvet.core.requests import client_ip
from truyvet.core.services import audit_record
from truyvet.core.text import fold
from truyvet.venues import permissions as venue_permissions
from truyvet.venues.models import Venue, VenueStatus
from truyvet.venues.qr import venue_qr_resolve

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


def checkin_throttle(
    *, scope: str, request: HttpRequest | None, user: Viewer | None = None
) -> None:
    """Rate limits shared by the pages and the API: per caller address, and
    per account (controllers get a higher limit than citizens). ``scope``
    names the action so that, say, guest forms do not eat into scans."""
    # A controller's camera sends a frame to /decode every ~400 ms, so decoding
    # counts as staff work (it needs a login) with the staff budget.
    staff_work = scope in {"staff", "batch", "lookup", "decode"}
    if request is not None:
        ip_limit = settings.CHECKIN_RATELIMIT_IP_PER_MINUTE
        if staff_work and ip_limit:
            ip_limit = max(ip_limit, settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE)
        _throttle(f"{scope}:ip:{client_ip(request) or 'unknown'}", ip_limit)
    if user is not None and user.is_authenticated:
        limit = (
            settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE
            if staff_work
            else settings.CHECKIN_RATELIMIT_USER_PER_MINUTE
        )
        _throttle(f"{scope}:user:{user.pk}", limit)


# --- Recording a scan -------------------------------------------------------------


def _lock_people(person_ids: Sequence[int]) -> None:
    """Serialises scans of the same people (PostgreSQL row locks, taken in
    id order so that two batches cannot deadlock; SQLite already runs one
    writer at a time), so two phones scanning the same card at once make
    one visit, not two."""
    if connection.features.has_select_for_update and person_ids:
        list(
            Person.objects.select_for_update().filter(pk__in=sorted(set(person_ids)))
            .order_by("pk").values_list("pk", flat=True)
        )


def _in_window(visit: CheckIn, *, at: datetime, window: timedelta, dwell: timedelta) -> bool:
    """Whether ``visit`` is one of the rows the merge and exit rules look at
    for a scan at ``at``."""
    return at - max(window, dwell) <= visit.arrived_at <= at + window


@dataclass
class _Decision:
    """What the rules make of a scan: a new visit (``visit`` None), or
    ``visit`` merged into or checked out, changed in memory in ``changed``."""

    outcome: ScanOutcome
    visit: CheckIn | None = None
    changed: list[str] = field(default_factory=list)


def _decide(
    recent: Sequence[CheckIn], *, at: datetime, method: str, window: timedelta,
    dwell: timedelta,
) -> _Decision:
    """Rules 2 to 4 of the module docstring over ``recent``, the person's
    visits at the venue arriving between ``at - max(W, D)`` and ``at + W``.
    Changes the chosen visit in memory only; the caller writes it."""
    # Latest first, so that of two visits equally near the later one wins.
    recent = sorted(recent, key=lambda v: v.arrived_at, reverse=True)
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
        return _Decision(ScanOutcome.MERGED, visit, changed)
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
            return _Decision(ScanOutcome.CHECKED_OUT, visit, ["ends_at", "departure_kind"])
    # Rule 4, a new visit.
    return _Decision(ScanOutcome.CREATED)


def _conflict() -> ServiceError:
    return ServiceError(
        _("Mã lượt quét này đã được dùng cho một lượt quét khác."),
        code="checkin_id_conflict", status=409,
    )


def _rows_for_scan(
    *, venue: Venue, person_id: int, at: datetime, checkin_id: uuid.UUID | None,
    window: timedelta, dwell: timedelta,
) -> tuple[CheckInResult | None, list[CheckIn]]:
    """One query for everything a scan needs to know: an earlier answer to
    the same ``checkin_id`` (the visit it created, or the one its receipt
    points at) and the person's recent visits at the venue."""
    rows: list[Any]
    if checkin_id is None and timezone.is_naive(at):
        return None, []  # refused by _check_time
    if checkin_id is None:
        rows = list(CheckIn.objects.filter(
            person_id=person_id, venue_id=venue.pk,
            arrived_at__gte=at - max(window, dwell), arrived_at__lte=at + window,
        ))
    else:
        receipt = ScanReceipt.objects.filter(pk=checkin_id)
        # "= (scalar subquery)", not "IN (subquery)": PostgreSQL can then
        # OR the three index lookups together; with IN it scanned the table.
        wanted = Q(pk=checkin_id) | Q(pk=Subquery(receipt.values("checkin_id")[:1]))
        if not timezone.is_naive(at):  # a naive time is refused below, after the retry check
            wanted |= Q(
                person_id=person_id, venue_id=venue.pk,
                arrived_at__gte=at - max(window, dwell), arrived_at__lte=at + window,
            )
        rows = list(CheckIn.objects.filter(wanted).annotate(
            receipt_outcome=Subquery(receipt.filter(checkin_id=OuterRef("pk")).values("outcome"))
        ))
        for row in rows:
            outcome = (
                ScanOutcome.CREATED if row.pk == checkin_id
                else ScanOutcome(row.receipt_outcome) if row.receipt_outcome else None
            )
            if outcome is None:
                continue
            if row.venue_id != venue.pk or row.person_id != person_id:
                raise _conflict()
            return CheckInResult(checkin=row, outcome=outcome, duplicate=True), []
        if timezone.is_naive(at):
            return None, []
    recent = [
        row for row in rows
        if row.person_id == person_id and row.venue_id == venue.pk
        and _in_window(row, at=at, window=window, dwell=dwell)
    ]
    return None, recent


def checkins_after_bulk_load(*, since: datetime, until: datetime) -> None:
    """Called by ``truyvet synth`` after it bulk-loads check-ins for
    [since, until): derived data is rebuilt from the table for that period."""
    hooks.checkins_reloaded(since=since, until=until)


def _record(
    *, venue: Venue, person_id: int, at: datetime, method: str, recorded_by: User | None,
    checkin_id: uuid.UUID | None, received_at: datetime,
) -> CheckInResult:
    window = timedelta(minutes=settings.CHECKIN_MERGE_MINUTES)
    dwell = timedelta(minutes=venue.effective_dwell_minutes)
    _lock_people([person_id])
    earlier, recent = _rows_for_scan(
        venue=venue, person_id=person_id, at=at, checkin_id=checkin_id, window=window,
        dwell=dwell,
    )
    if earlier is not None:
        return earlier
    _venue_ready(venue)
    _check_time(at, now=received_at)
    arrivals = {visit.pk: visit.arrived_at for visit in recent}
    decision = _decide(recent, at=at, method=method, window=window, dwell=dwell)
    if decision.visit is None:
        visit = CheckIn.objects.create(
            id=checkin_id or uuid.uuid4(), venue=venue, person_id=person_id, arrived_at=at,
            received_at=received_at, ends_at=at + dwell, departure_kind=DepartureKind.ESTIMATED,
            method=method, recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
        )
        hooks.checkins_added(rows=[(venue.pk, person_id, at)])
        return CheckInResult(checkin=visit, outcome=ScanOutcome.CREATED)
    if decision.changed:
        decision.visit.save(update_fields=decision.changed)
        if "arrived_at" in decision.changed:  # a late-synced earlier scan moved it back
            hooks.checkins_changed(rows=[(venue.pk, person_id, arrivals[decision.visit.pk]),
                                         (venue.pk, person_id, decision.visit.arrived_at)])
    if checkin_id is not None:
        ScanReceipt.objects.create(
            id=checkin_id, checkin=decision.visit, outcome=decision.outcome,
            received_at=received_at,
        )
    return CheckInResult(checkin=decision.visit, outcome=decision.outcome)


def _record_retrying(
    *, venue: Venue, person_id: int, arrived_at: datetime, method: str, recorded_by: User | None,
    checkin_id: uuid.UUID | None, received_at: datetime | None,
) -> CheckInResult:
    if method not in CheckInMethod.values:
        raise ServiceError(_("Cách ghi nhận không hợp lệ."), code="invalid_method")
    now = received_at or timezone.now()
    if checkin_id is not None and not isinstance(checkin_id, uuid.UUID):
        checkin_id = uuid.UUID(str(checkin_id))
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _record(
                    venue=venue, person_id=person_id, at=arrived_at, method=method,
                    recorded_by=recorded_by, checkin_id=checkin_id, received_at=now,
                )
        except IntegrityError:
            # The same client id arrived twice at once and the other request
            # won the insert: the second pass finds and returns its row.
            if checkin_id is None or attempt:
                raise
    raise AssertionError("unreachable")


def checkin_record(
    *,
    venue: Venue,
    person: Person,
    arrived_at: datetime,
    method: str,
    recorded_by: User | None = None,
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
    return _record_retrying(
        venue=venue, person_id=person.pk, arrived_at=arrived_at, method=method,
        recorded_by=recorded_by, checkin_id=checkin_id, received_at=received_at,
    )


# --- Citizens ----------------------------------------------------------------------


def venue_from_scanned_payload(payload: str) -> Venue:
    """A scanned venue QR, verified (forged, unknown and revoked codes are
    refused by venues.qr with their own codes)."""
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
    # By id: the visit needs the person's key, not their record (one query less).
    return _record_retrying(
        venue=venue, person_id=user.person_id, arrived_at=scanned_at or timezone.now(),
        method=CheckInMethod.CITIZEN_SCAN, recorded_by=user, checkin_id=checkin_id,
        received_at=None,
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
    *, actor: Viewer, checkin: CheckIn, guest_token: str = "", at: datetime | None = None
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


def _require_staff(controller: User, venue: Venue) -> None:
    if not venue_permissions.can_scan_at_venue(controller, venue):
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
    account, once: later scans find them by document number (or QID).
    Returns what the door screen shows.
    """
    _require_staff(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    return _staff_scan(controller=controller, venue=venue, payload=payload,
                       scanned_at=scanned_at, checkin_id=checkin_id)


def _staff_scan(
    *, controller: User, venue: Venue, payload: str, scanned_at: datetime | None,
    checkin_id: uuid.UUID | None,
) -> StaffScanResult:
    """``checkin_staff_scan`` once access and rate limits are checked."""
    if classify_payload(payload) == PayloadKind.PERSONAL_QR:
        # Reading a personal QR writes nothing, so the record's own
        # transaction is the only one needed (no savepoint round trips).
        person, method = personal_qr_verify(payload), str(CheckInMethod.PERSONAL_QR)
        result = checkin_record(
            venue=venue, person=person, arrived_at=scanned_at or timezone.now(),
            method=method, recorded_by=controller, checkin_id=checkin_id,
        )
        return StaffScanResult(result=result, display=_display(result, person))
    # A card may create its person: that and the visit commit together or not at all.
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
    controller: User,
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
    return _manual(controller=controller, venue=venue, full_name=full_name, phone=phone,
                   id_number=id_number, person_id=person_id, scanned_at=scanned_at,
                   checkin_id=checkin_id)


def _manual(
    *, controller: User, venue: Venue, full_name: str, phone: str, id_number: str,
    person_id: int | None, scanned_at: datetime | None, checkin_id: uuid.UUID | None,
) -> StaffScanResult:
    """``checkin_manual`` once access and rate limits are checked."""
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


def venue_for_staff(*, controller: User, text: str) -> Venue:
    """The venue a controller names: its QR (verified, so a forged or
    revoked poster is refused) or its plain code. Whether the controller
    may scan there is checked by the scan itself."""
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


def _rejected(item: BatchItem, exc: ServiceError) -> ItemResult:
    return ItemResult(id=item.id, ok=False, code=exc.code, message=exc.message, errors=exc.errors)


def _accepted(item: BatchItem, result: CheckInResult, person: Person | None) -> ItemResult:
    return ItemResult(
        id=item.id, ok=True, outcome=result.outcome, duplicate=result.duplicate,
        checkin_id=result.checkin.pk,
        display=_display(result, person) if person is not None else None,
    )


class _BatchLookups:
    """What a batch's items refer to, each resolved once per batch: a queue
    holds many scans at the same door. Errors are remembered too, and
    raised again for every item that names the same thing."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self._venues: dict[tuple[bool, str], Venue | ServiceError] = {}
        self._staff: dict[int, ServiceError | None] = {}
        self._signatures: dict[str, ParsedToken | ServiceError] = {}
        self._keys: dict[str, PersonalQrKey] = {}
        self._cccd: dict[str, Any] = {}
        self._people_by_number: dict[str, Person] = {}

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, resolve: Any) -> Any:
        if key not in cache:
            try:
                cache[key] = resolve()
            except ServiceError as exc:
                cache[key] = exc
        found = cache[key]
        if isinstance(found, ServiceError):
            raise found
        return found

    def venue(self, item: BatchItem) -> Venue:
        """The item's venue, with the same checks and errors as one scan:
        the scanned QR for a citizen; the QR or code, and being staff
        there, for a controller."""
        if item.kind == BatchKind.CITIZEN_SCAN:
            return cast(Venue, self._remember(
                self._venues, (True, item.venue), lambda: venue_from_scanned_payload(item.venue)
            ))
        venue = cast(Venue, self._remember(
            self._venues, (False, item.venue),
            lambda: venue_for_staff(controller=self.actor, text=item.venue),
        ))
        if venue.pk not in self._staff:
            try:
                _require_staff(self.actor, venue)
                self._staff[venue.pk] = None
            except ServiceError as exc:
                self._staff[venue.pk] = exc
        refused = self._staff[venue.pk]
        if refused is not None:
            raise refused
        return venue

    def preload(self, items: Sequence[BatchItem]) -> None:
        """Checks every personal QR signature and reads every QR key and
        every CCCD holder of the batch in two queries."""
        refs: set[str] = set()
        numbers: set[str] = set()
        for item in items:
            if item.kind != BatchKind.STAFF_SCAN:
                continue
            kind = classify_payload(item.payload)
            if kind == PayloadKind.PERSONAL_QR and item.payload not in self._signatures:
                try:
                    parsed = personal_qr_check_signature(item.payload)
                except ServiceError as exc:
                    self._signatures[item.payload] = exc
                else:
                    self._signatures[item.payload] = parsed
                    refs.add(parsed.ref)
            elif kind == PayloadKind.CCCD and item.payload not in self._cccd:
                try:
                    card = parse_cccd_qr(item.payload)
                except ServiceError as exc:
                    self._cccd[item.payload] = exc
                else:
                    self._cccd[item.payload] = card
                    numbers.update(n for n in (card.cccd, card.cmnd) if n)
        if refs:
            self._keys = {
                key.ref: key
                for key in PersonalQrKey.objects.select_related("person").filter(ref__in=refs)
            }
        if numbers:
            self._people_by_number = {
                p.id_number: p for p in Person.objects.filter(id_number__in=numbers).order_by("pk")
                if p.id_number
            }

    def person(self, item: BatchItem) -> tuple[Person, str] | None:
        """The person a staff scan names and the method, when that takes no
        write; None when the scan must go the one-by-one way (a card seen
        for the first time creates its person; national QRs record their
        QID; unreadable payloads get their error there)."""
        kind = classify_payload(item.payload)
        if kind == PayloadKind.PERSONAL_QR:
            parsed = self._signatures.get(item.payload)
            if isinstance(parsed, ServiceError):
                raise parsed
            if parsed is None:  # not preloaded
                parsed = personal_qr_check_signature(item.payload)
            key = self._keys.get(parsed.ref)
            if key is None or key.revoked_at is not None or key.version != parsed.version:
                # Unknown, rotated or revoked: the verifier says which, in its words.
                return personal_qr_verify(item.payload), CheckInMethod.PERSONAL_QR
            return key.person, CheckInMethod.PERSONAL_QR
        if kind == PayloadKind.CCCD:
            card = self._cccd.get(item.payload)
            if isinstance(card, ServiceError):
                raise card
            if card is not None:
                person = self._people_by_number.get(card.cccd) or (
                    self._people_by_number.get(card.cmnd) if card.cmnd else None
                )
                if person is not None:
                    return person, CheckInMethod.CCCD_QR
        return None


@dataclass(frozen=True)
class _Ready:
    """An item that passed every check that needs no knowledge of visits."""

    index: int
    item: BatchItem
    venue: Venue
    person_id: int
    person: Person | None  # for the door screen; None for a citizen's own scans
    method: str


def _batch_one(actor: User, item: BatchItem, lookups: _BatchLookups) -> ItemResult:
    """One item the one-by-one way, in its own transaction."""
    try:
        venue = lookups.venue(item)
        if item.kind == BatchKind.CITIZEN_SCAN:
            result = _record_retrying(
                venue=venue, person_id=actor.person_id, arrived_at=item.scanned_at,
                method=CheckInMethod.CITIZEN_SCAN, recorded_by=actor, checkin_id=item.id,
                received_at=None,
            )
            return _accepted(item, result, None)
        if item.kind == BatchKind.STAFF_SCAN:
            staff = _staff_scan(controller=actor, venue=venue, payload=item.payload,
                                scanned_at=item.scanned_at, checkin_id=item.id)
        else:
            staff = _manual(
                controller=actor, venue=venue, full_name=item.full_name, phone=item.phone,
                id_number=item.id_number, person_id=item.person_id, scanned_at=item.scanned_at,
                checkin_id=item.id,
            )
    except ServiceError as exc:
        return _rejected(item, exc)
    return ItemResult(
        id=item.id, ok=True, outcome=staff.result.outcome, duplicate=staff.result.duplicate,
        checkin_id=staff.result.checkin.pk, display=staff.display,
    )


def _batch_prepare(
    actor: User, index: int, item: BatchItem, lookups: _BatchLookups
) -> _Ready | ItemResult | None:
    """The checks of one item that do not depend on visits, in the order a
    single scan makes them: a ``_Ready`` item, a rejection, or None for an
    item to record the one-by-one way."""
    if item.kind not in BatchKind.ALL:
        return ItemResult(id=item.id, ok=False, code="invalid_kind",
                          message=_("Loại lượt quét không hợp lệ."))
    if item.kind == BatchKind.MANUAL:
        return None
    try:
        venue = lookups.venue(item)
        if item.kind == BatchKind.CITIZEN_SCAN:
            return _Ready(index, item, venue, actor.person_id, None, CheckInMethod.CITIZEN_SCAN)
        found = lookups.person(item)
    except ServiceError as exc:
        return _rejected(item, exc)
    if found is None:
        return None
    return _Ready(index, item, venue, found[0].pk, found[0], found[1])


def _batch_record(actor: User, ready: Sequence[_Ready]) -> list[ItemResult]:
    """Records a run of ready items with a fixed number of queries, by the
    same rules as ``checkin_record`` applied item after item: the earlier
    answers to their ids, then the people's visits at the venues around
    the items' times, are read once; the rules run in memory; new visits,
    changed visits and receipts are written in three statements. Must run
    in a transaction."""
    now = timezone.now()
    window = timedelta(minutes=settings.CHECKIN_MERGE_MINUTES)
    venues = {r.venue.pk: r.venue for r in ready}
    person_ids = {r.person_id for r in ready}
    _lock_people(list(person_ids))
    ids = [r.item.id for r in ready]
    answers: dict[uuid.UUID, tuple[CheckIn, ScanOutcome]] = {
        visit.pk: (visit, ScanOutcome.CREATED) for visit in CheckIn.objects.filter(pk__in=ids)
    }
    for receipt in ScanReceipt.objects.select_related("checkin").filter(pk__in=ids):
        answers.setdefault(receipt.pk, (receipt.checkin, ScanOutcome(receipt.outcome)))
    times = [r.item.scanned_at for r in ready if not timezone.is_naive(r.item.scanned_at)]
    visits: dict[tuple[int, int], list[CheckIn]] = defaultdict(list)
    if times:
        span = max([window] + [timedelta(minutes=v.effective_dwell_minutes)
                               for v in venues.values()])
        for visit in CheckIn.objects.filter(
            person_id__in=person_ids, venue_id__in=list(venues),
            arrived_at__gte=min(times) - span, arrived_at__lte=max(times) + window,
        ):
            visits[(visit.person_id, visit.venue_id)].append(visit)
    arrivals = {visit.pk: visit.arrived_at for pair in visits.values() for visit in pair}
    created: list[CheckIn] = []
    fresh: set[uuid.UUID] = set()
    changed: dict[uuid.UUID, CheckIn] = {}
    receipts: list[ScanReceipt] = []
    results: list[ItemResult] = []
    for r in ready:
        item, at = r.item, r.item.scanned_at
        try:
            earlier = answers.get(item.id)
            if earlier is not None:
                visit, outcome = earlier
                if visit.venue_id != r.venue.pk or visit.person_id != r.person_id:
                    raise _conflict()
                results.append(_accepted(item, CheckInResult(visit, outcome, True), r.person))
                continue
            _venue_ready(r.venue)
            _check_time(at, now=now)
        except ServiceError as exc:
            results.append(_rejected(item, exc))
            continue
        dwell = timedelta(minutes=r.venue.effective_dwell_minutes)
        pair = visits[(r.person_id, r.venue.pk)]
        recent = [v for v in pair if _in_window(v, at=at, window=window, dwell=dwell)]
        decision = _decide(recent, at=at, method=r.method, window=window, dwell=dwell)
        if decision.visit is None:
            visit = CheckIn(
                id=item.id, venue=r.venue, person_id=r.person_id, arrived_at=at,
                received_at=now, ends_at=at + dwell, departure_kind=DepartureKind.ESTIMATED,
                method=r.method, recorded_by=actor,
            )
            created.append(visit)
            fresh.add(visit.pk)
            pair.append(visit)
        else:
            visit = decision.visit
            if decision.changed and visit.pk not in fresh:  # new rows go in as they end up
                changed[visit.pk] = visit
            receipts.append(ScanReceipt(id=item.id, checkin=visit, outcome=decision.outcome,
                                        received_at=now))
        answers[item.id] = (visit, decision.outcome)
        results.append(_accepted(item, CheckInResult(visit, decision.outcome), r.person))
    CheckIn.objects.bulk_create(created)
    hooks.checkins_added(rows=[(c.venue_id, c.person_id, c.arrived_at) for c in created])
    _visits_update(list(changed.values()))
    # Late-synced earlier scans moved these arrivals back.
    moved = [v for v in changed.values() if v.arrived_at != arrivals[v.pk]]
    if moved:
        hooks.checkins_changed(rows=[
            row for v in moved
            for row in ((v.venue_id, v.person_id, arrivals[v.pk]),
                        (v.venue_id, v.person_id, v.arrived_at))
        ])
    ScanReceipt.objects.bulk_create(receipts)
    return results


def _visits_update(visits: Sequence[CheckIn]) -> None:
    """Writes the arrival, end and departure kind of ``visits`` in one
    prepared statement run once per row (``bulk_update``'s CASE expression
    costs more to build than hundreds of rows cost to write)."""
    if not visits:
        return
    meta = CheckIn._meta
    columns = [cast("models.Field[Any, Any]", meta.get_field(name))
               for name in ("arrived_at", "ends_at", "departure_kind")]
    pk = cast("models.Field[Any, Any]", meta.pk)
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from the model
        quote(meta.db_table), ", ".join(f"{quote(str(f.column))} = %s" for f in columns),
        quote(str(pk.column)),
    )
    rows = [
        [f.get_db_prep_save(getattr(visit, f.attname), connection) for f in columns]
        + [pk.get_db_prep_save(visit.pk, connection)]
        for visit in visits
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _batch_flush(actor: User, ready: list[_Ready], results: list[ItemResult | None],
                 lookups: _BatchLookups) -> None:
    if not ready:
        return
    try:
        with transaction.atomic():
            recorded = _batch_record(actor, ready)
    except IntegrityError:
        # A concurrent upload of some of the same ids won the race: the
        # one-by-one way finds their rows and answers as for any retry.
        recorded = [_batch_one(actor, r.item, lookups) for r in ready]
    for r, result in zip(ready, recorded, strict=True):
        results[r.index] = result
    ready.clear()


def checkins_batch(
    *, actor: Viewer, items: Sequence[BatchItem], request: HttpRequest | None = None
) -> list[ItemResult]:
    """Applies an offline queue in order, as if each item were sent on its
    own: a bad item is reported with its own reason code and message,
    writes nothing and does not stop the others. Items already seen (by
    their client UUID) come back as before with ``duplicate=True`` and
    write nothing, so posting the same batch again is safe. The batch
    counts once against the rate limit.

    Citizens' scans and controllers' scans of personal QRs and of known
    chip ID cards (what an offline door queue is made of) are recorded in
    runs with a fixed number of queries per run (``_batch_record``); manual
    entries, national QRs and cards seen for the first time are recorded
    one by one between runs, so later items see what they wrote."""
    if not isinstance(actor, User):
        raise ServiceError(_("Bạn cần đăng nhập."), code="unauthenticated", status=401)
    if len(items) > BATCH_MAX_ITEMS:
        raise ServiceError(
            _("Mỗi lần gửi tối đa %(count)s lượt quét.") % {"count": BATCH_MAX_ITEMS},
            code="batch_too_large",
        )
    checkin_throttle(scope="batch", request=request, user=actor)
    lookups = _BatchLookups(actor)
    lookups.preload(items)
    results: list[ItemResult | None] = [None] * len(items)
    run: list[_Ready] = []
    for index, item in enumerate(items):
        prepared = _batch_prepare(actor, index, item, lookups)
        if isinstance(prepared, _Ready):
            run.append(prepared)
        elif isinstance(prepared, ItemResult):
            results[index] = prepared
        else:
            _batch_flush(actor, run, results, lookups)
            results[index] = _batch_one(actor, item, lookups)
    _batch_flush(actor, run, results, lookups)
    return [result for result in results if result is not None]


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
        touched = list(
            CheckIn.objects.filter(person_id__in=guests)
            .values_list("venue_id", "person_id", "arrived_at")
        )
        moved = CheckIn.objects.filter(person_id__in=guests).update(person=person)
        if touched:
            # Distinct-people figures change when two records become one.
            hooks.checkins_changed(rows=touched + [(v, person.pk, at) for v, _p, at in touched])
        ScanIdentity.objects.filter(person_id__in=guests).update(person=person)
        if not PersonalQrKey.objects.filter(person=person).exists():
            key = PersonalQrKey.objects.filter(person_id__in=guests).order_by("pk").first()
            if key is not None:
                PersonalQrKey.objects.filter(pk=key.pk).update(person=person)
    return moved


# --- Personal QR cards ------------------------------------------------------------------


def personal_qr_card_pdf(
    *, actor: User, person: Person, purpose: str = "", request: HttpRequest | None = None
) -> bytes:
    """The printable 5 × 5 cm card of ``person``. People print their own;
    officials print for people living in their scope (no smartphone), with
    a purpose, and each such print is audited."""
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
