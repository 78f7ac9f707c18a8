"""Concurrent check-in transactions recording the same people at the same
venues keep the distinct counts exact (PostgreSQL; SQLite has one writer)."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.reports.rollups import rollups_record
from truyvet.reports.tests.conftest import Place, recount, register, rolled_up
from truyvet.venues.models import VenueType


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_count_each_person_once(places: Place) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race exists on PostgreSQL only")
    rng = random.Random(2021)
    now = timezone.now()
    # Everyone was out already on each day, so the batches below add to
    # person-days that exist (read, merged and written back) as well as
    # creating new ones.
    first = []
    for days in range(4):
        for person in places.people[:3]:
            at = now - timedelta(days=days, minutes=1)
            CheckIn.objects.create(venue=places["market"], person=person, arrived_at=at,
                                   ends_at=at + timedelta(minutes=30), method="manual")
            first.append((places["market"].pk, person.pk, at))
    rollups_record(rows=first)
    # A venue of its own per transaction (they would otherwise queue on the
    # venue's day row), two by two alike (same commune and type) and the same
    # three people everywhere: the transactions meet on the person-days.
    units = places.people[0].commune, places["clinic"].commune
    venues = [
        register(places.personas, name=f"Quầy hàng số {n}", commune=units[n % 2],
                 venue_type=(VenueType.SHOP, VenueType.RESTAURANT)[n // 2 % 2],
                 phone=f"09123460{n:02d}")
        for n in range(8)
    ]
    batches: list[list[tuple[int, int, Any]]] = []
    for venue in venues:
        rows = []
        for _row in range(25):
            person = rng.choice(places.people[:3])
            at = now - timedelta(minutes=rng.randint(0, 3 * 1440))
            CheckIn.objects.create(venue=venue, person=person, arrived_at=at,
                                   ends_at=at + timedelta(minutes=30), method="manual")
            rows.append((venue.pk, person.pk, at))
        batches.append(rows)
    start = threading.Barrier(len(batches))
    failures: list[BaseException] = []

    def record(rows: list[tuple[int, int, Any]]) -> None:
        try:
            start.wait()
            with transaction.atomic():
                rollups_record(rows=rows)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=record, args=(rows,)) for rows in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert rolled_up() == recount()


@pytest.mark.django_db(transaction=True)
def test_folds_running_while_scans_commit_count_every_scan_once(places: Place) -> None:
    """Decision 0022: the worker folds while scans commit (PostgreSQL: at
    REPEATABLE READ, one fold at a time by an advisory lock; SQLite: one
    writer), with merges that move arrivals back across midnight and a
    rebuild among them: in the end every scan is counted once."""
    from truyvet.checkins.services import checkin_record
    from truyvet.reports.rollups import rollups_fold, rollups_reload
    from truyvet.reports.tests.conftest import venue_days_recounted, venue_days_rolled_up

    rng = random.Random(18)
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    plans: list[list[tuple[Any, Any, Any]]] = [[] for _ in range(3)]
    for n, person in enumerate(places.people):
        venue = places[("market", "shop", "clinic")[n % 3]]
        plan = plans[n % 3]
        # After midnight, then a late scan before it: merged, moved back a day.
        plan += [(venue, person, midnight + timedelta(minutes=10)),
                 (venue, person, midnight - timedelta(minutes=5))]
        plan += [(places[rng.choice(("market", "shop", "clinic", "pharmacy"))], person,
                  midnight - timedelta(hours=hours)) for hours in rng.sample(range(2, 40), 4)]
    done = threading.Event()
    failures: list[BaseException] = []

    def scans(plan: list[tuple[Any, Any, Any]]) -> None:
        try:
            for venue, person, at in plan:
                checkin_record(venue=venue, person=person, arrived_at=at, method="manual")
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    def folds() -> None:
        try:
            rounds = 0
            while not done.is_set():
                rollups_fold()
                rounds += 1
                if rounds == 3:
                    rollups_reload(since=midnight - timedelta(days=2), until=midnight)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    if connection.vendor != "postgresql":
        # One writer at a time: the same steps one after another.
        for plan in plans:
            scans(plan)
            rollups_fold()
        rollups_reload(since=midnight - timedelta(days=2), until=midnight)
    else:
        writers = [threading.Thread(target=scans, args=(plan,)) for plan in plans]
        folder = threading.Thread(target=folds)
        folder.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        done.set()
        folder.join()
    assert not failures
    rollups_fold()
    assert CheckIn.objects.count() == 5 * len(places.people)
    assert rolled_up() == recount()
    assert venue_days_rolled_up() == venue_days_recounted()


@pytest.mark.django_db(transaction=True)
def test_a_fold_finds_another_folding_and_leaves_the_notes_to_it(places: Place) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's one writer is the lock: a second fold waits for the first")
    import psycopg

    from truyvet.checkins.services import checkin_record
    from truyvet.reports.models import RollupChange
    from truyvet.reports.rollups import FOLD_LOCK, rollups_fold

    checkin_record(venue=places["market"], person=places.people[0],
                   arrived_at=timezone.now() - timedelta(minutes=5), method="manual")
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])  # a fold is running
        assert rollups_fold().busy
        assert RollupChange.objects.count() == 1
        other.rollback()
    report = rollups_fold()
    assert (report.busy, report.added, RollupChange.objects.count()) == (False, 1, 0)
    assert rolled_up() == recount()
