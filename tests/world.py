"""A small lived-in world for the cross-cutting tests (tests/test_hardening.py,
tests/fuzz_api.py): the personas, a restaurant in Thị trấn Thanh Nhật owned
by the venue owner with the controller at its door, yesterday's visits of
two citizens there, and a confirmed case (the citizen) that the district
officer has traced. Built through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from truyvet.testing import Personas


@dataclass
class World:
    personas: Personas
    venue: Any
    visits: list[Any]
    case: Any


def build_world(personas: Personas) -> World:
    from truyvet.checkins.services import checkin_record
    from truyvet.tracing.services import CaseInput, case_register, trace_run
    from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add

    venue = venue_register(
        actor=personas.district_officer, name="Quán Phở Thanh Nhật", venue_type="restaurant",
        commune=personas.units.thanh_nhat, street="Phố Thanh Nhật",
        contact_phone=personas.venue_owner.phone,
    )
    invited = venue_staff_add(
        actor=personas.venue_owner, venue=venue, phone=personas.controller.phone,
        role="controller", notify=False,
    )
    venue_staff_accept(user=personas.controller, staff=invited)
    arrived = timezone.now() - timedelta(days=1)
    visits = [
        checkin_record(
            venue=venue, person=user.person, arrived_at=arrived + timedelta(minutes=minutes),
            method="citizen_scan",
        ).checkin
        for minutes, user in ((0, personas.citizen), (10, personas.other_citizen))
    ]
    case = case_register(
        actor=personas.district_officer, person=personas.citizen.person,
        data=CaseInput(classification="confirmed", test_date=timezone.localdate(),
                       test_type="pcr"),
    )
    trace_run(actor=personas.district_officer, case=case)
    return World(personas=personas, venue=venue, visits=visits, case=case)
