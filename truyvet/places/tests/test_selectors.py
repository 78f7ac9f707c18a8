from __future__ import annotations

import pytest
from django.db.models import QuerySet
from pytest_django import DjangoAssertNumQueries

from truyvet.core.errors import NotFound
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.selectors import (
    unit_ancestors,
    unit_by_code,
    unit_children,
    unit_counts_by_level,
    unit_detail,
    units_list,
    units_search,
)
from truyvet.places.tests.conftest import CAO_BANG, HA_LANG, THANH_NHAT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cao_bang")]


def names(units: QuerySet[AdministrativeUnit] | list[AdministrativeUnit]) -> list[str]:
    return [unit.name for unit in units]


def test_it_finds_ha_lang_without_diacritics() -> None:
    assert names(units_search(query="ha lang"))[0] == "Huyện Hạ Lang"


def test_it_finds_the_thanh_nhat_township_without_diacritics() -> None:
    assert "Thị trấn Thanh Nhật" in names(units_search(query="thanh nhat"))


def test_it_finds_names_typed_with_diacritics_and_odd_case() -> None:
    assert names(units_search(query="  HẠ   Lang "))[0] == "Huyện Hạ Lang"


def test_every_word_of_the_query_must_match() -> None:
    assert names(units_search(query="ha lang quang")) == []


def test_words_match_at_the_start_of_a_word_only() -> None:
    # "ang" is inside "Lang" but starts no word of any Cao Bằng unit.
    assert names(units_search(query="ang")) == []


def test_exact_and_prefix_matches_come_before_other_matches() -> None:
    found = names(units_search(query="an"))

    assert found[0] == "Xã An Lạc"  # the only name that starts with "An"
    assert set(found[1:]) >= {"Huyện Hoà An", "Huyện Thạch An"}


def test_a_name_without_its_kind_prefix_is_an_exact_match() -> None:
    found = list(units_search(query="hoa an"))

    assert found[0].name == "Huyện Hoà An"
    assert found[0].rank == 0  # type: ignore[attr-defined]


def test_it_finds_a_unit_by_its_code() -> None:
    assert names(units_search(query=THANH_NHAT)) == ["Thị trấn Thanh Nhật"]


def test_it_narrows_a_search_by_level_and_parent() -> None:
    ha_lang = unit_by_code(code=HA_LANG)

    assert names(units_search(query="thanh", level=Level.COMMUNE, parent=ha_lang)) == [
        "Thị trấn Thanh Nhật"
    ]
    assert "Huyện Hạ Lang" not in names(units_search(query="ha lang", level=Level.COMMUNE))


def test_it_returns_nothing_for_an_empty_query() -> None:
    assert names(units_search(query="   ")) == []


def test_it_limits_the_number_of_results() -> None:
    assert len(units_search(query="xa", limit=5)) == 5


def test_search_results_carry_their_parents_in_one_query(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(1):
        full_names = [unit.full_name for unit in units_search(query="xa", limit=50)]

    assert "Xã An Lạc, Huyện Hạ Lang, Tỉnh Cao Bằng" in full_names


def test_it_raises_not_found_for_an_unknown_code() -> None:
    with pytest.raises(NotFound) as error:
        unit_by_code(code="99999")

    assert error.value.code == "unit_not_found"


def test_the_ancestors_of_thanh_nhat_are_ha_lang_and_cao_bang() -> None:
    township = unit_by_code(code=THANH_NHAT)

    assert names(unit_ancestors(unit=township)) == ["Tỉnh Cao Bằng", "Huyện Hạ Lang"]
    assert unit_ancestors(unit=unit_by_code(code=CAO_BANG)) == []


def test_the_children_of_ha_lang_are_its_thirteen_communes() -> None:
    children = unit_children(unit=unit_by_code(code=HA_LANG))

    assert len(children) == 13
    assert {child.level for child in children} == {Level.COMMUNE}


def test_it_lists_provinces_by_default_and_children_below_a_parent() -> None:
    cao_bang = unit_by_code(code=CAO_BANG)

    assert "Tỉnh Cao Bằng" in names(units_list())
    assert {unit.level for unit in units_list()} == {Level.PROVINCE}
    assert len(units_list(parent=cao_bang)) == 10
    assert len(units_list(parent=cao_bang, level=Level.COMMUNE)) == 161


def test_it_counts_units_by_level_in_the_country_and_below_a_unit() -> None:
    country = unit_counts_by_level()

    assert country[Level.PROVINCE] >= 1 and country[Level.COMMUNE] >= 161
    assert unit_counts_by_level(within=unit_by_code(code=CAO_BANG)) == {1: 0, 2: 10, 3: 161}
    assert unit_counts_by_level(within=unit_by_code(code=HA_LANG)) == {1: 0, 2: 0, 3: 13}


def test_a_unit_detail_costs_four_queries_whatever_its_size(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(4):  # unit, ancestors, children, counts
        detail = unit_detail(code=HA_LANG)
        [child.name for child in detail.children]

    assert names(detail.ancestors) == ["Tỉnh Cao Bằng"]
    assert len(detail.children) == 13
    assert detail.counts == {1: 0, 2: 0, 3: 13}
