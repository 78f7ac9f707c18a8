"""The Cao Bằng map as the loader writes it, and what a second load changes."""

from __future__ import annotations

import pytest

from truyvet.places.models import AdministrativeUnit, Kind, Level, Scheme
from truyvet.places.services import divisions_load
from truyvet.places.tests.conftest import (
    CAO_BANG,
    CAO_BANG_UNITS,
    HA_LANG,
    THANH_NHAT,
    cao_bang_units,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cao_bang")]


def test_ha_lang_has_thirteen_communes_including_thanh_nhat() -> None:
    ha_lang = AdministrativeUnit.objects.get(code=HA_LANG)

    communes = list(ha_lang.children.values_list("name", flat=True))

    assert ha_lang.name == "Huyện Hạ Lang"
    assert ha_lang.parent is not None and ha_lang.parent.code == CAO_BANG
    assert len(communes) == 13
    assert "Thị trấn Thanh Nhật" in communes


def test_it_stores_paths_levels_kinds_and_folded_names() -> None:
    units = {unit.code: unit for unit in AdministrativeUnit.objects.filter(scheme=Scheme.Y2021)}

    province, district, township = units[CAO_BANG], units[HA_LANG], units[THANH_NHAT]
    assert (province.path, province.level, province.kind) == ("2021/04/", 1, Kind.PROVINCE)
    assert (district.path, district.level, district.kind) == (
        "2021/04/048/", 2, Kind.RURAL_DISTRICT
    )
    assert (township.path, township.level, township.kind) == (
        "2021/04/048/01558/", 3, Kind.TOWNSHIP
    )
    assert township.name_folded == "thi tran thanh nhat"
    assert township.scheme == Scheme.Y2021
    assert units["040"].kind == Kind.PROVINCIAL_CITY  # Thành phố Cao Bằng
    assert units["01273"].kind == Kind.WARD  # Phường Hợp Giang
    assert all(unit.path.endswith(f"/{unit.code}/") for unit in units.values())
    assert cao_bang_units() == CAO_BANG_UNITS


def test_loading_twice_creates_nothing_twice() -> None:
    before = AdministrativeUnit.objects.count()

    result = divisions_load(province_codes=[CAO_BANG])

    assert (result.created, result.updated) == (0, 0)
    assert AdministrativeUnit.objects.count() == before
    assert cao_bang_units() == CAO_BANG_UNITS
    assert AdministrativeUnit.objects.values("code").distinct().count() == before


def test_loading_again_restores_a_changed_name() -> None:
    AdministrativeUnit.objects.filter(code=HA_LANG).update(name="Huyện Hạ  Lang cũ")

    result = divisions_load(province_codes=["4"])

    assert (result.created, result.updated) == (0, 1)
    ha_lang = AdministrativeUnit.objects.get(code=HA_LANG)
    assert (ha_lang.name, ha_lang.name_folded) == ("Huyện Hạ Lang", "huyen ha lang")


def test_it_adds_a_neighbouring_province_without_touching_cao_bang() -> None:
    result = divisions_load(province_codes=[CAO_BANG, "20"])  # and Lạng Sơn

    assert result.provinces == 2
    assert result.created == result.total - CAO_BANG_UNITS
    assert result.updated == 0
    lang_son = AdministrativeUnit.objects.get(code="20")
    assert (lang_son.name, lang_son.level) == ("Tỉnh Lạng Sơn", Level.PROVINCE)
    assert cao_bang_units() == CAO_BANG_UNITS
