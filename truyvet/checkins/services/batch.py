"""Offline batches: a phone's queue of scans applied in order, as if each
item were sent on its own (``checkins_batch``).

Citizens' scans and door scans that need no write to find their person are
recorded in runs with a fixed number of queries per run (``_batch_record``),
by the same rules as ``recording._decide``; everything else goes the
one-by-one way (``door``) between runs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person, User, Viewer
from truyvet.checkins import hooks
from truyvet.checkins.hooks import CardStatus
from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind, ScanOutcome, ScanReceipt
from truyvet.checkins.personal_qr import card_statuses_for
from truyvet.checkins.services.batch_lookups import BatchItem, BatchKind, _BatchLookups
from truyvet.checkins.services.door import (
    ScanDisplay,
    _display,
    _door_audit,
    _door_floor,
    _manual,
    _staff_scan,
    claimed_display,
    door_scan_claimed,
)
from truyvet.checkins.services.identity import IdentityMismatch, _refuse_mismatch
from truyvet.checkins.services.recording import (
    MAX_DWELL,
    STAFF_METHODS,
    CheckInResult,
    _check_time,
    _conflict,
    _decide,
    _end_at_next_arrival,
    _in_window,
    _lock_people,
    _record_retrying,
    _visits_update,
    checkin_throttle,
)
from truyvet.core.bulk import values_insert
from truyvet.core.errors import FieldError, ServiceError
from truyvet.core.models import AuditEvent
from truyvet.venues.models import Venue
from truyvet.venues.readiness import venue_require_ready

BATCH_MAX_ITEMS = 500


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


def _rejected(item: BatchItem, exc: ServiceError) -> ItemResult:
    return ItemResult(id=item.id, ok=False, code=exc.code, message=exc.message, errors=exc.errors)


def _accepted(item: BatchItem, result: CheckInResult, person: Person | None,
              colours: dict[int, CardStatus] | None = None) -> ItemResult:
    display = None
    if person is not None:
        if colours is None:
            display = _display(result, person)
        else:
            status = colours.get(person.pk)
            display = _display(result, person, status.colour if status else None)
    return ItemResult(
        id=item.id, ok=True, outcome=result.outcome, duplicate=result.duplicate,
        checkin_id=result.checkin.pk, display=display,
    )


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
                id_number=item.id_number, id_kind=item.id_kind, street=item.street,
                birth_date=item.birth_date, separate=item.separate,
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
        claimed = door_scan_claimed(controller=actor, venue=venue, payload=item.payload,
                                    scanned_at=item.scanned_at, scan_id=item.id,
                                    request=lookups.request)
        if claimed is not None:
            return ItemResult(id=item.id, ok=True, outcome=claimed.outcome,
                              duplicate=claimed.duplicate, checkin_id=claimed.record_id,
                              display=claimed_display(claimed))
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


# The columns an offline batch writes by COPY (``core.bulk.values_insert``):
# every concrete field, in the model's order, so that a new visit is built
# from positional values (Django's fast path, as for rows read) and written
# from the same tuple.
_VISIT_FIELDS = tuple(f.attname for f in CheckIn._meta.concrete_fields)
_visit_values = attrgetter(*_VISIT_FIELDS)
_RECEIPT_FIELDS = ("id", "checkin_id", "outcome", "received_at")
_AUDIT_FIELDS = tuple(f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key)
_audit_values = attrgetter(*_AUDIT_FIELDS)


def _visit_new(**values: object) -> CheckIn:
    """A new visit, not yet stored, from every one of its fields' values."""
    # Positional, in the fields' order: the django-stubs plugin types only
    # keyword arguments.
    return CheckIn(*[values[name] for name in _VISIT_FIELDS])  # type: ignore[misc]


def _lock_run_people(person_ids: set[int]) -> None:
    """``recording._lock_people`` for a run's people: on PostgreSQL the ids
    go as one text parameter (psycopg quoted hundreds of ``%s`` one by one);
    the rows are locked in id order all the same, so that two batches
    cannot deadlock."""
    if connection.vendor != "postgresql" or not person_ids:
        _lock_people(list(person_ids))
        return
    table = connection.ops.quote_name(Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(string_to_array(%s, ',')::bigint[]) "  # noqa: S608 - names from the models, values bound
            "ORDER BY id FOR UPDATE", [",".join(str(pk) for pk in sorted(person_ids))],
        )


