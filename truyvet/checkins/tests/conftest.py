"""Venues for the check-in tests, made through the venues services: a
restaurant and a market in Thị trấn Thanh Nhật registered by the Hạ Lang
district officer for the venue owner, with the controller persona at the
restaurant only. Both have been in business for a month (``establish``), so
their door scans may carry any time of the retention period; the limits on
new venues and new staff are tested in tests/security/."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueType
from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add


def make_venue(personas: Any, *, name: str, venue_type: str, dwell: int | None = None) -> Venue:
    venue = venue_register(
        actor=personas.district_officer, name=name, venue_type=venue_type,
        commune=personas.units.thanh_nhat, street="Tổ 1",
        contact_phone=personas.venue_owner.phone,
    )
    if dwell is not None:
        Venue.objects.filter(pk=venue.pk).update(dwell_minutes=dwell)
        venue.refresh_from_db()
    return venue


def establish(venue: Venue, *, days: int = 30) -> Venue:
    """Moves the venue's approval and its current staff's joining ``days``
    back: a venue with a track record, whose door scans may be as old as
    the retention period (checkins.services.door._door_floor)."""
    since = timezone.now() - timedelta(days=days)
    Venue.objects.filter(pk=venue.pk).update(staff_checkins_from=since)
    VenueStaff.objects.filter(venue=venue).update(added_at=since)
    venue.refresh_from_db()
    return venue


@pytest.fixture
def restaurant(personas: Any) -> Venue:
    venue = make_venue(personas, name="Quán Phở Hạ Lang", venue_type=VenueType.RESTAURANT)
    invited = venue_staff_add(actor=personas.venue_owner, venue=venue,
                              phone=personas.controller.phone, role=StaffRole.CONTROLLER)
    venue_staff_accept(user=personas.controller, staff=invited)
    return establish(venue)


@pytest.fixture
def market(personas: Any) -> Venue:
    return establish(make_venue(personas, name="Chợ Thanh Nhật", venue_type=VenueType.MARKET))


@pytest.fixture
def login(client: Client) -> Callable[[Any], Client]:
    def as_user(user: Any) -> Client:
        client.force_login(user)
        return client

    return as_user


def post_json(client: Client, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, data=json.dumps(body, default=str),
                       content_type="application/json", **extra)


@pytest.fixture(autouse=True)
def _no_rate_limits_unless_asked(settings: Any) -> None:
    """Tests that are not about rate limits should not trip over them; the
    rate-limit tests set the limits they need."""
    settings.CHECKIN_RATELIMIT_IP_PER_MINUTE = 0
    settings.CHECKIN_RATELIMIT_USER_PER_MINUTE = 0
    settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE = 0
