"""Fixtures for declarations: a checkpoint at Hạ Lang's entrance with the
controller persona, and helpers to declare through the real services."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.checkins.tests.conftest import establish, make_venue
from truyvet.core.time import local_day
from truyvet.declarations.services import DeclarationInput
from truyvet.venues.models import StaffRole, Venue, VenueType
from truyvet.venues.services import venue_staff_accept, venue_staff_add


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    settings.CHECKIN_RATELIMIT_IP_PER_MINUTE = 0
    settings.CHECKIN_RATELIMIT_USER_PER_MINUTE = 0
    settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE = 0


@pytest.fixture
def checkpoint(personas: Any) -> Venue:
    venue = make_venue(personas, name="Chốt kiểm soát cửa ngõ Hạ Lang",
                       venue_type=VenueType.CHECKPOINT)
    invited = venue_staff_add(actor=personas.venue_owner, venue=venue,
                              phone=personas.controller.phone, role=StaffRole.CONTROLLER)
    venue_staff_accept(user=personas.controller, staff=invited)
    return establish(venue)


def today() -> date:
    return local_day(timezone.now())


def movement(personas: Any, **changes: Any) -> DeclarationInput:
    """Nguyễn Thị Hoa drives from Quảng Hòa home to Thanh Nhật tomorrow."""
    units = personas.units
    fields: dict[str, Any] = dict(
        kind="movement", full_name="Nguyễn Thị Hoa", birth_year=1990, sex="female",
        id_number="004190123456", commune=units.thanh_nhat.code, street="Tổ 3, phố Thanh Nhật",
        phone="0912000007", consent=True, vehicle="private",
        origin=units.quang_hoa_commune.code, origin_point="Chợ Quảng Uyên",
        destination=units.thanh_nhat.code, destination_point="Nhà riêng",
        plate="11A-123.45", departure_date=today() + timedelta(days=1),
    )
    fields.update(changes)
    return DeclarationInput(**fields)


def health(personas: Any, **changes: Any) -> DeclarationInput:
    fields: dict[str, Any] = dict(
        kind="health", full_name="Nguyễn Thị Hoa", birth_year=1990, sex="female",
        id_number="004190123456", commune=personas.units.thanh_nhat.code,
        street="Tổ 3, phố Thanh Nhật", phone="0912000007", consent=True,
    )
    fields.update(changes)
    return DeclarationInput(**fields)
