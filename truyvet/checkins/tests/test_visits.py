"""How scans become visits: the merge window, check-out by the citizen and
by an exit scan, and the estimated end of a visit nobody checked out of."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind, ScanOutcome
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.services import (
    checkin_checkout,
    checkin_record,
    checkin_staff_scan,
)
from truyvet.core.errors import ServiceError
from truyvet.venues.models import DEFAULT_DWELL_MINUTES, VenueStatus, VenueType
from truyvet.venues.services import venue_status_change

from .conftest import make_venue


def scan(venue: Any, person: Any, at: Any, method: str = CheckInMethod.CITIZEN_SCAN,
         **extra: Any) -> Any:
    return checkin_record(venue=venue, person=person, arrived_at=at, method=method, **extra)


@pytest.mark.django_db
class TestMergeWindow:
    def test_a_repeat_scan_within_30_minutes_is_the_same_visit(
        self, personas: Any, restaurant: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=2)
        first = scan(restaurant, person, t0)
        again = scan(restaurant, person, t0 + timedelta(minutes=29))
        assert first.outcome == ScanOutcome.CREATED
        assert again.outcome == ScanOutcome.MERGED
        assert again.checkin.pk == first.checkin.pk
        assert CheckIn.objects.filter(person=person).count() == 1

    def test_a_scan_after_the_window_is_a_new_visit(
        self, personas: Any, restaurant: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=3)
        scan(restaurant, person, t0)
        later = scan(restaurant, person, t0 + timedelta(minutes=31))
        assert later.outcome == ScanOutcome.CREATED
        assert CheckIn.objects.filter(person=person).count() == 2

    def test_the_window_is_a_setting(self, personas: Any, restaurant: Any, settings: Any) -> None:
        settings.CHECKIN_MERGE_MINUTES = 5
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=2)
        scan(restaurant, person, t0)
        assert scan(restaurant, person, t0 + timedelta(minutes=6)).outcome == ScanOutcome.CREATED

    def test_a_late_synced_earlier_scan_moves_the_arrival_back(
        self, personas: Any, restaurant: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=2)
        visit = scan(restaurant, person, t0).checkin
        earlier = scan(restaurant, person, t0 - timedelta(minutes=10))
        assert earlier.outcome == ScanOutcome.MERGED
        visit.refresh_from_db()
        assert visit.arrived_at == t0 - timedelta(minutes=10)

    def test_scans_at_different_venues_are_different_visits(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=1)
        scan(restaurant, person, t0)
        assert scan(market, person, t0 + timedelta(minutes=5)).outcome == ScanOutcome.CREATED

    def test_the_same_scan_id_twice_is_one_row_reported_as_duplicate(
        self, personas: Any, restaurant: Any
    ) -> None:
        person, t0, scan_id = personas.citizen.person, timezone.now(), uuid.uuid4()
        first = scan(restaurant, person, t0, checkin_id=scan_id)
        second = scan(restaurant, person, t0, checkin_id=scan_id)
        assert (first.duplicate, second.duplicate) == (False, True)
        assert first.checkin.pk == second.checkin.pk == scan_id
        assert CheckIn.objects.count() == 1

    def test_a_merged_scan_id_repeated_gives_the_same_answer(
        self, personas: Any, restaurant: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(minutes=20)
        visit = scan(restaurant, person, t0).checkin
        repeat_id = uuid.uuid4()
        first = scan(restaurant, person, t0 + timedelta(minutes=5), checkin_id=repeat_id)
        again = scan(restaurant, person, t0 + timedelta(minutes=5), checkin_id=repeat_id)
        assert first.outcome == again.outcome == ScanOutcome.MERGED
        assert first.checkin.pk == again.checkin.pk == visit.pk
        assert again.duplicate

    def test_a_scan_id_reused_for_someone_else_is_a_conflict(
        self, personas: Any, restaurant: Any
    ) -> None:
        scan_id = uuid.uuid4()
        scan(restaurant, personas.citizen.person, timezone.now(), checkin_id=scan_id)
        with pytest.raises(ServiceError) as exc:
            scan(restaurant, personas.other_citizen.person, timezone.now(), checkin_id=scan_id)
        assert exc.value.code == "checkin_id_conflict"


@pytest.mark.django_db
class TestDwellAndCheckout:
    @pytest.mark.parametrize("venue_type", [VenueType.RESTAURANT, VenueType.SCHOOL,
                                            VenueType.CHECKPOINT, VenueType.LODGING])
    def test_an_unchecked_out_visit_ends_after_the_venue_types_dwell_time(
        self, personas: Any, venue_type: str
    ) -> None:
        venue = make_venue(personas, name=f"Nơi {venue_type}", venue_type=venue_type)
        t0 = timezone.now() - timedelta(minutes=5)
        visit = scan(venue, personas.citizen.person, t0).checkin
        assert visit.ends_at == t0 + timedelta(minutes=DEFAULT_DWELL_MINUTES[venue_type])
        assert visit.departure_kind == DepartureKind.ESTIMATED

    def test_a_venue_can_set_its_own_dwell_time(self, personas: Any) -> None:
        venue = make_venue(personas, name="Quán cà phê", venue_type=VenueType.RESTAURANT,
                           dwell=25)
        t0 = timezone.now()
        assert scan(venue, personas.citizen.person, t0).checkin.ends_at == (
            t0 + timedelta(minutes=25)
        )

    def test_the_citizen_taps_leaving(self, personas: Any, restaurant: Any) -> None:
        t0 = timezone.now() - timedelta(minutes=20)
        visit = scan(restaurant, personas.citizen.person, t0).checkin
        left = checkin_checkout(actor=personas.citizen, checkin=visit)
        assert left.departure_kind == DepartureKind.CITIZEN
        assert t0 < left.ends_at <= timezone.now()

    def test_tapping_leaving_twice_keeps_the_first_departure(
        self, personas: Any, restaurant: Any
    ) -> None:
        visit = scan(restaurant, personas.citizen.person, timezone.now()).checkin
        first = checkin_checkout(actor=personas.citizen, checkin=visit)
        second = checkin_checkout(actor=personas.citizen, checkin=visit,
                                  at=timezone.now() + timedelta(minutes=5))
        assert second.ends_at == first.ends_at

    def test_nobody_else_can_check_a_citizen_out(self, personas: Any, restaurant: Any) -> None:
        visit = scan(restaurant, personas.citizen.person, timezone.now()).checkin
        for other in (personas.other_citizen, personas.district_officer, personas.controller):
            with pytest.raises(ServiceError) as exc:
                checkin_checkout(actor=other, checkin=visit)
            assert exc.value.status == 404

    def test_a_second_controller_scan_while_inside_is_the_exit(
        self, personas: Any, restaurant: Any
    ) -> None:
        token = personal_qr_token(personas.citizen.person)
        t0 = timezone.now() - timedelta(minutes=45)
        entry = checkin_staff_scan(controller=personas.controller, venue=restaurant,
                                   payload=token, scanned_at=t0)
        exit_at = t0 + timedelta(minutes=40)
        leaving = checkin_staff_scan(controller=personas.controller, venue=restaurant,
                                     payload=token, scanned_at=exit_at)
        assert leaving.result.outcome == ScanOutcome.CHECKED_OUT
        assert leaving.result.checkin.pk == entry.result.checkin.pk
        visit = CheckIn.objects.get()
        assert (visit.ends_at, visit.departure_kind) == (exit_at, DepartureKind.EXIT_SCAN)

    def test_a_double_beep_at_the_door_is_merged_not_an_exit(
        self, personas: Any, restaurant: Any
    ) -> None:
        token = personal_qr_token(personas.citizen.person)
        t0 = timezone.now() - timedelta(minutes=10)
        checkin_staff_scan(controller=personas.controller, venue=restaurant, payload=token,
                           scanned_at=t0)
        again = checkin_staff_scan(controller=personas.controller, venue=restaurant,
                                   payload=token, scanned_at=t0 + timedelta(seconds=3))
        assert again.result.outcome == ScanOutcome.MERGED
        assert CheckIn.objects.get().departure_kind == DepartureKind.ESTIMATED

    def test_a_scan_after_the_estimated_end_is_a_new_visit(
        self, personas: Any, restaurant: Any
    ) -> None:
        token = personal_qr_token(personas.citizen.person)
        t0 = timezone.now() - timedelta(hours=5)
        checkin_staff_scan(controller=personas.controller, venue=restaurant, payload=token,
                           scanned_at=t0)
        later = checkin_staff_scan(controller=personas.controller, venue=restaurant,
                                   payload=token, scanned_at=t0 + timedelta(hours=3))
        assert later.result.outcome == ScanOutcome.CREATED
        assert CheckIn.objects.count() == 2


@pytest.mark.django_db
class TestRefusals:
    def test_a_suspended_venue_takes_no_check_ins(self, personas: Any, restaurant: Any) -> None:
        venue_status_change(actor=personas.district_officer, venue=restaurant,
                            status=VenueStatus.SUSPENDED, reason="Kiểm tra")
        with pytest.raises(ServiceError) as exc:
            scan(restaurant, personas.citizen.person, timezone.now())
        assert exc.value.code == "venue_inactive"
        assert not CheckIn.objects.exists()

    def test_a_scan_older_than_the_retention_period_is_refused(
        self, personas: Any, restaurant: Any
    ) -> None:
        with pytest.raises(ServiceError) as exc:
            scan(restaurant, personas.citizen.person, timezone.now() - timedelta(days=22))
        assert exc.value.code == "checkin_too_old"

    def test_a_scan_further_in_the_future_than_the_clock_skew_is_refused(
        self, personas: Any, restaurant: Any
    ) -> None:
        now = timezone.now()
        scan(restaurant, personas.citizen.person, now + timedelta(minutes=4))
        with pytest.raises(ServiceError) as exc:
            scan(restaurant, personas.other_citizen.person, now + timedelta(minutes=6))
        assert exc.value.code == "checkin_in_future"

    def test_the_server_records_when_it_received_the_scan(
        self, personas: Any, restaurant: Any
    ) -> None:
        scanned = timezone.now() - timedelta(hours=3)
        visit = scan(restaurant, personas.citizen.person, scanned).checkin
        assert visit.arrived_at == scanned
        assert visit.received_at > scanned + timedelta(hours=2)
