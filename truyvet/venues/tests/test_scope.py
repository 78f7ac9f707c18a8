"""Who sees which venues, through the API and the pages: 404 for venues out
of scope (alike for unknown codes), 403 for actions on venues in view, and
nothing out of scope in lists, counts or exports."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from truyvet.venues.models import Venue, VenueType
from truyvet.venues.selectors import venues_visible_to
from truyvet.venues.services import venue_register, venue_staff_add
from truyvet.venues.tests.conftest import login

# Which of the fixture's venues each persona sees.
VISIBLE = {
    "admin": {"shop", "school", "neighbour"},
    "province_officer": {"shop", "school", "neighbour"},
    "district_officer": {"shop", "school"},
    "neighbour_officer": {"neighbour"},
    "commune_officer": {"shop"},
    "health_worker": {"shop", "school"},
    "venue_owner": {"shop"},
    "controller": {"shop"},
    "citizen": set(),
    "other_citizen": set(),
}


def codes(venues: Any, names: set[str]) -> set[str]:
    return {getattr(venues, name).code for name in names}


@pytest.mark.parametrize("persona", sorted(VISIBLE))
def test_each_role_lists_exactly_its_venues_through_the_api(
    api, personas, venues, persona
) -> None:
    response = api(getattr(personas, persona)).get("/")

    assert response.status_code == 200
    body = response.json()
    assert {item["code"] for item in body["items"]} == codes(venues, VISIBLE[persona])
    assert body["count"] == len(VISIBLE[persona])


@pytest.mark.parametrize("persona", sorted(VISIBLE))
def test_each_role_opens_only_venues_in_its_scope(api, personas, venues, persona) -> None:
    caller = api(getattr(personas, persona))
    for name in ("shop", "school", "neighbour"):
        expected = 200 if name in VISIBLE[persona] else 404
        assert caller.get(f"/{getattr(venues, name).code}").status_code == expected, name


def test_an_unknown_code_and_a_venue_out_of_scope_answer_alike(api, personas, venues) -> None:
    caller = api(personas.commune_officer)
    unknown = caller.get("/NOSUCHCODE")
    hidden = caller.get(f"/{venues.school.code}")
    assert (unknown.status_code, unknown.json()) == (hidden.status_code, hidden.json())


def test_a_commune_officer_can_neither_see_nor_edit_another_communes_venue(
    api, client: Client, personas, venues
) -> None:
    officer = api(personas.commune_officer)
    school = venues.school.code

    assert officer.patch(f"/{school}", {"name": "Đổi tên"}).status_code == 404
    assert officer.post(f"/{school}/status", {"status": "closed", "reason": "x y z"}
                        ).status_code == 404
    assert officer.post(f"/{school}/revoke-qr").status_code == 404
    assert officer.get(f"/{school}/staff").status_code == 404
    assert officer.get(f"/{school}/poster.pdf").status_code == 404
    assert officer.get("/", commune="01555").json() == {"count": 0, "items": []}
    assert officer.get("/", q="an lac").json()["count"] == 0
    assert officer.get("/posters.pdf", unit="01555").status_code == 403

    login(client, personas.commune_officer)
    assert client.get(f"/venues/{school}/").status_code == 404
    assert client.get(f"/venues/{school}/edit/").status_code == 404
    assert client.post(f"/venues/{school}/edit/", {"name": "Đổi tên"}).status_code == 404
    assert client.get(f"/venues/{school}/poster.pdf").status_code == 404
    listing = client.get("/venues/manage/").content.decode()
    assert "Trường Tiểu học An Lạc" not in listing and "Cửa hàng tạp hoá Sơn Hà" in listing
    assert "1 địa điểm" in listing
    assert client.get("/venues/posters/", {"unit": "01555"}).status_code == 403
    assert Venue.objects.get(pk=venues.school.pk).name == "Trường Tiểu học An Lạc"


def test_the_commune_officer_edits_a_venue_of_their_commune(api, personas, venues) -> None:
    response = api(personas.commune_officer).patch(
        f"/{venues.shop.code}", {"name": "Cửa hàng Sơn Hà", "latitude": 22.7, "longitude": 106.7})

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["latitude"]) == ("Cửa hàng Sơn Hà", 22.7)


def test_one_owner_cannot_see_another_owners_venues(api, client: Client, personas, venues) -> None:
    theirs = venue_register(actor=personas.citizen, name="Tiệm may Hoa", venue_type="shop",
                            commune=personas.units.thanh_nhat, street="Tổ 7",
                            contact_phone=personas.citizen.phone)
    owner = api(personas.venue_owner)

    assert {item["code"] for item in owner.get("/").json()["items"]} == {venues.shop.code}
    assert owner.get(f"/{theirs.code}").status_code == 404
    assert owner.get(f"/{theirs.code}/visitors").status_code == 404
    assert owner.get(f"/{theirs.code}/visitors.csv").status_code == 404
    assert owner.patch(f"/{theirs.code}", {"name": "Của tôi"}).status_code == 404

    login(client, personas.venue_owner)
    mine = client.get("/venues/").content.decode()
    assert "Cửa hàng tạp hoá Sơn Hà" in mine and "Tiệm may Hoa" not in mine
    assert client.get(f"/venues/{theirs.code}/").status_code == 404
    assert client.get(f"/venues/{theirs.code}/visitors/").status_code == 404
    assert client.get(f"/venues/{theirs.code}/visitors.xlsx").status_code == 404
    assert client.get("/venues/manage/").status_code == 403


def test_a_controller_sees_the_venue_but_cannot_manage_it(
    api, client: Client, personas, venues
) -> None:
    controller = api(personas.controller)
    code = venues.shop.code

    detail = controller.get(f"/{code}").json()
    assert detail["my_role"] == "controller"
    assert detail["contact_phone"] == "0912***005"
    assert controller.patch(f"/{code}", {"name": "Đổi"}).status_code == 403
    assert controller.get(f"/{code}/poster.pdf").status_code == 403
    assert controller.get(f"/{code}/qr.png").status_code == 403
    assert controller.get(f"/{code}/visitors").status_code == 403
    assert controller.get(f"/{code}/visits-per-day").status_code == 403

    login(client, personas.controller)
    page = client.get(f"/venues/{code}/").content.decode()
    assert "Áp phích PDF" not in page and "Nhân sự" not in page
    assert client.get(f"/venues/{code}/edit/").status_code == 403
    assert client.get(f"/venues/{code}/visitors/").status_code == 403


def test_officers_do_not_see_look_alike_details_outside_their_role(
    api, personas, venues
) -> None:
    twin = venue_register(actor=personas.citizen, name="Cửa hàng tạp hoá Sơn Hà",
                          venue_type="shop", commune=personas.units.thanh_nhat,
                          street="Tổ dân phố 2", contact_phone=personas.citizen.phone)

    as_officer = api(personas.commune_officer).get(f"/{twin.code}").json()
    as_owner = api(personas.citizen).get(f"/{twin.code}").json()

    assert as_officer["possible_duplicate_of"] == venues.shop.code
    assert (as_owner["possible_duplicate"], as_owner["possible_duplicate_of"]) == (True, None)
    listed = api(personas.commune_officer).get("/", duplicates="true").json()
    assert [item["code"] for item in listed["items"]] == [twin.code]


def test_lists_filter_by_text_commune_status_and_type(api, personas, venues) -> None:
    officer = api(personas.district_officer)

    assert [i["code"] for i in officer.get("/", q="TRUONG tieu hoc").json()["items"]] == [
        venues.school.code]
    assert [i["code"] for i in officer.get("/", q=venues.shop.code).json()["items"]] == [
        venues.shop.code]
    assert officer.get("/", commune="01555").json()["count"] == 1
    assert officer.get("/", type="school").json()["count"] == 1
    assert officer.get("/", status="suspended").json()["count"] == 0


def make_venues(personas: Any, count: int) -> None:
    for index in range(count):
        venue = venue_register(
            actor=personas.district_officer, name=f"Quán số {index}", venue_type=VenueType.OTHER,
            commune=personas.units.an_lac if index % 2 else personas.units.thanh_nhat,
            street=f"Thôn {index}", contact_phone=f"097{index:07d}",
        )
        if index % 3 == 0:
            venue_staff_add(actor=personas.district_officer, venue=venue,
                            phone=personas.venue_owner.phone, role="admin")


def test_the_api_list_costs_the_same_few_queries_for_any_number_of_venues(
    api, personas, venues, django_assert_max_num_queries
) -> None:
    make_venues(personas, 30)
    caller = api(personas.district_officer)
    owner = api(personas.venue_owner)

    # Token, roles, count, page: never one query per venue.
    with django_assert_max_num_queries(6):
        body = caller.get("/", limit=50).json()
    assert body["count"] == 32 and len(body["items"]) == 32
    with django_assert_max_num_queries(6):
        assert owner.get("/").json()["count"] == 11


def test_the_officer_page_costs_the_same_few_queries_for_any_number_of_venues(
    client: Client, personas, venues, django_assert_max_num_queries
) -> None:
    make_venues(personas, 30)
    login(client, personas.district_officer)

    with django_assert_max_num_queries(10):
        response = client.get("/venues/manage/")
    assert response.status_code == 200
    assert response.content.decode().count('class="inline-form"') == 32


def test_the_owner_page_costs_the_same_few_queries_for_any_number_of_venues(
    client: Client, personas, venues, django_assert_max_num_queries
) -> None:
    make_venues(personas, 30)
    login(client, personas.venue_owner)

    with django_assert_max_num_queries(6):
        response = client.get("/venues/")
    assert response.content.decode().count('class="title"') == 11


def test_the_selector_is_empty_for_anonymous_users(db) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert list(venues_visible_to(AnonymousUser())) == []
