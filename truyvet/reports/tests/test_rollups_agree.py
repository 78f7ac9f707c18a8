"""Randomised: whatever the visits, the order and batches in which they
arrive (late offline syncs), the corrections made to them and the retention
purge, the rollups equal a recount from the check-in table; days the purge
reached keep the figures they had."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from truyvet.checkins.models import CheckIn
from truyvet.checkins.tasks import checkins_purge_expired
from truyvet.reports.models import VenueActivity
from truyvet.reports.rollups import (
    first_open_day,
    rollups_purge_expired,
    rollups_rebuild,
    rollups_record,
    rollups_refresh,
)
from truyvet.reports.tests.conftest import (
    Place,
    recount,
    rolled_up,
    venue_days_recounted,
    venue_days_rolled_up,
)

NAMES = ("market", "shop", "clinic", "pharmacy")
visits = st.lists(
    st.tuples(
        st.integers(0, 3),  # venue
        st.integers(0, 5),  # person
        st.integers(0, 9 * 1440),  # minutes before now
    ),
    max_size=40,
)


def _latest_by_venue() -> dict[int, Any]:
    latest: dict[int, Any] = {}
    for venue_id, at in CheckIn.objects.values_list("venue_id", "arrived_at"):
        latest[venue_id] = max(at, latest.get(venue_id, at))
    return latest


@examples(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), planned=visits)
def test_the_rollups_agree_with_a_recount(
    places: Place, settings: Any, data: st.DataObject, planned: list[tuple[int, int, int]]
) -> None:
    now = timezone.now()
    settings.CHECKIN_RETENTION_DAYS = 21  # an earlier example may have lowered it
    with transaction.atomic():
        rows = []
        for venue, person, minutes in planned:
            at = now - timedelta(minutes=minutes)
            checkin = CheckIn.objects.create(
                id=uuid.uuid4(), venue=places[NAMES[venue]], person=places.people[person],
                arrived_at=at, ends_at=at + timedelta(minutes=30), method="manual",
            )
            rows.append((checkin.venue_id, checkin.person_id, at, checkin.pk))

        # Uploads arrive in any order and in batches of any size.
        order = data.draw(st.permutations(rows), label="arrival order")
        cuts = sorted(data.draw(st.sets(st.integers(1, max(len(order), 1)), max_size=5),
                                label="batch boundaries"))
        start = 0
        for end in [*cuts, len(order)]:
            rollups_record(rows=[row[:3] for row in order[start:end]])
            start = max(start, end)
        assert rolled_up() == recount()
        assert venue_days_rolled_up() == venue_days_recounted()
        assert dict(VenueActivity.objects.values_list("venue_id", "last_scan_at")) == (
            _latest_by_venue())

        # Corrections: arrivals moved back (merges), a guest adopted by an account.
        changed: list[tuple[int, int, Any]] = []
        for venue_id, person_id, at, pk in data.draw(
            st.lists(st.sampled_from(rows), max_size=4, unique=True) if rows else st.just([]),
            label="moved back",
        ):
            earlier = at - timedelta(minutes=data.draw(st.integers(1, 45)))
            CheckIn.objects.filter(pk=pk).update(arrived_at=earlier)
            changed += [(venue_id, person_id, at), (venue_id, person_id, earlier)]
        if data.draw(st.booleans(), label="adopt"):
            guest, account = places.people[4], places.people[5]
            moved = list(CheckIn.objects.filter(person=guest)
                         .values_list("venue_id", "person_id", "arrived_at"))
            CheckIn.objects.filter(person=guest).update(person=account)
            changed += [*moved, *((v, account.pk, at) for v, _p, at in moved)]
        rollups_refresh(rows=changed, now=now)
        assert rolled_up() == recount()
        assert venue_days_rolled_up() == venue_days_recounted()

        # The retention purge: history stays, the open days still agree.
        retention = data.draw(st.integers(1, 8), label="retention days")
        settings.CHECKIN_RETENTION_DAYS = retention
        before = rolled_up()
        checkins_purge_expired(now=now)
        rollups_purge_expired(now=now)
        assert rolled_up() == before
        opened = first_open_day(now)
        after_scans, after_people = recount()
        for figures, recounted in zip(rolled_up(), (after_scans, after_people), strict=True):
            open_days = Counter({k: v for k, v in figures.items() if k[2] >= opened})
            assert open_days == Counter({k: v for k, v in recounted.items() if k[2] >= opened})

        # Rebuilding the open days changes nothing.
        rollups_rebuild(since=opened, until=timezone.localdate(now))
        assert rolled_up() == before
        transaction.set_rollback(True)
