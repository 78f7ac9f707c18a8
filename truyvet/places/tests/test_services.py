"""Loading administrative maps into an empty database, and the rules it applies."""

from __future__ import annotations

import pytest

from truyvet.core.errors import ServiceError
from truyvet.places import services
from truyvet.places.models import AdministrativeUnit, Kind, Level, Scheme
from truyvet.places.services import (
    DivisionRow,
    Tier,
    divisions_load,
    unit_code_normalise,
    unit_kind_from_name,
)
from truyvet.places.tests.conftest import CAO_BANG, CAO_BANG_UNITS, cao_bang_units


@pytest.mark.parametrize(
    ("name", "level", "kind"),
    [
        ("Thành phố Hà Nội", Level.PROVINCE, Kind.MUNICIPALITY),
        ("Tỉnh Cao Bằng", Level.PROVINCE, Kind.PROVINCE),
        ("Quận Ba Đình", Level.DISTRICT, Kind.URBAN_DISTRICT),
        ("Huyện Hạ Lang", Level.DISTRICT, Kind.RURAL_DISTRICT),
        ("Thị xã Sơn Tây", Level.DISTRICT, Kind.TOWN),
        ("Thành phố Cao Bằng", Level.DISTRICT, Kind.PROVINCIAL_CITY),
        ("Phường Hợp Giang", Level.COMMUNE, Kind.WARD),
        ("Xã An Lạc", Level.COMMUNE, Kind.COMMUNE),
        ("Thị trấn Thanh Nhật", Level.COMMUNE, Kind.TOWNSHIP),
        ("Đặc khu Phú Quốc", Level.COMMUNE, Kind.SPECIAL_ZONE),
    ],
)
def test_it_reads_the_kind_from_the_name_prefix(name: str, level: Level, kind: Kind) -> None:
    assert unit_kind_from_name(name=name, level=level) == (kind, name)


def test_it_respells_a_capitalised_prefix() -> None:
    assert unit_kind_from_name(name="Thành Phố Bắc Kạn", level=Level.DISTRICT) == (
        Kind.PROVINCIAL_CITY,
        "Thành phố Bắc Kạn",
    )


def test_it_rejects_a_name_without_a_known_prefix() -> None:
    with pytest.raises(ServiceError) as error:
        unit_kind_from_name(name="Huyện Hạ Lang", level=Level.COMMUNE)
    assert error.value.code == "unknown_unit_kind"


def test_it_pads_codes_to_the_gso_width() -> None:
    assert unit_code_normalise(code="4", level=Level.PROVINCE) == "04"
    assert unit_code_normalise(code=48, level=Level.DISTRICT) == "048"
    assert unit_code_normalise(code="1558", level=Level.COMMUNE) == "01558"
    with pytest.raises(ServiceError):
        unit_code_normalise(code="4a", level=Level.PROVINCE)


@pytest.mark.django_db
def test_it_loads_cao_bang_with_its_districts_and_communes() -> None:
    before = cao_bang_units()

    result = divisions_load(province_codes=[CAO_BANG])

    assert (result.provinces, result.districts, result.communes) == (1, 10, 161)
    assert result.created == CAO_BANG_UNITS - before
    assert cao_bang_units() == CAO_BANG_UNITS


@pytest.mark.django_db
def test_it_reports_progress_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))

    divisions_load(province_codes=[CAO_BANG], progress=progress)

    assert calls[-1] == (CAO_BANG_UNITS, CAO_BANG_UNITS)
    assert [done for done, _total in calls] == sorted(done for done, _total in calls)


@pytest.mark.django_db
def test_it_rejects_an_unknown_province_code() -> None:
    before = AdministrativeUnit.objects.count()

    with pytest.raises(ServiceError) as error:
        divisions_load(province_codes=["99"])

    assert error.value.code == "unknown_province"
    assert AdministrativeUnit.objects.count() == before


@pytest.mark.django_db
def test_it_rejects_a_scheme_it_has_no_data_for() -> None:
    with pytest.raises(ServiceError) as error:
        divisions_load(scheme=Scheme.Y2025)

    assert error.value.code == "unknown_scheme"


@pytest.mark.django_db
def test_a_failure_half_way_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The province is valid; its district's name announces no known kind.
    broken = [
        Tier(Level.PROVINCE, [DivisionRow("98", "Tỉnh Thử Nghiệm", None)]),
        Tier(Level.DISTRICT, [DivisionRow("998", "Vùng Thử Nghiệm", "98")]),
    ]
    monkeypatch.setitem(services._SOURCES, Scheme.Y2021, lambda wanted: broken)

    with pytest.raises(ServiceError) as error:
        divisions_load()

    assert error.value.code == "unknown_unit_kind"
    assert not AdministrativeUnit.objects.filter(code__in=["98", "998"]).exists()


@pytest.mark.django_db
def test_a_two_tier_map_hangs_communes_under_provinces(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shape of the 2025 map: no districts, communes directly below provinces.
    two_tiers = [
        Tier(Level.PROVINCE, [DivisionRow("04", "Tỉnh Cao Bằng", None)]),
        Tier(Level.COMMUNE, [DivisionRow("01558", "Xã Hạ Lang", "04")]),
    ]
    monkeypatch.setitem(services._SOURCES, Scheme.Y2025, lambda wanted: two_tiers)

    result = divisions_load(scheme=Scheme.Y2025)

    commune = AdministrativeUnit.objects.get(scheme=Scheme.Y2025, code="01558")
    assert (result.provinces, result.districts, result.communes) == (1, 0, 1)
    assert (commune.level, commune.kind, commune.path) == (
        Level.COMMUNE, Kind.COMMUNE, "2025/04/01558/"
    )
    assert commune.parent is not None and commune.parent.level == Level.PROVINCE
