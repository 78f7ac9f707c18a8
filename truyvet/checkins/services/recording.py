"""How scans become visits: the rules, and the one recording path every
kind of scan (citizen, guest, door, manual, batch) goes through.

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
   citizen taps "leaving" (``citizen.checkin_checkout``) or an exit scan.

5. **A later scan ends a visit** (BRIEF §5; decision 0013). A person cannot
   be in two places: a visit whose end is still an estimate (``ESTIMATED``)
   ends at the person's next arrival at *another* venue when that arrival
   comes before the estimated end. A real end (the citizen's "leaving" tap,
   an exit scan) stands. It holds whichever arrives first: a new visit cuts
   the person's earlier one, and a late offline scan's own end is cut by
   the next arrival already recorded. It is one pure function
   (``_end_at_next_arrival``) over the person's visits around the scan, run
   by every path that writes visits: single scans (``_record``), batches
   (``batch._batch_record``), merges that move an arrival back, and visits
   moved to another record (guest adoption, ``citizen.checkins_move_to_person``,
   through ``checkins_end_at_next_arrival``). Bulk loads (``truyvet synth``)
   compute the same in SQL. Ends are not counted by the rollups, so no hook
   is called for a cut end.

Rules 2 to 4 are one pure function (``_decide``) over the person's recent
visits at the venue, read in one query with the earlier answer of rule 1
and the person's visits elsewhere that rule 5 needs (``_rows_for_scan``).
An offline batch (``batch.checkins_batch``) applies the same functions
item after item in memory to whole runs of its queue, with a fixed number
of queries per run (``batch._batch_record``), so it records exactly what
the same scans sent one by one would (a test compares the two).

Every service validates first and writes in one transaction, so a rejected
scan stores nothing: not even the person a CCCD would have created. In a
batch each item is checked before anything of it is kept, and a run is
written together. The rate limits every scan counts against
(``checkin_throttle``) live here too, as every kind of scan shares them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person, User, Viewer
from truyvet.checkins import hooks
from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind, ScanOutcome, ScanReceipt
from truyvet.core import ratelimit
from truyvet.core.errors import FieldError, ServiceError, Throttled
from truyvet.core.rawrows import instance_from_row, python_values
from truyvet.core.requests import client_ip
from truyvet.venues.models import Venue
from truyvet.venues.readiness import venue_require_ready

# Methods by which a controller scans a card at the door: a second such scan
# of someone already inside is them leaving.
EXIT_SCAN_METHODS = frozenset(
    {CheckInMethod.PERSONAL_QR, CheckInMethod.CCCD_QR, CheckInMethod.NATIONAL_QR}
)


STAFF_METHODS = EXIT_SCAN_METHODS | {CheckInMethod.MANUAL}


@dataclass(frozen=True)
class CheckInResult:
    """What a scan did. ``outcome`` is that of the first time the scan was
    seen; ``duplicate`` says this call was a retry that wrote nothing."""

    checkin: CheckIn
    outcome: ScanOutcome
    duplicate: bool = False


def _check_time(at: datetime, *, now: datetime, earliest: datetime | None = None) -> None:
    """Refuses a scan time without a zone, older than the retention period,
    before ``earliest`` (a door scan, see ``door._door_floor``) or in the future."""
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


def checkin_throttle(
    *, scope: str, request: HttpRequest | None, user: Viewer | None = None
) -> None:
    """Rate limits shared by the pages and the API: per caller address, and
    per account (controllers get a higher limit than citizens). ``scope``
    names the action so that, say, guest forms do not eat into scans. Each
    limit counts one request per minute (0 means no limit); both are counted
    together (one round trip with Redis, ``ratelimit.hit_many``)."""
    # A controller's camera sends a frame to /decode every ~400 ms, so decoding
    # counts as staff work (it needs a login) with the staff budget.
    staff_work = scope in {"staff", "batch", "lookup", "decode"}
    keys: list[tuple[str, int]] = []
    if request is not None:
        ip_limit = settings.CHECKIN_RATELIMIT_IP_PER_MINUTE
        if staff_work and ip_limit:
            ip_limit = max(ip_limit, settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE)
        keys.append((f"checkins:{scope}:ip:{client_ip(request) or 'unknown'}", ip_limit))
    if user is not None and user.is_authenticated:
        limit = (
            settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE
            if staff_work
            else settings.CHECKIN_RATELIMIT_USER_PER_MINUTE
        )
        keys.append((f"checkins:{scope}:user:{user.pk}", limit))
    keys = [(key, limit) for key, limit in keys if limit > 0]
    if not keys:
        return
    refused, reset_in = ratelimit.hit_many(keys, window_seconds=60)
    if refused is not None:
        raise Throttled(
            _("Bạn thao tác quá nhanh. Vui lòng thử lại sau %(seconds)s giây.")
            % {"seconds": reset_in},
            retry_after=reset_in,
        )


def _lock_people(person_ids: Sequence[int]) -> None:
    """Serialises scans of the same people (PostgreSQL row locks, taken in
    id order so that two batches cannot deadlock; SQLite already runs one
    writer at a time), so two phones scanning the same card at once make
    one visit, not two."""
    if connection.features.has_select_for_update and person_ids:
        ids = sorted({int(pk) for pk in person_ids})
        table = connection.ops.quote_name(Person._meta.db_table)
        with connection.cursor() as cursor:  # plain SQL: the ORM cost more than the lock
            cursor.execute(
                f"SELECT id FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))}) "  # noqa: S608 - names from the models, values bound
                "ORDER BY id FOR UPDATE", ids,
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


# The longest dwell a venue may set (venues.forms.VenueEditForm, 1440 minutes):
# no estimated end lies further than this after its arrival, which bounds the
# visits rule 5 has to read.
MAX_DWELL = timedelta(minutes=1440)


def _end_at_next_arrival(visits: Sequence[CheckIn]) -> list[CheckIn]:
    """Rule 5 over one person's ``visits`` (any venues, any order): each visit
    whose end is estimated ends at the earliest arrival at another venue
    after its own arrival and before its end. Changes the visits in memory;
    returns those whose end moved."""
    changed: list[CheckIn] = []
    arrivals = sorted((v.arrived_at, v.venue_id) for v in visits)
    for visit in visits:
        if visit.departure_kind != DepartureKind.ESTIMATED:
            continue
        for arrived_at, venue_id in arrivals:
            if arrived_at <= visit.arrived_at or venue_id == visit.venue_id:
                continue
            if arrived_at < visit.ends_at:
                visit.ends_at = arrived_at
                changed.append(visit)
            break
    return changed


def _run_per_row(cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``executemany``, but a single row (a single scan's write, the usual
    case) with ``execute``: psycopg runs ``executemany`` in pipeline mode,
    whose entry and exit cost a single row more than the statement."""
    if len(rows) == 1:
        cursor.execute(sql, rows[0])
    else:
        cursor.executemany(sql, rows)