def _rows_for_run(
    *, ids: Sequence[uuid.UUID], person_ids: set[int],
    bounds: tuple[datetime, datetime] | None,
) -> tuple[dict[uuid.UUID, tuple[CheckIn, ScanOutcome]], list[CheckIn]]:
    """What a run needs to know, read in one statement on PostgreSQL: the
    earlier answers to its scan ids (the visit a receipt points at, or a
    visit made under that id), and the visits of its people arriving within
    ``bounds`` (None when no item has a usable time). As the single scan's
    read (``recording._rows_sql``), visits are bounded by arrival so that
    only the partitions around the run are read, and receipts by their key;
    the lists go as one text parameter each, which psycopg quotes once
    rather than value by value."""
    by_visit: dict[uuid.UUID, tuple[CheckIn, ScanOutcome]] = {}
    by_receipt: dict[uuid.UUID, tuple[CheckIn, ScanOutcome]] = {}
    around: list[CheckIn] = []
    if connection.vendor != "postgresql":
        for visit in CheckIn.objects.filter(pk__in=ids):
            by_visit[visit.pk] = (visit, ScanOutcome.CREATED)
        for receipt in ScanReceipt.objects.select_related("checkin").filter(pk__in=ids):
            by_receipt.setdefault(receipt.pk, (receipt.checkin, ScanOutcome(receipt.outcome)))
        if bounds is not None:
            around = list(CheckIn.objects.filter(
                person_id__in=person_ids, arrived_at__gte=bounds[0], arrived_at__lte=bounds[1]))
        return {**by_receipt, **by_visit}, around
    quote = connection.ops.quote_name
    table, receipt_table = quote(CheckIn._meta.db_table), quote(ScanReceipt._meta.db_table)
    columns = ", ".join(f"c.{quote(str(f.column))}" for f in CheckIn._meta.concrete_fields)
    id_list = ",".join(str(pk) for pk in ids)
    sql = (f"SELECT {columns}, r.id AS scan_id, r.outcome AS scan_outcome "  # noqa: S608 - names from the models, values bound
           f"FROM {receipt_table} r JOIN {table} c ON c.id = r.checkin_id "
           "WHERE r.id = ANY(string_to_array(%s, ',')::uuid[]) "
           f"UNION ALL SELECT {columns}, NULL, NULL FROM {table} c WHERE ")
    params: list[Any] = [id_list]
    if bounds is None:
        sql += "c.id = ANY(string_to_array(%s, ',')::uuid[])"
        params.append(id_list)
    else:
        sql += ("c.arrived_at >= %s AND c.arrived_at <= %s AND ("
                "c.person_id = ANY(string_to_array(%s, ',')::bigint[]) "
                "OR c.id = ANY(string_to_array(%s, ',')::uuid[]))")
        params += [*bounds, ",".join(str(pk) for pk in person_ids), id_list]
    wanted = set(ids)
    for row in CheckIn.objects.raw(sql, params):
        scan_id = getattr(row, "scan_id", None)  # the receipt's columns, when read through one
        if scan_id is not None:
            by_receipt.setdefault(scan_id, (row, ScanOutcome(row.scan_outcome)))  # type: ignore[attr-defined]
            continue
        if row.pk in wanted:
            by_visit[row.pk] = (row, ScanOutcome.CREATED)
        if row.person_id in person_ids:
            around.append(row)
    return {**by_receipt, **by_visit}, around


