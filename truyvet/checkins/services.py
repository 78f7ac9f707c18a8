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

Who a door scan or manual entry checks in (issue 12): a card's QR and what
is typed at a door are plain text, so a record found by its document number
(or picked from the lookup) is used only when the name and birth date given
agree with it (``_confirm_identity``); name and phone alone reach only
unverified records, whose visits an account's holder adopts or not
(``checkins_adopt_guest``). The venue must let its staff record other
people (``venues.readiness``), a scan's device time is bounded
(``_door_floor``), and every door scan is audited under the person.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.fields import full_name_clean, id_number_clean, phone_clean
from truyvet.accounts.identity import (
    identity_disagreement,
)
from truyvet.accounts.models import IdKind, Person, User, Viewer
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.accounts.services import PersonInput, person_create
from truyvet.checkins import hooks, permissions
from truyvet.checkins.cards import personal_card_pdf
from truyvet.checkins.models import (
    CheckIn,
    CheckInMethod,
    DepartureKind,
    GuestVisitsDeclined,
    PersonalQrKey,
    ScanIdentity,
    ScanIdentityKind,
    ScanOutcome,
    ScanReceipt,
)
from truyvet.checkins.parsers import (
    CccdCard,
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
from truyvet.checkins.selectors import guest_visits_offered, not_your_venue
from truyvet.core import ratelimit
from truyvet.core.errors import (
    ErrorCollector,
    FieldError,
    NotFound,
    ServiceError,
    Throttled,
)
from truyvet.core.masking import mask_name
from truyvet.core.models import AuditAction, AuditEvent, OutboxChannel
from truyvet.core.outbox import Message, outbox_enqueue
from truyvet.core.requests import client_ip
from truyvet.core.services import audit_event, audit_record, audit_record_all
from truyvet.core.text import fold
from truyvet.venues import permissions as venue_permissions
from truyvet.venues.models import Venue
from truyvet.venues.qr import venue_qr_resolve
from truyvet.venues.readiness import venue_require_ready

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
# An ID card's QR, or a document number and birth date told at the door, that
# does not match the record with that number is refused. So that a controller
# cannot find a birth date by trying them one by one (the card is plain text
# anyone can type), every such refusal is counted and audited, and after this
# many in an hour checks against that record, or by that controller, stop
# until the hour is over, correct ones included.
MISMATCHES_PER_RECORD_PER_HOUR = 5
MISMATCHES_PER_STAFF_PER_HOUR = 20


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


def _check_time(at: datetime, *, now: datetime, earliest: datetime | None = None) -> None:
    """Refuses a scan time without a zone, older than the retention period,
    before ``earliest`` (a door scan, see ``_door_floor``) or in the future."""
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
    if earliest is not None and at < earliest:
        raise ServiceError(
            _("Lượt quét ghi thời điểm trước %(earliest)s nên không được ghi nhận: người kiểm "
              "soát chỉ khai báo hộ được từ khi được thêm vào địa điểm và địa điểm được duyệt; "
              "địa điểm mới và người kiểm soát mới gửi lượt quét ngoại tuyến trong vòng "
              "%(hours)s giờ.")
            % {"earliest": formats.date_format(timezone.localtime(earliest),
                                               "SHORT_DATETIME_FORMAT"),
               "hours": settings.CHECKIN_OFFLINE_WINDOW_HOURS},
            code="checkin_backdated",
        )
    if at > now + timedelta(seconds=settings.CHECKIN_MAX_CLOCK_SKEW_SECONDS):
        raise ServiceError(
            _("Thời điểm quét ở tương lai: hãy kiểm tra đồng hồ của thiết bị."),
            code="checkin_in_future",
        )


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
    checkin_id: uuid.UUID | None, received_at: datetime, staff_since: datetime | None = None,
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
    by_staff = method in STAFF_METHODS
    venue_require_ready(venue, by_staff=by_staff, now=received_at)
    _check_time(at, now=received_at, earliest=(
        _door_floor(venue=venue, staff_since=staff_since, now=received_at)
        if by_staff and staff_since is not None else None
    ))
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
    staff_since: datetime | None = None, then: Callable[[CheckInResult], Any] | None = None,
) -> CheckInResult:
    """``_record`` in a transaction, once more if a concurrent request with
    the same id won the insert. ``then(result)`` runs in the same
    transaction (a door scan's audit row)."""
    if method not in CheckInMethod.values:
        raise ServiceError(_("Cách ghi nhận không hợp lệ."), code="invalid_method")
    now = received_at or timezone.now()
    if checkin_id is not None and not isinstance(checkin_id, uuid.UUID):
        checkin_id = uuid.UUID(str(checkin_id))
    for attempt in range(2):
        try:
            with transaction.atomic():
                result = _record(
                    venue=venue, person_id=person_id, at=arrived_at, method=method,
                    recorded_by=recorded_by, checkin_id=checkin_id, received_at=now,
                    staff_since=staff_since,
                )
                if then is not None:
                    then(result)
                return result
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
    refuses a venue that takes no check-ins (``venues.readiness``: not
    active, or, for a method by which staff record someone else, not yet
    approved for that), a scan older than the retention period or further
    in the future than CHECKIN_MAX_CLOCK_SKEW_SECONDS, and a ``checkin_id``
    already used for another person or venue. The door services add the
    bounds of ``_door_floor``.
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
    name = full_name_clean(full_name, errors)
    normalized_phone = phone_clean(phone, errors, required=phone_required)
    number, kind = id_number_clean(id_number, errors)
    if not phone_required and not (phone or "").strip() and not number:
        errors.add("phone", _("Cần số điện thoại hoặc số giấy tờ để liên hệ khi truy vết."),
                   "required")
    errors.raise_if_any(INVALID_INPUT)
    return _PersonFields(full_name=name, phone=normalized_phone, id_number=number, id_kind=kind)


