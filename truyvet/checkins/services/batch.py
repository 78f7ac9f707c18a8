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
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
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
    STAFF_METHODS,
    CheckInResult,
    _check_time,
    _conflict,
    _decide,
    _in_window,
    _lock_people,
    _record_retrying,
    checkin_throttle,
)
from truyvet.core.errors import FieldError, ServiceError
from truyvet.core.models import AuditEvent
from truyvet.core.services import audit_record_all
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