def _visits_write(visits: Sequence[CheckIn], arrivals: dict[uuid.UUID, datetime]) -> None:
    """Writes the arrival, end and departure kind of stored ``visits`` (merged,
    checked out, or ended by rule 5), found by id and the arrival each had
    when read (``arrivals``; the row moves to its new day's partition when
    the arrival moved). On PostgreSQL one ``UPDATE ... FROM unnest(...)``,
    each column one text parameter; elsewhere ``recording._visits_update``'s
    statement once per row."""
    if not visits:
        return
    if connection.vendor != "postgresql":
        _visits_update(visits, {v.pk: arrivals.get(v.pk, v.arrived_at) for v in visits})
        return
    table = connection.ops.quote_name(CheckIn._meta.db_table)
    old = [arrivals.get(v.pk, v.arrived_at) for v in visits]

    def joined(values: Sequence[object]) -> str:
        return ",".join(str(value) for value in values)

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS c SET arrived_at = v.arrived_at, ends_at = v.ends_at, "  # noqa: S608 - names from the models, values bound
            "departure_kind = v.departure_kind FROM unnest("
            "string_to_array(%s, ',')::uuid[], string_to_array(%s, ',')::timestamptz[], "
            "string_to_array(%s, ',')::timestamptz[], string_to_array(%s, ',')::timestamptz[], "
            "string_to_array(%s, ',')) AS v(id, was, arrived_at, ends_at, departure_kind) "
            "WHERE c.id = v.id AND c.arrived_at = v.was "
            # Constant bounds, so that only the partitions of these days are planned and read.
            "AND c.arrived_at >= %s AND c.arrived_at <= %s",
            [joined([v.pk for v in visits]),
             joined([was.isoformat() for was in old]),
             joined([v.arrived_at.isoformat() for v in visits]),
             joined([v.ends_at.isoformat() for v in visits]),
             joined([DepartureKind(v.departure_kind).value for v in visits]),
             min(old), max(old)],
        )


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
    _lock_run_people(person_ids)
    ids = [r.item.id for r in ready]
    times = [r.item.scanned_at for r in ready if not timezone.is_naive(r.item.scanned_at)]
    bounds = None
    if times:
        span = max([window] + [timedelta(minutes=v.effective_dwell_minutes)
                               for v in venues.values()])
        bounds = (min(times) - max(span, MAX_DWELL), max(times) + span)
    answers, around = _rows_for_run(ids=ids, person_ids=person_ids, bounds=bounds)
    visits: dict[tuple[int, int], list[CheckIn]] = defaultdict(list)
    # Each person's visits anywhere around the run, for rule 5 (recording._end_at_next_arrival).
    people: dict[int, list[CheckIn]] = defaultdict(list)
    for visit in around:
        people[visit.person_id].append(visit)
        if visit.venue_id in venues:
            visits[(visit.person_id, visit.venue_id)].append(visit)
    arrivals = {visit.pk: visit.arrived_at for group in people.values() for visit in group}
    created: list[CheckIn] = []
    fresh: set[uuid.UUID] = set()
    changed: dict[uuid.UUID, CheckIn] = {}
    cut_ends: dict[uuid.UUID, CheckIn] = {}
    receipts: list[tuple[uuid.UUID, uuid.UUID, str, datetime]] = []
    audits: list[AuditEvent] = []
    results: list[ItemResult] = []
    # The door screen's card colours, of every scanned person at once.
    colours = card_statuses_for([r.person for r in ready if r.person is not None], now)

    def accepted(r: _Ready, result: CheckInResult) -> None:
        results.append(_accepted(r.item, result, r.person, colours))
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
            visit = _visit_new(
                id=item.id, venue_id=r.venue.pk, person_id=r.person_id, arrived_at=at,
                received_at=now, ends_at=at + dwell, departure_kind=DepartureKind.ESTIMATED.value,
                method=str(r.method), recorded_by_id=actor.pk,
            )
            created.append(visit)
            fresh.add(visit.pk)
            # Every scan id leaves a receipt (recording._visits_insert).
            receipts.append((item.id, visit.pk, ScanOutcome.CREATED.value, now))
            pair.append(visit)
            people[r.person_id].append(visit)
        else:
            visit = decision.visit
            if decision.changed and visit.pk not in fresh:  # new rows go in as they end up
                changed[visit.pk] = visit
            receipts.append((item.id, visit.pk, decision.outcome.value, now))
        # Rule 5 after each item, as a scan sent on its own would (new rows go in as they end up).
        for cut_visit in _end_at_next_arrival(people[r.person_id]):
            cut_ends[cut_visit.pk] = cut_visit
        answers[item.id] = (visit, decision.outcome)
        accepted(r, CheckInResult(visit, decision.outcome))
    cut = [v for v in cut_ends.values() if v.pk not in fresh and v.pk not in changed]
    values_insert(CheckIn, _VISIT_FIELDS, [_visit_values(v) for v in created])
    hooks.checkins_added(rows=[(c.venue_id, c.person_id, c.arrived_at) for c in created])
    _visits_write(list(changed.values()) + cut, arrivals)
    # Late-synced earlier scans moved these arrivals back.
    moved = [v for v in changed.values() if v.arrived_at != arrivals[v.pk]]
    if moved:
        hooks.checkins_changed(rows=[
            row for v in moved
            for row in ((v.venue_id, v.person_id, arrivals[v.pk]),
                        (v.venue_id, v.person_id, v.arrived_at))
        ])
    values_insert(ScanReceipt, _RECEIPT_FIELDS, receipts)
    values_insert(AuditEvent, _AUDIT_FIELDS, [_audit_values(a) for a in audits])
    return results


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