def _unverified_record(*, full_name: str, phone: str) -> Person | None:
    """The record a visit told only by name and phone goes to: the oldest
    one with that phone and name (ignoring case and diacritics, so family
    members who share a phone stay apart) that nobody has verified, that is
    without an account and without a document number. Anyone can type a
    name and a phone, so such a visit never joins the history of an account
    or of a record an ID card made: the account's holder adopts it if it is
    theirs (``checkins_adopt_guest``)."""
    if not phone:
        return None
    return (
        Person.objects.filter(phone=phone, name_folded=fold(full_name), user__isnull=True,
                              id_number__isnull=True)
        .order_by("pk").first()
    )


def _guest_person(fields: _PersonFields) -> Person:
    """The record a guest check-in goes to: the record with the typed
    document number if it is the same unverified visitor (same phone and
    name, no account); else ``_unverified_record``; else a new record
    without a login, with the document number if nobody has it yet.

    A number already on another record is left out (anyone can type a
    number) and the answer is the same either way, so the form cannot be
    used to find out which numbers are on record."""
    if fields.id_number:
        person = Person.objects.filter(id_number=fields.id_number).select_related("user").first()
        if person is None:
            existing = _unverified_record(full_name=fields.full_name, phone=fields.phone)
            if existing is not None:
                return existing
            return _create_person(
                full_name=fields.full_name, phone=fields.phone, id_number=fields.id_number,
                id_kind=fields.id_kind,
            )
        if (not hasattr(person, "user") and person.phone == fields.phone
                and person.name_folded == fold(fields.full_name)):
            return person
    existing = _unverified_record(full_name=fields.full_name, phone=fields.phone)
    if existing is not None:
        return existing
    return _create_person(full_name=fields.full_name, phone=fields.phone)


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
    optional), no OTP: it must take under 20 seconds at a door. Nothing
    typed here is proved, so the visit goes to an unverified record
    (``_guest_person``), never to an account's history. When an account has
    that phone and name, its holder is told in the app and may adopt the
    visit as theirs, or say it is not (``checkins_adopt_guest``)."""
    checkin_throttle(scope="guest", request=request)
    fields = _clean_person_fields(
        full_name=full_name, phone=phone, id_number=id_number, phone_required=True
    )
    with transaction.atomic():
        person = _guest_person(fields)
        result = checkin_record(
            venue=venue, person=person, arrived_at=arrived_at or timezone.now(),
            method=CheckInMethod.GUEST_FORM, checkin_id=checkin_id,
        )
        if not result.duplicate:
            _tell_account_holder(phone=fields.phone, full_name=fields.full_name)
        return result


def _tell_account_holder(*, phone: str, full_name: str) -> None:
    """An in-app notice to the account with this phone and name, if any,
    that a visit was recorded without logging in under their details: at
    most one a day, pointing at "Nơi đã đến" where they adopt it or not."""
    holder = (User.objects.select_related("person")
              .filter(phone=phone, person__name_folded=fold(full_name), is_active=True).first())
    if holder is not None:
        _offer_notice(holder, timezone.localdate().isoformat())


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


def _require_staff(controller: User, venue: Venue) -> datetime:
    """When ``controller`` joined ``venue``'s staff. Anyone else gets the
    same answer as for a venue code that does not exist, so codes cannot be
    tried to learn which venues exist."""
    since = venue_permissions.venue_staff_since(controller, venue)
    if since is None:
        raise not_your_venue()
    return since


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


class IdentityMismatch(ServiceError):
    """A card or the details told at the door name a record (by its document
    number, QID or a pick from the lookup) whose name or birth date they do
    not match. Raised inside the scan's transaction; the door services
    count and audit it once that is rolled back (``_refuse_mismatch``)."""

    def __init__(self, *, person: Person, reason: str, field: str) -> None:
        if reason == "unverifiable":
            message = _("Hồ sơ có số giấy tờ này chưa có ngày sinh nên không đối chiếu được. Hãy "
                        "quét mã QR cá nhân, hoặc nhập tay và chọn ghi nhận riêng (chưa xác minh).")
        else:
            message = _("Họ tên hoặc ngày sinh không khớp với hồ sơ của số giấy tờ này nên không "
                        "ghi nhận. Hãy kiểm tra lại giấy tờ, hoặc nhập tay và chọn ghi nhận riêng "
                        "(chưa xác minh).")
        code = "identity_unverifiable" if reason == "unverifiable" else "identity_mismatch"
        super().__init__(message, code=code, status=409,
                         errors=[FieldError(field, message, code)])
        self.person = person
        self.reason = reason


def _mismatch_keys(controller: User, person: Person) -> list[tuple[str, int]]:
    return [(f"checkins:mismatch:record:{person.pk}", MISMATCHES_PER_RECORD_PER_HOUR),
            (f"checkins:mismatch:staff:{getattr(controller, 'pk', 0)}",
             MISMATCHES_PER_STAFF_PER_HOUR)]


def _confirm_identity(
    controller: User, person: Person, *, full_name: str | None, birth_date: date | None = None,
    birth_year: int | None = None, require_birth: bool = True, field: str = "payload",
) -> None:
    """Raises ``IdentityMismatch`` unless the name and birth date given
    agree with ``person``'s record (``identity_disagreement``); refuses
    every check while too many have failed this hour for the record or the
    controller, so birth dates cannot be found by trying."""
    for key, limit in _mismatch_keys(controller, person):
        if ratelimit.peek(key, window_seconds=3600) >= limit:
            raise ServiceError(
                _("Đã có quá nhiều lần đối chiếu giấy tờ không khớp; việc đối chiếu tạm dừng "
                  "đến hết giờ này. Hãy quét mã QR cá nhân hoặc nhập tay và chọn ghi nhận riêng."),
                code="identity_checks_paused", status=409,
            )
    reason = identity_disagreement(person, full_name=full_name, birth_date=birth_date,
                                   birth_year=birth_year, require_birth=require_birth)
    if reason is not None:
        raise IdentityMismatch(person=person, reason=reason, field=field)


def _refuse_mismatch(
    *, controller: User, venue: Venue, exc: IdentityMismatch, method: str,
    request: HttpRequest | None,
) -> ServiceError:
    """Counts a refused identity check against the record and the controller
    and audits it under the record's person, who sees it on "who viewed my
    data". Runs after the scan's transaction rolled back, so both stay."""
    for key, limit in _mismatch_keys(controller, exc.person):
        ratelimit.hit(key, limit=limit, window_seconds=3600)
    audit_record(
        actor=controller, action=AuditAction.CHECKIN_REFUSED, request=request,
        purpose=str(_("Khai báo hộ tại %(venue)s bị từ chối: giấy tờ không khớp hồ sơ")
                    % {"venue": venue.name}),
        subject_person=exc.person, target=f"venue:{venue.code}", unit=venue.commune,
        detail={"method": method, "reason": exc.reason, "at_venue": venue.name},
    )
    return ServiceError(exc.message, code=exc.code, status=exc.status, errors=exc.errors)


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


