"""The demo's epidemic levels follow Cao Bằng's real declaration of level 1
on 20 Oct 2021, with Xã An Lạc at level 2 for a week, and every commune gets
a population for the calculator; running it twice changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from truyvet.places.levels import commune_level_at, commune_levels_at, level_history
from truyvet.places.models import AdministrativeUnit, CommuneLevel, Level, Population
from truyvet.site.demo import demo_levels

pytestmark = pytest.mark.django_db


def test_the_demo_levels_follow_cao_bang_2021(units: Any) -> None:
    said: list[str] = []
    demo_levels(said.append)
    communes = list(AdministrativeUnit.objects.filter(
        path__startswith=units.cao_bang.path, level=Level.COMMUNE))
    before = commune_levels_at(communes, date(2021, 10, 19))
    on_the_day = commune_levels_at(communes, date(2021, 10, 20))
    assert not before and len(on_the_day) == len(communes) > 150
    assert {entry.level for entry in on_the_day.values()} == {1}
    assert [commune_level_at(units.an_lac, date(2021, 11, day)).level  # type: ignore[union-attr]
            for day in (7, 8, 14, 15)] == [1, 2, 2, 1]
    assert [e.level for e in level_history(units.an_lac)] == [1, 2, 1]
    assert Population.objects.filter(commune__in=communes).count() == len(communes)
    assert said and "level 1" in said[0]
    count = CommuneLevel.objects.count()
    demo_levels(said.append)
    assert CommuneLevel.objects.count() == count
