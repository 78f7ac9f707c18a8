"""Scans exactly on the edges of the rules: a repeat exactly
CHECKIN_MERGE_MINUTES away (merged: the window is closed), a second beyond
it (a new visit), and a client id that a merged scan already used, sent
again for someone else (a conflict, not a new visit)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from truyvet.checkins.models import CheckIn, CheckInMethod, ScanOutcome, ScanReceipt
from truyvet.checkins.services import checkin_record
from truyvet.core.errors import ServiceError


def scan(venue: Any, person: Any, at: Any, **extra: Any) -> Any:
    return checkin_record(venue=venue, person=person, arrived_at=at,
                          method=CheckInMethod.CITIZEN_SCAN, **extra)


def merge_window() -> timedelta:
    return timedelta(minutes=settings.CHECKIN_MERGE_MINUTES)


@pytest.mark.django_db
class TestTheMergeWindowIsClosed:
    def test_a_repeat_exactly_the_merge_window_after_the_arrival_is_the_same_visit(
        self, personas: Any, restaurant: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=2)
        first = scan(restaurant, person, t0)

        again = scan(restaurant, person, t0 + merge_window())

        assert again.outcome == ScanOutcome.MERGED
        assert again.checkin.pk == first.checkin.pk
        assert CheckIn.objects.filter(person=person).count() == 1

    def test_a_late_synced_scan_exactly_the_merge_window_before_is_the_same_visit(
        self, personas: Any, restaurant: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=2)
        visit = scan(restaurant, person, t0).checkin

        earlier = scan(restaurant, person, t0 - merge_window())

        assert earlier.outcome == ScanOutcome.MERGED
        visit.refresh_from_db()
        assert visit.arrived_at == t0 - merge_window()
        assert CheckIn.objects.filter(person=person).count() == 1

    @pytest.mark.parametrize("direction", [1, -1], ids=["after", "before"])
    def test_a_microsecond_beyond_the_merge_window_is_a_new_visit(
        self, personas: Any, restaurant: Any, direction: int
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=2)
        scan(restaurant, person, t0)

        beyond = scan(restaurant, person,
                      t0 + direction * (merge_window() + timedelta(microseconds=1)))

        assert beyond.outcome == ScanOutcome.CREATED
        assert CheckIn.objects.filter(person=person).count() == 2


@pytest.mark.django_db
class TestAMergedScansClientId:
    """The scan merged into a visit has no row of its own: only its receipt
    remembers its client id."""

    @pytest.fixture
    def merged_id(self, personas: Any, restaurant: Any) -> uuid.UUID:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(minutes=20)
        scan(restaurant, person, t0)
        scan_id = uuid.uuid4()
        merged = scan(restaurant, person, t0 + timedelta(minutes=5), checkin_id=scan_id)
        assert merged.outcome == ScanOutcome.MERGED
        assert ScanReceipt.objects.filter(pk=scan_id).exists()
        return scan_id

    def test_reused_for_someone_else_is_a_conflict_not_a_new_visit(
        self, personas: Any, restaurant: Any, merged_id: uuid.UUID
    ) -> None:
        other = personas.other_citizen.person

        with pytest.raises(ServiceError) as caught:
            scan(restaurant, other, timezone.now(), checkin_id=merged_id)

        assert caught.value.code == "checkin_id_conflict"
        assert not CheckIn.objects.filter(person=other).exists()

    def test_reused_at_another_venue_is_a_conflict(
        self, personas: Any, market: Any, merged_id: uuid.UUID
    ) -> None:
        with pytest.raises(ServiceError) as caught:
            scan(market, personas.citizen.person, timezone.now(), checkin_id=merged_id)

        assert caught.value.code == "checkin_id_conflict"
        assert not CheckIn.objects.filter(venue=market).exists()