def _ends_update(visits: Sequence[CheckIn]) -> None:
    """Writes the ends rule 5 moved, one prepared statement run once per row,
    by id and arrival so that PostgreSQL reads one partition."""
    if not visits:
        return
    meta = CheckIn._meta
    at, pk = meta.get_field("arrived_at"), meta.get_field("id")
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        _run_per_row(
            cursor,
            f"UPDATE {table} SET ends_at = %s WHERE id = %s AND arrived_at = %s",  # noqa: S608 - names from the models, values bound
            [(at.get_db_prep_save(v.ends_at, connection), pk.get_db_prep_save(v.pk, connection),
              at.get_db_prep_save(v.arrived_at, connection)) for v in visits],
        )


def _visits_insert(visits: Sequence[CheckIn], *, receipts: bool = False,
                   received_at: datetime | None = None) -> None:
    """Inserts new visits, one prepared statement run once per row (the
    ORM's ``save`` cost a single scan more to build than to run). With
    ``receipts``, each visit's id is a scan id and gets its ``CREATED``
    receipt too (in the same statement on PostgreSQL), so that a retry
    finds it by the receipts' key whatever its arrival (``_rows_sql``)."""
    if not visits:
        return
    meta = CheckIn._meta
    fields = list(meta.concrete_fields)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model
        quote(meta.db_table), ", ".join(quote(str(f.column)) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    rows = [[f.get_db_prep_save(getattr(v, f.attname), connection) for f in fields]
            for v in visits]
    receipt_sql, receipt_rows = "", []
    if receipts:
        pk = cast("models.Field[Any, Any]", meta.pk)
        at = ScanReceipt._meta.get_field("received_at")
        receipt_sql = (f"INSERT INTO {quote(ScanReceipt._meta.db_table)} "  # noqa: S608 - names from the models, values bound
                       "(id, checkin_id, outcome, received_at) VALUES (%s, %s, %s, %s)")
        receipt_rows = [[pk.get_db_prep_save(v.pk, connection),
                         pk.get_db_prep_save(v.pk, connection), ScanOutcome.CREATED.value,
                         at.get_db_prep_save(received_at or v.received_at, connection)]
                        for v in visits]
    with connection.cursor() as cursor:
        if receipts and connection.vendor == "postgresql":
            # One round trip: a data-modifying WITH runs whether read or not.
            _run_per_row(cursor, f"WITH visit AS ({sql}) {receipt_sql}",
                         [row + receipt for row, receipt in zip(rows, receipt_rows,
                                                                  strict=True)])
        else:
            _run_per_row(cursor, sql, rows)
            if receipts:
                _run_per_row(cursor, receipt_sql, receipt_rows)
    for visit in visits:
        visit._state.adding, visit._state.db = False, connection.alias


def _visits_update(visits: Sequence[CheckIn], arrivals: dict[uuid.UUID, datetime]) -> None:
    """Writes the arrival, end and departure kind of ``visits`` in one
    prepared statement run once per row, by id and the arrival each had
    when read (``arrivals``), so that PostgreSQL finds each row in its one
    daily partition (a moved arrival moves the row to its new partition).
    ``bulk_update``'s CASE expression cost more to build than hundreds of
    rows cost to write."""
    if not visits:
        return
    meta = CheckIn._meta
    at, pk = (cast("models.Field[Any, Any]", meta.get_field(name)) for name in ("arrived_at", "id"))
    columns = [at, *(cast("models.Field[Any, Any]", meta.get_field(name))
                     for name in ("ends_at", "departure_kind"))]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE id = %s AND arrived_at = %s".format(  # noqa: S608 - names from the models, values bound
        quote(meta.db_table), ", ".join(f"{quote(str(f.column))} = %s" for f in columns),
    )
    with connection.cursor() as cursor:
        _run_per_row(cursor, sql, [
            [f.get_db_prep_save(getattr(v, f.attname), connection) for f in columns]
            + [pk.get_db_prep_save(v.pk, connection),
               at.get_db_prep_save(arrivals[v.pk], connection)]
            for v in visits
        ])


