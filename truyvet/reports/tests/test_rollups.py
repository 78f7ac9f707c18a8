"""The daily rollups: every figure equals a recount from the check-in table,
visits count on the local day they happened, and the retention purge keeps
the figures while deleting who was where."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.checkins.tasks import checkins_purge_expired
from truyvet.reports.models import NATION, PersonDay, VenueActivity, VenueDay
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
    visit,
)

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def _local(days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VIETNAM)


def test_a_visit_counts_on_the_local_day_of_its_arrival(places: Place) -> None:
    """06:30 in Vietnam is still the day before in UTC."""
    at = _local(2, 6, 30)
    assert at.astimezone(ZoneInfo("UTC")).date() != at.date()
    visit(places["market"], places.people[0], at)
    assert VenueDay.objects.get().day == at.date()
    assert rolled_up() == recount()


def test_a_person_at_two_venues_of_a_commune_counts_once_there(
    personas: Any, places: Place
) -> None:
    hoa = places.people[0]
    visit(places["market"], hoa, _local(1, 8))
    visit(places["shop"], hoa, _local(1, 9))
    visit(places["clinic"], hoa, _local(1, 10))
    scans, people = rolled_up()
    day = _local(1, 8).date()
    thanh_nhat, an_lac = personas.units.thanh_nhat.pk, personas.units.an_lac.pk
    assert (scans[(thanh_nhat, "", day)], people[(thanh_nhat, "", day)]) == (2, 1)
    assert (scans[(an_lac, "", day)], people[(an_lac, "", day)]) == (1, 1)
    assert (scans[(personas.units.ha_lang.pk, "", day)],
            people[(personas.units.ha_lang.pk, "", day)]) == (3, 1)
    assert people[(NATION, "shop", day)] == 1
    assert (scans, people) == recount()


def test_a_late_offline_sync_lands_on_the_day_of_the_scans(places: Place) -> None:
    """A controller's phone queued scans four days ago and uploads them now,
    after visits of later days were recorded."""
    visit(places["market"], places.people[0], _local(1, 9))
    for n, person in enumerate(places.people[1:4]):
        visit(places["market"], person, _local(4, 23, 10 + n), received=timezone.now())
    scans, people = rolled_up()
    assert scans[(NATION, "", _local(4, 23).date())] == 3
    assert people[(NATION, "", _local(4, 23).date())] == 3
    assert (scans, people) == recount()
    assert VenueActivity.objects.get(venue=places["market"]).last_scan_at == _local(1, 9)


def test_recording_rows_in_one_batch_equals_recording_them_one_by_one(places: Place) -> None:
    rows = [
        (places[name].pk, person.pk, _local(days, hour))
        for days, name in ((1, "market"), (1, "shop"), (2, "clinic"), (3, "pharmacy"))
        for hour, person in zip((8, 9, 23), places.people, strict=False)
    ]
    for venue_id, person_id, at in rows:
        CheckIn.objects.create(venue_id=venue_id, person_id=person_id, arrived_at=at,
                               ends_at=at + timedelta(minutes=30), method="manual")
    rollups_record(rows=rows)
    assert rolled_up() == recount()
    assert venue_days_rolled_up() == venue_days_recounted()


def test_recording_costs_the_same_queries_for_one_row_or_many(places: Place) -> None:
    def cost(rows: list[tuple[int, int, datetime]]) -> int:
        with CaptureQueriesContext(connection) as captured:
            rollups_record(rows=rows)
        return len(captured)

    people = places.people
    first = cost([(places["market"].pk, people[0].pk, _local(1, 8))])
    everyone = cost([(places["market"].pk, p.pk, _local(1, 8, n)) for n, p in enumerate(people)])
    # Already out that day, now somewhere new: their person-days are read and written.
    one = cost([(places["shop"].pk, people[0].pk, _local(1, 9))])
    many = cost([(places[("shop", "clinic", "pharmacy")[n % 3]].pk, people[n % 6].pk,
                  _local(1, 10, n % 60)) for n in range(300)])
    assert (first, one, many) == (5, 7, 7)
    assert everyone <= 7
    scans, distinct = rolled_up()
    day = _local(1, 8).date()
    assert (scans[(NATION, "", day)], distinct[(NATION, "", day)]) == (308, 6)
    assert distinct[(NATION, "shop", day)] == 4  # shop or pharmacy: people 0, 2, 3 and 5


def test_a_rebuild_gives_what_recording_gave(places: Place) -> None:
    for days in range(1, 6):
        for n, person in enumerate(places.people):
            venue = places[("market", "shop", "clinic", "pharmacy")[(days + n) % 4]]
            visit(venue, person, _local(days, 7 + n, 5 * n))
    recorded = rolled_up()
    recorded_venue_days = venue_days_rolled_up()
    activity = dict(VenueActivity.objects.values_list("venue_id", "last_scan_at"))

    report = rollups_rebuild(since=_local(6, 0), until=timezone.now() + timedelta(hours=1))

    assert report.checkins == CheckIn.objects.count()
    assert rolled_up() == recorded == recount()
    assert venue_days_rolled_up() == recorded_venue_days
    assert dict(VenueActivity.objects.values_list("venue_id", "last_scan_at")) == activity


def test_a_rebuild_picks_up_rows_loaded_behind_the_services_back(places: Place) -> None:
    visit(places["market"], places.people[0], _local(2, 9))
    visit(places["market"], places.people[1], _local(2, 10), record=False)
    visit(places["shop"], places.people[1], _local(1, 10), record=False)
    assert rolled_up() != recount()
    rollups_rebuild(since=_local(2, 0).date(), until=_local(1, 0).date())
    assert rolled_up() == recount()
    assert VenueActivity.objects.get(venue=places["shop"]).last_scan_at == _local(1, 10)


def test_refresh_follows_a_visit_whose_arrival_moved_back_past_midnight(
    places: Place
) -> None:
    """A late-synced earlier scan merged into a visit moves its arrival back
    to the day before (checkins.services, rule 2)."""
    checkin = visit(places["market"], places.people[0], _local(1, 0, 10))
    old = (places["market"].pk, places.people[0].pk, checkin.arrived_at)
    CheckIn.objects.filter(pk=checkin.pk).update(arrived_at=_local(2, 23, 50))
    rollups_refresh(rows=[old, (old[0], old[1], _local(2, 23, 50))])
    assert rolled_up() == recount()
    assert venue_days_rolled_up() == venue_days_recounted()


def test_refresh_follows_visits_moved_to_the_account_that_adopted_them(
    places: Place
) -> None:
    """A guest registers: their visits move to the account's person, so two
    people become one (checkins_adopt_guest)."""
    guest, account = places.people[4], places.people[5]
    visit(places["market"], guest, _local(1, 8))
    visit(places["shop"], account, _local(1, 9))
    moved = list(CheckIn.objects.filter(person=guest)
                 .values_list("venue_id", "person_id", "arrived_at"))
    CheckIn.objects.filter(person=guest).update(person=account)
    rollups_refresh(rows=[*moved, *((v, account.pk, at) for v, _p, at in moved)])
    assert rolled_up() == recount()
    assert not PersonDay.objects.filter(person_id=guest.pk).exists()


def test_refresh_follows_deleted_rows_and_forgets_a_last_scan_that_is_gone(
    places: Place
) -> None:
    checkin = visit(places["clinic"], places.people[2], _local(1, 11))
    row = (places["clinic"].pk, places.people[2].pk, checkin.arrived_at)
    checkin.delete()
    rollups_refresh(rows=[row])
    assert rolled_up() == recount()
    assert not VenueDay.objects.exists()
    assert not VenueActivity.objects.filter(venue=places["clinic"]).exists()


def test_the_purge_keeps_the_figures_and_deletes_who_was_where(
    settings: Any, places: Place
) -> None:
    settings.CHECKIN_RETENTION_DAYS = 3
    for days in (1, 2, 5, 6):
        visit(places["market"], places.people[days % 6], _local(days, 10))
    before = rolled_up()
    assert before == recount()
    horizon = first_open_day()

    assert checkins_purge_expired() == 2
    removed = rollups_purge_expired()

    assert rolled_up() == before  # history stays as it was counted
    assert removed > 0
    assert not PersonDay.objects.filter(day__lt=horizon - timedelta(days=1)).exists()
    scans_after, people_after = recount()
    for key, value in scans_after.items():  # the days still held agree with a recount
        assert before[0][key] == value
    for key, value in people_after.items():
        assert before[1][key] == value


def test_refresh_leaves_the_days_reached_by_the_purge_alone(
    settings: Any, places: Place
) -> None:
    settings.CHECKIN_RETENTION_DAYS = 3
    checkin = visit(places["market"], places.people[0], _local(6, 10))
    before = rolled_up()
    checkins_purge_expired()
    rollups_refresh(rows=[(places["market"].pk, places.people[0].pk, checkin.arrived_at)])
    assert rolled_up() == before
    assert VenueActivity.objects.get(venue=places["market"]).last_scan_at == _local(6, 10)


def test_recording_refuses_times_without_a_zone_and_unknown_venues(places: Place) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        rollups_record(rows=[(places["market"].pk, places.people[0].pk,
                              datetime(2021, 11, 15, 8, 0))])  # noqa: DTZ001
    with pytest.raises(ValueError, match="does not exist"):
        rollups_record(rows=[(999_999, places.people[0].pk, timezone.now())])
    assert not VenueDay.objects.exists()