def _card_holder(
    controller: User, card: CccdCard, by_number: dict[str, Person]
) -> Person | None:
    """The record a chip ID card's QR belongs to, among ``by_number`` (the
    records with its numbers), if its name and birth date agree; None when
    no record has its CCCD number, nor its old CMND number as a CMND.
    The old-number field never finds a record by a CCCD number: anyone can
    write someone's CCCD number there."""
    person = by_number.get(card.cccd)
    if person is None and card.cmnd:
        old = by_number.get(card.cmnd)
        if old is not None and old.id_kind == IdKind.CMND:
            person = old
    if person is not None:
        _confirm_identity(controller, person, full_name=card.full_name,
                          birth_date=card.birth_date)
    return person


def _person_from_cccd(controller: User, payload: str) -> Person:
    card = parse_cccd_qr(payload)
    numbers = [card.cccd] + ([card.cmnd] if card.cmnd else [])
    found = {p.id_number: p for p in Person.objects.filter(id_number__in=numbers) if p.id_number}
    person = _card_holder(controller, card, found)
    if person is not None:
        return person
    # Least data: the name, birth date, sex and document number are kept;
    # the address printed on the card is not.
    return _create_person(
        full_name=card.full_name, birth_date=card.birth_date, sex=card.sex,
        id_kind=IdKind.CCCD, id_number=card.cccd,
    )