def checkins_end_at_next_arrival(*, person_ids: Sequence[int], since: datetime,
                                 until: datetime) -> int:
    """Rule 5 for visits that moved to ``person_ids`` or whose arrivals
    changed between ``since`` and ``until`` by other means than a scan
    (guest adoption, records merged): reads those people's visits around the
    period and cuts the estimated ends the rule cuts. Returns how many.
    Must run in the transaction that moved the visits."""
    if not person_ids:
        return 0
    visits: dict[int, list[CheckIn]] = {}
    for visit in CheckIn.objects.filter(
        person_id__in=sorted(set(person_ids)), arrived_at__gte=since - MAX_DWELL,
        arrived_at__lte=until + MAX_DWELL,
    ):
        visits.setdefault(visit.person_id, []).append(visit)
    changed = [v for group in visits.values() for v in _end_at_next_arrival(group)]
    _ends_update(changed)
    return len(changed)


def _conflict() -> ServiceError:
    return ServiceError(
        _("Mã lượt quét này đã được dùng cho một lượt quét khác."),
        code="checkin_id_conflict", status=409,
    )


def _rows_for_scan(
    *, venue: Venue, person_id: int, at: datetime, checkin_id: uuid.UUID | None,
    window: timedelta, dwell: timedelta, lock: bool = False,
) -> tuple[CheckInResult | None, list[CheckIn], list[CheckIn]]:
    """One query for everything a scan needs to know: an earlier answer to
    the same ``checkin_id`` (the visit it created, or the one its receipt
    points at), the person's recent visits at the venue (rules 2 and 3),
    and the person's visits anywhere around ``at`` (rule 5): those arriving
    up to MAX_DWELL before it and up to ``max(W, D)`` after it. With
    ``lock``, the person's lock (``_lock_people``) is taken first, in the
    same round trip on PostgreSQL (``_scan_rows``)."""
    rows: list[Any]
    if checkin_id is None and timezone.is_naive(at):
        if lock:
            _lock_people([person_id])
        return None, [], []  # refused by _check_time
    if not timezone.is_naive(at):
        sql, parameters = _rows_sql(person_id=person_id, checkin_id=checkin_id,
                                    since=at - MAX_DWELL, until=at + max(window, dwell))
        rows = _scan_rows(sql, parameters, lock_person=person_id if lock else None)
        return _rows_sorted(rows, venue=venue, person_id=person_id, at=at,
                            checkin_id=checkin_id, window=window, dwell=dwell)
    # A naive time (refused by _check_time once a retry is ruled out): only
    # the earlier answer to the id, which needs no bounds.
    assert checkin_id is not None  # naive times without an id returned above
    if lock:
        _lock_people([person_id])
    receipt = ScanReceipt.objects.filter(pk=checkin_id)
    wanted = Q(pk=checkin_id) | Q(pk=Subquery(receipt.values("checkin_id")[:1]))
    rows = list(CheckIn.objects.filter(wanted).annotate(
        receipt_outcome=Subquery(receipt.filter(checkin_id=OuterRef("pk")).values("outcome"))
    ))
    return _rows_sorted(rows, venue=venue, person_id=person_id, at=at, checkin_id=checkin_id,
                        window=window, dwell=dwell)


