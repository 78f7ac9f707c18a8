"""The one slow test: the whole country, loaded into an empty database."""

from __future__ import annotations

import time

import pytest

from truyvet.places.models import AdministrativeUnit, Kind, Level
from truyvet.places.selectors import unit_counts_by_level
from truyvet.places.services import divisions_load


@pytest.mark.django_db
def test_it_loads_the_whole_country_in_well_under_thirty_seconds() -> None:
    started = time.monotonic()
    result = divisions_load()
    elapsed = time.monotonic() - started

    assert (result.provinces, result.districts, result.communes) == (63, 696, 10_051)
    assert unit_counts_by_level() == {
        Level.PROVINCE: 63, Level.DISTRICT: 696, Level.COMMUNE: 10_051
    }
    assert elapsed < 30
    kinds = dict(AdministrativeUnit.objects.values_list("code", "kind"))
    assert kinds["01"] == Kind.MUNICIPALITY  # Thành phố Hà Nội
    assert kinds["001"] == Kind.URBAN_DISTRICT  # Quận Ba Đình
    assert kinds["269"] == Kind.TOWN  # Thị xã Sơn Tây
    assert AdministrativeUnit.objects.get(code="058").name == "Thành phố Bắc Kạn"
    municipalities = AdministrativeUnit.objects.filter(level=Level.PROVINCE, kind=Kind.MUNICIPALITY)
    # Hà Nội, Hải Phòng, Đà Nẵng, HCMC, Cần Thơ, and Huế since January 2025.
    assert municipalities.count() == 6
