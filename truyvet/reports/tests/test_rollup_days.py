"""A visit counts on its local day (Asia/Ho_Chi_Minh, UTC+7) whatever zone
its time comes in: fixed examples near local midnight, in the hours when
UTC is still on the day before. Phones send scan times in UTC and the
database returns them in UTC, so every entry point gets them that way."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.checkins.services import checkin_record
from truyvet.reports.models import PersonDay, VenueDay
from truyvet.reports.rollups import rollups_fold, rollups_rebuild, rollups_refresh
from truyvet.reports.tests.conftest import (
    Place,
    recount,
    rolled_up,
    venue_days_recounted,
    venue_days_rolled_up,
    visit,
)

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = ZoneInfo("UTC")


def local(days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VIETNAM)


def test_a_scan_sent_in_utc_at_6_30_local_counts_on_the_local_day(places: Place) -> None:
    at = local(2, 6, 30).astimezone(UTC)  # 23:30 UTC, the day before
    assert at.date() != local(2, 6, 30).date()

    checkin_record(venue=places["market"], person=places.people[0], arrived_at=at,
                   method="manual")
    rollups_fold()  # the worker's, which counts the noted scan (decision 0022)

    assert list(VenueDay.objects.values_list("day", flat=True)) == [local(2, 0).date()]
    assert list(PersonDay.objects.values_list("day", flat=True)) == [local(2, 0).date()]
    assert rolled_up() == recount()


def test_a_rebuild_splits_days_at_local_midnight(places: Place) -> None:
    # 23:30 and 00:30 local, loaded behind the services' back, in UTC.
    visit(places["market"], places.people[0], local(3, 23, 30).astimezone(UTC), record=False)
    visit(places["market"], places.people[1], local(2, 0, 30).astimezone(UTC), record=False)

    rollups_rebuild(since=local(3, 0).date(), until=local(2, 0).date())

    assert venue_days_rolled_up() == venue_days_recounted()
    assert sorted(VenueDay.objects.values_list("day", "scans")) == [
        (local(3, 0).date(), 1), (local(2, 0).date(), 1)]
    assert rolled_up() == recount()


def test_a_refresh_after_an_arrival_moved_back_past_local_midnight_moves_the_count(
    places: Place,
) -> None:
    checkin = visit(places["market"], places.people[0], local(2, 0, 10).astimezone(UTC))
    moved = local(3, 23, 50).astimezone(UTC)  # both on the same UTC day
    CheckIn.objects.filter(pk=checkin.pk).update(arrived_at=moved)
    venue, person = places["market"].pk, places.people[0].pk

    rollups_refresh(rows=[(venue, person, checkin.arrived_at), (venue, person, moved)])

    assert sorted(VenueDay.objects.values_list("day", "scans")) == [(local(3, 0).date(), 1)]
    assert venue_days_rolled_up() == venue_days_recounted()
    assert rolled_up() == recount()