def _rows_sql(*, person_id: int, checkin_id: uuid.UUID | None, since: datetime,
              until: datetime) -> tuple[str, list[Any]]:
    """The one read of ``_rows_for_scan`` as plain SQL (both databases): the
    ORM spent more time building it, with its receipt subqueries, than the
    database spent running it. The visits are bounded by arrival, so that
    PostgreSQL plans and reads only the daily partitions of [since, until];
    the receipt of ``checkin_id`` (every scan with an id leaves one, decision
    0013) is read by its key from the unpartitioned receipts, so a retry
    whose visit lies outside the bounds is still recognised. Always one
    row at least: a row without a visit carries the receipt alone."""
    meta, receipts = CheckIn._meta, ScanReceipt._meta
    table, receipt_table = (connection.ops.quote_name(m.db_table) for m in (meta, receipts))
    columns = ", ".join(f"c.{connection.ops.quote_name(str(f.column))}"
                        for f in meta.concrete_fields)
    bounds = [connection.ops.adapt_datetimefield_value(since),
              connection.ops.adapt_datetimefield_value(until)]
    if checkin_id is None:
        return (f"SELECT {columns}, NULL AS receipt_checkin, NULL AS receipt_outcome "  # noqa: S608 - names from the models, values bound
                f"FROM {table} c "
                "WHERE c.arrived_at >= %s AND c.arrived_at <= %s AND c.person_id = %s",
                [*bounds, person_id])
    scan_id = cast("models.Field[Any, Any]", meta.pk).get_db_prep_value(checkin_id, connection)
    return (
        f"SELECT {columns}, r.checkin_id AS receipt_checkin, "  # noqa: S608 - names from the models, values bound
        f"r.outcome AS receipt_outcome FROM (SELECT 1 AS one) o "
        f"LEFT JOIN {receipt_table} r ON r.id = %s "
        f"LEFT JOIN {table} c ON c.arrived_at >= %s AND c.arrived_at <= %s "
        "AND (c.person_id = %s OR c.id = %s OR c.id = r.checkin_id)",
        [scan_id, *bounds, person_id, scan_id],
    )


def _scan_rows(sql: str, parameters: list[Any], *, lock_person: int | None) -> list[CheckIn]:
    """``_rows_sql``'s rows as visits (with ``receipt_checkin`` and
    ``receipt_outcome`` set; a row without a visit has ``pk`` None), read
    with a plain cursor: ``RawQuerySet`` cost more than the read.

    With ``lock_person``, that person's lock is taken first. On PostgreSQL
    the lock and the read go in one round trip, as two statements of one
    message: in READ COMMITTED each statement takes its own snapshot, so
    the read still starts after the lock is granted and sees a visit
    committed while it waited (one statement reading under ``FOR UPDATE``
    would not)."""
    fields = list(CheckIn._meta.concrete_fields)
    with connection.cursor() as cursor:
        # Two statements in one message need client-side binding (Django's
        # default; a server-side binding cursor prepares one statement).
        if lock_person is not None and connection.vendor == "postgresql" and (
                connection.settings_dict["OPTIONS"].get("server_side_binding") is not True):
            table = connection.ops.quote_name(Person._meta.db_table)
            cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE; "  # noqa: S608 - names from the models, values bound
                           + sql, [lock_person, *parameters])
            cursor.nextset()
        else:
            if lock_person is not None:
                _lock_people([lock_person])
            cursor.execute(sql, parameters)
        fetched = cursor.fetchall()
    receipt_field = ScanReceipt._meta.get_field("checkin")
    rows = []
    for found in fetched:
        width = len(fields)
        row = (instance_from_row(CheckIn, connection, found[:width]) if found[0] is not None
               else CheckIn(id=None))  # the receipt alone
        receipt = python_values(connection, [receipt_field], [found[width]])[0]
        vars(row).update(receipt_checkin=receipt, receipt_outcome=found[width + 1])
        rows.append(row)
    return rows


