"""The no-login guest form and an account's history (issue 12, item 8).

Anyone can type someone's name and phone into the guest form. Such a visit
used to join the account with that phone and name, at once or when the
account was registered; now it waits until the account's holder says it
is theirs, and they are told in the app."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from truyvet.checkins.models import CheckIn
from truyvet.core.models import OutboxMessage
from truyvet.testing import ApiClient, register_user
from truyvet.venues.qr import venue_qr_payload

from .door_world import HOA_ID, HOA_PHONE, door

pytestmark = pytest.mark.django_db


def guest(venue: Any, *, full_name: str, phone: str, id_number: str = "") -> dict[str, Any]:
    """The anonymous guest form, as a stranger would post it."""
    response = Client().post("/api/v1/checkins/guest", {
        "venue": venue_qr_payload(venue), "full_name": full_name, "phone": phone,
        "id_number": id_number,
    }, content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def history(user: Any) -> list[Any]:
    return [item["id"] for item in ApiClient(user).get("/checkins/mine").json()]


def test_her_name_and_phone_on_the_guest_form_stay_out_of_her_history(personas: Any) -> None:
    venue = door(personas)

    guest(venue, full_name="Nguyễn Thị Hoa", phone=HOA_PHONE)
    guest(venue, full_name="NGUYEN THI HOA", phone=HOA_PHONE, id_number=HOA_ID)

    assert history(personas.citizen) == []
    assert not CheckIn.objects.filter(person_id=personas.citizen.person_id).exists()


def test_she_is_told_and_adopts_them_if_they_are_hers(personas: Any) -> None:
    venue = door(personas)
    made = guest(venue, full_name="Nguyễn Thị Hoa", phone=HOA_PHONE)["checkin"]["id"]
    hoa = ApiClient(personas.citizen)

    notice = OutboxMessage.objects.get(recipient_user=personas.citizen,
                                       kind="checkins.guest_offer")
    assert notice.link == "/checkins/history/"
    waiting = hoa.get("/checkins/guest-visits").json()
    assert [item["id"] for item in waiting["items"]] == [made]
    assert hoa.post("/checkins/guest-visits/adopt").json()["moved"] == 1
    assert history(personas.citizen) == [made]


def test_she_says_they_are_not_hers_and_they_stay_out(personas: Any) -> None:
    venue = door(personas)
    guest(venue, full_name="Nguyễn Thị Hoa", phone=HOA_PHONE)
    hoa = ApiClient(personas.citizen)

    hoa.post("/checkins/guest-visits/decline")

    assert hoa.get("/checkins/guest-visits").json()["count"] == 0
    assert hoa.post("/checkins/guest-visits/adopt").json()["moved"] == 0
    assert history(personas.citizen) == []


def test_registering_does_not_adopt_them_by_itself(personas: Any) -> None:
    venue = door(personas)
    guest(venue, full_name="Phạm Văn Khách", phone="0977123456")

    user = register_user(phone="0977123456", full_name="Phạm Văn Khách",
                         commune=personas.units.thanh_nhat)

    assert history(user) == []
    assert ApiClient(user).get("/checkins/guest-visits").json()["count"] == 1
    assert OutboxMessage.objects.filter(recipient_user=user,
                                        kind="checkins.guest_offer").exists()


def test_someone_else_with_her_phone_is_never_offered_her_visits(personas: Any) -> None:
    venue = door(personas)
    guest(venue, full_name="Nguyễn Thị Hoa", phone=HOA_PHONE)
    son = register_user(phone="0912000099", full_name="Nguyễn Văn Con")

    assert ApiClient(son).get("/checkins/guest-visits").json()["count"] == 0


def test_the_history_page_offers_them_with_both_answers(
    personas: Any, client: Client,
) -> None:
    venue = door(personas)
    guest(venue, full_name="Nguyễn Thị Hoa", phone=HOA_PHONE)
    client.force_login(personas.citizen)

    page = client.get("/checkins/history/").content.decode()
    assert 'value="adopt"' in page and 'value="decline"' in page and venue.name in page
    client.post("/checkins/history/guest-visits/", {"action": "adopt"})

    assert CheckIn.objects.filter(person_id=personas.citizen.person_id).count() == 1