def _person_from_national_qr(controller: User, payload: str) -> Person:
    """By the ID number when the QR shows it in full; else by the QID seen
    on an earlier scan; else a new record. A masked ID cannot deduplicate,
    so the QID is stored (``ScanIdentity``) to find the person next time.
    A record found by its number must agree with the QR's name and birth
    date (which the QR may not mask then); one found by its QID, with the
    name and as much of the birth date as both show."""
    card = parse_national_qr(payload)
    person = None
    if not card.id_masked and card.id_number:
        person = Person.objects.filter(id_number=card.id_number).first()
        if person is not None:
            _confirm_identity(controller, person, full_name=card.full_name,
                              birth_date=card.birth_date, birth_year=card.birth_year)
    if person is None:
        identity = (
            ScanIdentity.objects.select_related("person")
            .filter(kind=ScanIdentityKind.NATIONAL_QID, value=card.qid).first()
        )
        person = identity.person if identity is not None else None
        if person is not None:
            _confirm_identity(controller, person, full_name=card.full_name,
                              birth_date=card.birth_date, birth_year=card.birth_year,
                              require_birth=False)
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


def _person_and_method(controller: User, payload: str) -> tuple[Person, str]:
    kind = classify_payload(payload)
    if kind == PayloadKind.PERSONAL_QR:
        return personal_qr_verify(payload), CheckInMethod.PERSONAL_QR
    if kind == PayloadKind.CCCD:
        return _person_from_cccd(controller, payload), CheckInMethod.CCCD_QR
    if kind == PayloadKind.NATIONAL_QR:
        return _person_from_national_qr(controller, payload), CheckInMethod.NATIONAL_QR
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
            staff_since=staff_since,
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
                staff_since=staff_since,
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
            id_kind=fields.id_kind, birth_date=birth_date,
        )
    existing = _unverified_record(full_name=fields.full_name, phone=fields.phone)
    if existing is not None:
        return existing
    return _create_person(full_name=fields.full_name, phone=fields.phone)


