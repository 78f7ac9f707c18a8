"""A testing site in Thị trấn Thanh Nhật run by the venue owner, with the
controller on its staff (for the issue 16 tests and the demo's shape)."""

from __future__ import annotations

from typing import Any

from truyvet.venues.models import Venue, VenueType
from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add


def make_testing_site(personas: Any, name: str = "Điểm xét nghiệm TTYT Hạ Lang") -> Venue:
    site = venue_register(
        actor=personas.district_officer, name=name, venue_type=VenueType.TESTING,
        commune=personas.units.thanh_nhat, street="Phố Thanh Nhật",
        contact_phone=personas.venue_owner.phone)
    invited = venue_staff_add(actor=personas.venue_owner, venue=site,
                              phone=personas.controller.phone, role="controller", notify=False)
    venue_staff_accept(user=personas.controller, staff=invited)
    return site
