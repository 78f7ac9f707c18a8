"""The demo step: a checkpoint with the controller and a few days of passes."""

from __future__ import annotations

from typing import Any

import pytest

from truyvet.checkins.tests.conftest import make_venue
from truyvet.core.time import local_day
from truyvet.declarations import demo
from truyvet.declarations.models import CheckpointPass, Declaration
from truyvet.venues.models import VenueType

pytestmark = pytest.mark.django_db


def test_the_demo_scans_four_days_of_trips_at_the_checkpoint_once(personas: Any) -> None:
    make_venue(personas, name=demo.CHECKPOINT_NAME, venue_type=VenueType.CHECKPOINT)
    said: list[str] = []
    for _run in range(2):
        demo.demo_declarations(said.append, officer_phone=personas.district_officer.phone,
                               controller_phone=personas.controller.phone)
    passes = CheckpointPass.objects.all()
    assert passes.count() == demo.DAYS * demo.PER_DAY and len(said) == 1
    assert len({local_day(p.passed_at) for p in passes}) == demo.DAYS
    assert all(p.controller == personas.controller for p in passes)
    assert all(p.direction == "in" for p in passes)
    assert Declaration.objects.filter(follow_up=True).count() == 1
