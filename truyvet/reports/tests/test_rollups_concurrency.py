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