def _rows_sorted(
    rows: list[Any], *, venue: Venue, person_id: int, at: datetime,
    checkin_id: uuid.UUID | None, window: timedelta, dwell: timedelta,
) -> tuple[CheckInResult | None, list[CheckIn], list[CheckIn]]:
    """``_rows_for_scan``'s answer from the rows it read."""
    by_receipt = any(hasattr(row, "receipt_checkin") for row in rows)  # _rows_sql's rows
    receipt = next((row for row in rows if getattr(row, "receipt_checkin", None)), None)
    rows = [row for row in rows if row.pk is not None]
    earlier: tuple[CheckIn, ScanOutcome] | None = None
    if receipt is not None:
        visit_id = uuid.UUID(str(receipt.receipt_checkin))
        found = next((row for row in rows if row.pk == visit_id), None)
        if found is None:  # outside the bounds: a retry re-stamped long after
            found = CheckIn.objects.filter(pk=visit_id).first()
        if found is not None:
            earlier = (found, ScanOutcome(receipt.receipt_outcome))
    if earlier is None and checkin_id is not None:
        # A visit made before every scan left a receipt (or on the naive path).
        for row in rows:
            outcome = (
                ScanOutcome.CREATED if row.pk == checkin_id
                else ScanOutcome(row.receipt_outcome)
                if not by_receipt and getattr(row, "receipt_outcome", None) else None
            )
            if outcome is not None:
                earlier = (row, outcome)
                break
    if earlier is not None:
        row, outcome = earlier
        if row.venue_id != venue.pk or row.person_id != person_id:
            raise _conflict()
        row.venue = venue  # the answer names it: no query for it
        return CheckInResult(checkin=row, outcome=outcome, duplicate=True), [], []
    if timezone.is_naive(at):
        return None, [], []
    person = [row for row in rows if row.person_id == person_id
              and at - MAX_DWELL <= row.arrived_at <= at + max(window, dwell)]
    recent = []
    for row in person:
        if row.venue_id == venue.pk:
            row.venue = venue
            if _in_window(row, at=at, window=window, dwell=dwell):
                recent.append(row)
    return None, recent, person


def checkins_after_bulk_load(*, since: datetime, until: datetime) -> None:
    """Called by ``truyvet synth`` after it bulk-loads check-ins for
    [since, until): derived data is rebuilt from the table for that period."""
    hooks.checkins_reloaded(since=since, until=until)


def _record(
    *, venue: Venue, person_id: int, at: datetime, method: str, recorded_by: User | None,
    checkin_id: uuid.UUID | None, received_at: datetime,
    floor: Callable[[datetime], datetime] | None = None,
) -> CheckInResult:
    """One scan, by the rules of the module docstring. ``floor(now)`` is the
    earliest time a scan by staff may carry (``door._door_floor``)."""
    window = timedelta(minutes=settings.CHECKIN_MERGE_MINUTES)
    dwell = timedelta(minutes=venue.effective_dwell_minutes)
    earlier, recent, person = _rows_for_scan(
        venue=venue, person_id=person_id, at=at, checkin_id=checkin_id, window=window,
        dwell=dwell, lock=True,
    )
    if earlier is not None:
        return earlier
    by_staff = method in STAFF_METHODS
    venue_require_ready(venue, by_staff=by_staff, now=received_at)
    _check_time(at, now=received_at, earliest=(
        floor(received_at) if by_staff and floor is not None else None
    ))
    arrivals = {visit.pk: visit.arrived_at for visit in person}
    decision = _decide(recent, at=at, method=method, window=window, dwell=dwell)
    if decision.visit is None:
        visit = CheckIn(
            id=checkin_id or uuid.uuid4(), venue=venue, person_id=person_id, arrived_at=at,
            received_at=received_at, ends_at=at + dwell, departure_kind=DepartureKind.ESTIMATED,
            method=method, recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
        )
        cut = _end_at_next_arrival([*person, visit])
        _visits_insert([visit], receipts=checkin_id is not None, received_at=received_at)
        _ends_update([v for v in cut if v is not visit])
        hooks.checkins_added(rows=[(venue.pk, person_id, at)])
        return CheckInResult(checkin=visit, outcome=ScanOutcome.CREATED)
    if decision.changed:
        cut = _end_at_next_arrival(person)
        _visits_update([decision.visit], arrivals)
        _ends_update([v for v in cut if v is not decision.visit])
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
    floor: Callable[[datetime], datetime] | None = None,
    then: Callable[[CheckInResult], Any] | None = None,
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
                    floor=floor,
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
    bounds of ``door._door_floor``.
    """
    return _record_retrying(
        venue=venue, person_id=person.pk, arrived_at=arrived_at, method=method,
        recorded_by=recorded_by, checkin_id=checkin_id, received_at=received_at,
    )

