from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from truyvet.places.tests.conftest import CAO_BANG, HA_LANG, THANH_NHAT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cao_bang")]

UNITS = "/api/v1/places/units"


def test_it_lists_provinces_without_a_login(client: Client) -> None:
    response = client.get(UNITS)

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == len(body["items"]) >= 1
    assert {
        "code": CAO_BANG,
        "name": "Tỉnh Cao Bằng",
        "level": 1,
        "kind": "province",
        "scheme": "2021",
        "kind_label": "Tỉnh",
        "level_label": "Tỉnh/thành phố",
        "full_name": "Tỉnh Cao Bằng",
        "parent_code": None,
    } in body["items"]


def test_it_searches_without_diacritics(client: Client) -> None:
    body = client.get(UNITS, {"q": "thanh nhat"}).json()

    township = next(item for item in body["items"] if item["code"] == THANH_NHAT)
    assert township["name"] == "Thị trấn Thanh Nhật"
    assert township["kind"] == "township"
    assert township["full_name"] == "Thị trấn Thanh Nhật, Huyện Hạ Lang, Tỉnh Cao Bằng"
    assert township["parent_code"] == HA_LANG


def test_it_lists_the_communes_of_a_district_in_pages(client: Client) -> None:
    first = client.get(UNITS, {"parent": HA_LANG, "limit": "10"}).json()
    rest = client.get(UNITS, {"parent": HA_LANG, "limit": "10", "offset": "10"}).json()

    assert first["count"] == rest["count"] == 13
    assert len(first["items"]) == 10
    assert len(rest["items"]) == 3
    assert {item["level"] for item in first["items"] + rest["items"]} == {3}


def test_it_searches_one_level_below_a_parent(client: Client) -> None:
    body = client.get(UNITS, {"q": "ha", "level": "2", "parent": CAO_BANG}).json()

    assert [item["name"] for item in body["items"]] == ["Huyện Hạ Lang", "Huyện Hà Quảng"]


def test_a_list_costs_the_same_queries_for_any_page_size(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(3):  # the parent, the count, the page
        body = client.get(UNITS, {"parent": CAO_BANG, "level": "3", "limit": "100"}).json()

    assert len(body["items"]) == 100


def test_it_shows_a_unit_with_its_ancestors_and_children(client: Client) -> None:
    body = client.get(f"{UNITS}/{HA_LANG}").json()

    assert body["unit"]["name"] == "Huyện Hạ Lang"
    assert body["unit"]["kind"] == "rural_district"
    assert body["ancestors"] == [
        {"code": CAO_BANG, "name": "Tỉnh Cao Bằng", "level": 1, "kind": "province"}
    ]
    assert len(body["children"]) == 13
    assert {"code": THANH_NHAT, "name": "Thị trấn Thanh Nhật", "level": 3, "kind": "township"} in (
        body["children"]
    )
    assert body["counts"] == {"1": 0, "2": 0, "3": 13}


def test_it_labels_kinds_in_english_when_asked(client: Client) -> None:
    body = client.get(f"{UNITS}/{HA_LANG}", headers={"accept-language": "en"}).json()

    assert body["unit"]["kind_label"] == "Rural district"
    assert body["unit"]["level_label"] == "District"


def test_an_unknown_code_is_a_404_in_the_uniform_error_shape(client: Client) -> None:
    response = client.get(f"{UNITS}/99999")

    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "status": 404,
        "error": "Không tìm thấy đơn vị hành chính mã 99999.",
        "code": "unit_not_found",
        "errors": [],
    }


def test_an_unknown_parent_is_a_404(client: Client) -> None:
    response = client.get(UNITS, {"parent": "999"})

    assert response.status_code == 404
    assert response.json()["code"] == "unit_not_found"


def test_an_impossible_level_is_a_422_naming_the_field(client: Client) -> None:
    response = client.get(UNITS, {"level": 9})

    body = response.json()
    assert response.status_code == 422
    assert (body["ok"], body["code"]) == (False, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["level"]