def checkin_manual(
    *,
    controller: User,
    venue: Venue,
    full_name: str,
    phone: str = "",
    id_number: str = "",
    birth_date: date | None = None,
    separate: bool = False,
    person_id: int | None = None,
    scanned_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> StaffScanResult:
    """A controller types in a visitor with nothing to scan: name and phone
    or document number, or a person picked from ``people_lookup``.

    A document number, or a pick of a record someone has proved, needs the
    birth date, which must agree with the record (``birth_date_required``,
    ``identity_mismatch``); ``separate`` records the visitor apart instead,
    in a record without the number. Name and phone alone never reach an
    account's history. Audited like a door scan."""
    staff_since = _require_staff(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    return _manual(controller=controller, venue=venue, full_name=full_name, phone=phone,
                   id_number=id_number, birth_date=birth_date, separate=separate,
                   person_id=person_id, scanned_at=scanned_at, checkin_id=checkin_id,
                   staff_since=staff_since, request=request)


def _manual(
    *, controller: User, venue: Venue, full_name: str, phone: str, id_number: str,
    birth_date: date | None, separate: bool, person_id: int | None,
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
            full_name=full_name, phone=phone, id_number=id_number, phone_required=False
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
                staff_since=staff_since,
            )
            _door_audit(controller=controller, venue=venue, person=person, result=result,
                        method=CheckInMethod.MANUAL, at=at, ip_address=client_ip(request)).save()
    except IdentityMismatch as exc:
        raise _refuse_mismatch(controller=controller, venue=venue, exc=exc,
                               method=CheckInMethod.MANUAL, request=request) from None
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
    birth_date: date | None = None
    separate: bool = False
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
    may scan there is checked by the scan itself, which answers a venue
    they are not staff of exactly as this answers an unknown code."""
    cleaned = (text or "").strip()
    if "." in cleaned or "/" in cleaned:
        return venue_qr_resolve(cleaned)
    venue = (
        Venue.objects.select_related("commune").filter(code=cleaned.upper()).first()
        if cleaned else None
    )
    if venue is None:
        raise not_your_venue()
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

    def __init__(self, actor: User, request: HttpRequest | None = None) -> None:
        self.actor = actor
        self.request = request
        self.ip_address = client_ip(request)
        self._venues: dict[tuple[bool, str], Venue | ServiceError] = {}
        self._staff: dict[int, datetime | ServiceError] = {}
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
        self.staff_since(venue)
        return venue

    def staff_since(self, venue: Venue) -> datetime:
        """When the actor joined ``venue``'s staff (``_require_staff``)."""
        return cast(datetime, self._remember(
            self._staff, venue.pk, lambda: _require_staff(self.actor, venue)
        ))

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
                person = _card_holder(self.actor, card, self._people_by_number)
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
    staff_since: datetime | None = None  # when the actor joined the venue's staff


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
        staff_since = lookups.staff_since(venue)
        if item.kind == BatchKind.STAFF_SCAN:
            staff = _staff_scan(controller=actor, venue=venue, payload=item.payload,
                                scanned_at=item.scanned_at, checkin_id=item.id,
                                staff_since=staff_since, request=lookups.request)
        else:
            staff = _manual(
                controller=actor, venue=venue, full_name=item.full_name, phone=item.phone,
                id_number=item.id_number, birth_date=item.birth_date, separate=item.separate,
                person_id=item.person_id, scanned_at=item.scanned_at, checkin_id=item.id,
                staff_since=staff_since, request=lookups.request,
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
    except IdentityMismatch as exc:
        return _rejected(item, _refuse_mismatch(
            controller=actor, venue=venue, exc=exc, method=CheckInMethod.CCCD_QR,
            request=lookups.request))
    except ServiceError as exc:
        return _rejected(item, exc)
    if found is None:
        return None
    return _Ready(index, item, venue, found[0].pk, found[0], found[1],
                  staff_since=lookups.staff_since(venue))


def _batch_record(
    actor: User, ready: Sequence[_Ready], ip_address: str | None = None
) -> list[ItemResult]:
    """Records a run of ready items with a fixed number of queries, by the
    same rules as ``checkin_record`` applied item after item: the earlier
    answers to their ids, then the people's visits at the venues around
    the items' times, are read once; the rules run in memory; new visits,
    changed visits, receipts and the door scans' audit rows are written in
    four statements. Must run in a transaction."""
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
    audits: list[AuditEvent] = []
    results: list[ItemResult] = []

    def accepted(r: _Ready, result: CheckInResult) -> None:
        results.append(_accepted(r.item, result, r.person))
        if r.person is not None:  # a door scan: audited like one sent on its own
            audits.append(_door_audit(controller=actor, venue=r.venue, person=r.person,
                                      result=result, method=r.method, at=r.item.scanned_at,
                                      ip_address=ip_address))

    for r in ready:
        item, at = r.item, r.item.scanned_at
        try:
            earlier = answers.get(item.id)
            if earlier is not None:
                visit, outcome = earlier
                if visit.venue_id != r.venue.pk or visit.person_id != r.person_id:
                    raise _conflict()
                accepted(r, CheckInResult(visit, outcome, True))
                continue
            by_staff = r.method in STAFF_METHODS
            venue_require_ready(r.venue, by_staff=by_staff, now=now)
            _check_time(at, now=now, earliest=(
                _door_floor(venue=r.venue, staff_since=r.staff_since, now=now)
                if by_staff and r.staff_since is not None else None
            ))
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
        accepted(r, CheckInResult(visit, decision.outcome))
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
    audit_record_all(audits)
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
            recorded = _batch_record(actor, ready, lookups.ip_address)
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
    lookups = _BatchLookups(actor, request)
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
    """The account holder confirms that the visits offered to them
    (``selectors.guest_visits_offered``: recorded without an account under
    their proved phone and their name) are theirs: those visits move to
    their record; returns how many moved. Nothing joins an account's
    history without this: anyone can type a name and a phone.

    The guest records stay (other data may point at them); a printed
    personal QR card moves with its record when the account has none yet.
    """
    person = user.person
    with transaction.atomic():
        _lock_people([person.pk])
        offered = guest_visits_offered(user=user).order_by()
        touched = list(offered.values_list("venue_id", "person_id", "arrived_at"))
        if not touched:
            return 0
        moved = CheckIn.objects.filter(pk__in=offered.values("pk")).update(person=person)
        # Distinct-people figures change when two records become one.
        hooks.checkins_changed(rows=[(v, p, at) for v, p, at in touched]
                               + [(v, person.pk, at) for v, _p, at in touched])
        _move_card_identities(sources=sorted({p for _v, p, _at in touched}), person=person)
    return moved


def checkins_move_to_person(*, sources: list[int], person: Person) -> int:
    """Moves the visits (and the card identities behind them) of the people
    ``sources`` to ``person``, who is the same human being; returns how many
    visits moved. A personal QR card moves too when ``person`` has none."""
    with transaction.atomic():
        touched = list(
            CheckIn.objects.filter(person_id__in=sources)
            .values_list("venue_id", "person_id", "arrived_at")
        )
        moved = CheckIn.objects.filter(person_id__in=sources).update(person=person)
        if touched:
            # Distinct-people figures change when two records become one.
            hooks.checkins_changed(rows=touched + [(v, person.pk, at) for v, _p, at in touched])
        _move_card_identities(sources=sources, person=person)
    return moved


def _move_card_identities(*, sources: list[int], person: Person) -> None:
    """The card identities of ``sources`` now find ``person``; so does a
    printed personal QR card when ``person`` has none yet."""
    ScanIdentity.objects.filter(person_id__in=sources).update(person=person)
    if not PersonalQrKey.objects.filter(person=person).exists():
        key = PersonalQrKey.objects.filter(person_id__in=sources).order_by("pk").first()
        if key is not None:
            PersonalQrKey.objects.filter(pk=key.pk).update(person=person)


def checkins_follow_merged_person(*, source: Person, target: Person) -> None:
    """Receiver of accounts' ``person_merged`` hook: an account that claimed an
    existing record keeps the visits it made while the claim waited."""
    checkins_move_to_person(sources=[source.pk], person=target)


def checkins_decline_guest(*, user: User) -> None:
    """The account holder says the visits offered to them now are not
    theirs: they stay where they are and are no longer offered (visits
    recorded later are)."""
    GuestVisitsDeclined.objects.update_or_create(user=user, defaults={"until": timezone.now()})


def checkins_offer_guest_visits(*, user: User) -> int:
    """Called when an account is registered: when visits recorded without
    an account under its phone and name are waiting, its holder is told in
    the app (they adopt them, or not, in "Nơi đã đến"). Returns how many."""
    count = guest_visits_offered(user=user).count()
    if count:
        _offer_notice(user, "registered")
    return count


def _offer_notice(user: User, occasion: str) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        body = gettext(
            "Có lượt khai báo ra vào không cần tài khoản mang số điện thoại và họ tên của bạn. "
            "Nếu là bạn, hãy thêm vào lịch sử của bạn tại mục “Nơi đã đến”; nếu không phải, "
            "hãy bấm “Không phải tôi”.")
        subject = gettext("Lượt khai báo chờ bạn xác nhận")
    outbox_enqueue(messages=[Message(
        channel=OutboxChannel.INAPP, dedupe_key=f"checkins.guest-offer:{user.pk}:{occasion}",
        kind="checkins.guest_offer", user=user, person=user.person, subject=subject,
        body=body, link=reverse("checkins:history"),
    )])


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
