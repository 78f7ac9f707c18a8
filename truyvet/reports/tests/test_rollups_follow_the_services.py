"""Whoever writes check-in rows keeps the rollups right: each path that
writes them, driven through the check-in and account services (which reach
the rollups only through checkins.hooks and accounts.hooks), leaves every
figure equal to a recount from the check-in table once the worker's fold
has run (``rollups_fold``, decision 0022)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from truyvet.checkins.models import CheckIn, DepartureKind, ScanOutcome
from truyvet.checkins.services import (
    BatchItem,
    BatchKind,
    checkin_guest,
    checkin_record,
    checkins_adopt_guest,
    checkins_after_bulk_load,
    checkins_batch,
)
from truyvet.reports.models import PersonDay
from truyvet.reports.rollups import rollups_fold
from truyvet.reports.tests.conftest import (
    Place,
    recount,
    rolled_up,
    venue_days_recounted,
    venue_days_rolled_up,
)
from truyvet.testing import register_user
from truyvet.venues.qr import venue_qr_payload

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def _local(days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VIETNAM)


def _agree() -> bool:
    """The rollups equal a recount, after the fold the worker runs every few
    seconds (scans only note what they wrote)."""
    rollups_fold()
    return rolled_up() == recount() and venue_days_rolled_up() == venue_days_recounted()


def test_a_recorded_scan_is_counted(places: Place) -> None:
    checkin_record(venue=places["market"], person=places.people[0],
                   arrived_at=_local(1, 9), method="manual")
    assert CheckIn.objects.count() == 1 and _agree()


def test_a_late_scan_merged_into_a_visit_moves_it_to_the_day_before(places: Place) -> None:
    venue, person = places["market"], places.people[0]
    checkin_record(venue=venue, person=person, arrived_at=_local(2, 0, 10), method="manual")
    merged = checkin_record(venue=venue, person=person, arrived_at=_local(3, 23, 50),
                            method="manual")
    assert merged.outcome == ScanOutcome.MERGED
    assert merged.checkin.arrived_at == _local(3, 23, 50)
    assert _agree()


def test_an_offline_batch_that_moves_a_visit_back_keeps_the_figures(places: Place) -> None:
    citizen, payload = places.personas.citizen, venue_qr_payload(places["market"])

    def scan(at: datetime) -> BatchItem:
        return BatchItem(id=uuid.uuid4(), kind=BatchKind.CITIZEN_SCAN, venue=payload,
                         scanned_at=at)

    first = checkins_batch(actor=citizen, items=[scan(_local(2, 0, 10))])
    later = checkins_batch(actor=citizen, items=[scan(_local(3, 23, 50))])
    assert [r.ok for r in first + later] == [True, True]
    assert CheckIn.objects.get().arrived_at == _local(3, 23, 50)
    assert _agree()


def test_adopting_the_offered_guest_visits_makes_two_people_one(
    places: Place
) -> None:
    guest = [
        checkin_guest(venue=venue, full_name="Phạm Văn Khách", phone="0977123456",
                      arrived_at=_local(1, 9)).checkin.person_id
        for venue in (places["market"], places["shop"])
    ][0]
    user = register_user(phone="0977123456", full_name="Phạm Văn Khách",
                         commune=places.personas.units.thanh_nhat)
    # Registering only offers them (issue 12); the holder adopts them.
    assert set(CheckIn.objects.values_list("person_id", flat=True)) == {guest}
    assert _agree()
    assert checkins_adopt_guest(user=user) == 2
    assert set(CheckIn.objects.values_list("person_id", flat=True)) == {user.person_id}
    assert _agree()  # folds the adoption first
    assert not PersonDay.objects.filter(person_id=guest).exists()


def test_a_bulk_load_behind_the_services_is_counted_once_announced(places: Place) -> None:
    at = _local(1, 9)
    CheckIn.objects.bulk_create([
        CheckIn(id=uuid.uuid4(), venue=places[name], person=person, arrived_at=at,
                received_at=at, ends_at=at + timedelta(minutes=30),
                departure_kind=DepartureKind.ESTIMATED, method="manual")
        for name in ("market", "clinic") for person in places.people[:3]
    ])
    assert not _agree()
    checkins_after_bulk_load(since=_local(2, 0), until=_local(0, 0))
    assert _agree()


def test_merges_across_midnight_on_every_path_keep_the_figures(places: Place) -> None:
    """Issue 18: single scans, door scans and an offline batch, each merging
    a late scan that moves a visit's arrival back across midnight, and a
    later arrival elsewhere that ends an earlier visit (rule 5), for three
    people: the rollups still equal a recount, day by day."""
    from truyvet.checkins.personal_qr import personal_qr_token
    from truyvet.checkins.services import checkin_staff_scan
    from truyvet.venues.models import StaffRole, Venue, VenueStaff

    market, shop = places["market"], places["shop"]
    controller = places.personas.controller
    for venue in (market, shop):
        VenueStaff.objects.create(venue=venue, phone=controller.phone, user=controller,
                                  role=StaffRole.CONTROLLER, added_at=_local(20, 0))
    Venue.objects.filter(pk__in=[market.pk, shop.pk]).update(staff_checkins_from=_local(20, 0))
    market.refresh_from_db()
    shop.refresh_from_db()
    walker, carded = places.people[0], places.people[1]
    # A single scan after midnight, then a late one before it: merged, moved back.
    checkin_record(venue=market, person=walker, arrived_at=_local(2, 0, 10), method="manual")
    checkin_record(venue=market, person=walker, arrived_at=_local(3, 23, 50), method="manual")
    # The shop at 23:55 the day before ends the market visit there (rule 5).
    checkin_record(venue=shop, person=walker, arrived_at=_local(3, 23, 55), method="manual")
    market_visit = CheckIn.objects.get(venue=market, person=walker)
    assert market_visit.arrived_at == _local(3, 23, 50)
    assert market_visit.ends_at == _local(3, 23, 55)
    assert _agree()
    # A door scan of a card, the same way round.
    card = personal_qr_token(carded)
    checkin_staff_scan(controller=controller, venue=shop, payload=card,
                       scanned_at=_local(2, 0, 5))
    checkin_staff_scan(controller=controller, venue=shop, payload=card,
                       scanned_at=_local(3, 23, 40))
    assert CheckIn.objects.get(person=carded).arrived_at == _local(3, 23, 40)
    assert _agree()
    # An offline batch from a citizen's phone: after midnight, then before it.
    citizen, payload = places.personas.citizen, venue_qr_payload(market)
    for at in (_local(1, 0, 20), _local(2, 23, 55)):
        [done] = checkins_batch(actor=citizen, items=[BatchItem(
            id=uuid.uuid4(), kind=BatchKind.CITIZEN_SCAN, venue=payload, scanned_at=at)])
        assert done.ok
    assert CheckIn.objects.get(person=citizen.person).arrived_at == _local(2, 23, 55)
    assert _agree()


def test_every_path_that_writes_check_ins_keeps_the_rollups_equal_to_a_recount(
    places: Place, settings: Any
) -> None:
    """Issue 18: one run through every writing path, the fold run at
    different points (after each path, and once over several paths whose
    notes waited together), each time compared with a recount: single
    scans, a door scan, a batch (new visits and a merge across midnight in
    one run), a guest's visits and their adoption, records merged between
    people, the retention purge and a bulk load behind the services."""
    from truyvet.checkins.personal_qr import personal_qr_token
    from truyvet.checkins.services import checkin_staff_scan, checkins_move_to_person
    from truyvet.checkins.tasks import checkins_purge_expired
    from truyvet.reports.models import VenueActivity
    from truyvet.reports.rollups import rollups_purge_expired
    from truyvet.venues.models import StaffRole, Venue, VenueStaff

    market, shop, clinic = places["market"], places["shop"], places["clinic"]
    controller = places.personas.controller
    VenueStaff.objects.create(venue=shop, phone=controller.phone, user=controller,
                              role=StaffRole.CONTROLLER, added_at=_local(20, 0))
    Venue.objects.filter(pk=shop.pk).update(staff_checkins_from=_local(20, 0))
    shop.refresh_from_db()
    one, two, three = places.people[:3]

    # Single scans, ten days back and yesterday; then a merge across midnight.
    checkin_record(venue=market, person=one, arrived_at=_local(10, 9), method="manual")
    checkin_record(venue=clinic, person=one, arrived_at=_local(1, 0, 5), method="manual")
    assert _agree()
    checkin_record(venue=clinic, person=one, arrived_at=_local(2, 23, 45), method="manual")
    assert CheckIn.objects.get(venue=clinic).arrived_at == _local(2, 23, 45)
    assert _agree()

    # A door scan, and a batch whose one run adds two visits and merges a
    # third scan back across midnight, all waiting for the same fold as a
    # scan that is merged across midnight on its own.
    checkin_staff_scan(controller=controller, venue=shop, payload=personal_qr_token(two),
                       scanned_at=_local(3, 0, 10))
    checkin_staff_scan(controller=controller, venue=shop, payload=personal_qr_token(two),
                       scanned_at=_local(4, 23, 55))
    citizen, payload = places.personas.citizen, venue_qr_payload(market)
    done = checkins_batch(actor=citizen, items=[
        BatchItem(id=uuid.uuid4(), kind=BatchKind.CITIZEN_SCAN, venue=payload, scanned_at=at)
        for at in (_local(5, 0, 20), _local(5, 12), _local(6, 23, 55))
    ])
    assert [item.ok for item in done] == [True, True, True]
    assert sorted(CheckIn.objects.filter(person=citizen.person)
                  .values_list("arrived_at", flat=True)) == [_local(6, 23, 55), _local(5, 12)]
    assert _agree()

    # A guest's visits, adopted by the account registered under their phone.
    for venue in (market, clinic):
        checkin_guest(venue=venue, full_name="Phạm Văn Khách", phone="0977123456",
                      arrived_at=_local(1, 10))
    user = register_user(phone="0977123456", full_name="Phạm Văn Khách",
                         commune=places.personas.units.thanh_nhat)
    assert checkins_adopt_guest(user=user) == 2  # noted, folded below with the next path
    # Records merged: the third resident turns out to be the first.
    checkin_record(venue=market, person=three, arrived_at=_local(1, 10), method="manual")
    checkin_record(venue=clinic, person=three, arrived_at=_local(2, 8), method="manual")
    assert checkins_move_to_person(sources=[three.pk], person=one) == 2
    assert not CheckIn.objects.filter(person=three).exists()
    assert _agree()
    assert not PersonDay.objects.filter(person_id=three.pk).exists()

    # The retention purge: purged days keep their figures, open days agree.
    before = rolled_up()
    settings.CHECKIN_RETENTION_DAYS = 7
    assert checkins_purge_expired() == 1  # the market visit ten days back
    rollups_purge_expired()
    rollups_fold()
    assert rolled_up() == before
    opened = _local(0, 0).date() - timedelta(days=6)
    for figures, recounted in zip(rolled_up(), recount(), strict=True):
        assert {k: v for k, v in figures.items() if k[2] >= opened} == dict(recounted)

    # A bulk load behind the services, announced: counted once, with the
    # notes of a scan that waits for the same fold.
    at = _local(1, 15)
    CheckIn.objects.bulk_create([
        CheckIn(id=uuid.uuid4(), venue=shop, person=person, arrived_at=at, received_at=at,
                ends_at=at + timedelta(minutes=30), departure_kind=DepartureKind.ESTIMATED,
                method="manual")
        for person in places.people[3:6]
    ])
    checkin_record(venue=shop, person=one, arrived_at=_local(1, 16), method="manual")
    checkins_after_bulk_load(since=_local(1, 0), until=_local(0, 0))
    scans, people = rolled_up()
    assert {k: v for k, v in scans.items() if k[2] >= opened} == dict(recount()[0])
    assert {k: v for k, v in people.items() if k[2] >= opened} == dict(recount()[1])
    assert dict(VenueActivity.objects.values_list("venue_id", "last_scan_at")) == {
        market.pk: _local(1, 10), shop.pk: _local(1, 16), clinic.pk: _local(1, 10)}


def test_a_fold_counts_each_noted_write_once(places: Place) -> None:
    checkin_record(venue=places["market"], person=places.people[0],
                   arrived_at=_local(1, 9), method="manual")
    first = rollups_fold()
    again = rollups_fold()
    assert (first.added, again.added) == (1, 0)
    assert _agree()


def test_the_worker_task_folds_what_the_scans_noted(places: Place) -> None:
    from truyvet.reports.tasks import reports_fold_rollups

    checkin_record(venue=places["market"], person=places.people[0],
                   arrived_at=_local(1, 9), method="manual")
    # seconds=0: one fold and back (the scheduled run folds for a while).
    assert reports_fold_rollups(seconds=0) == {"folds": 1, "added": 1, "changed": 0}
    assert rolled_up() == recount()
