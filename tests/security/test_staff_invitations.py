"""Looking up a name by phone number, and SMS abuse, through venue staff
(issue 12, item 5).

The attack: any citizen registers a venue, then adds phone numbers as
staff; each answer carried the full name of the account holding the
number. Adding and removing staff in a loop sent 8 SMS in one second, with
text the attacker chose (the venue's name).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from truyvet.core import sms
from truyvet.testing import ApiClient
from truyvet.venues import permissions
from truyvet.venues.models import Venue, VenueStaff
from truyvet.venues.services import venue_register

VENUE_NAME = "Quán nước Tặng Quà"  # the name goes into every invitation SMS
HOA = "Nguyễn Thị Hoa"  # personas.citizen, phone 0912 000 007


@pytest.fixture
def rogue_venue(personas: Any) -> Venue:
    """A venue any citizen can register for themselves."""
    return venue_register(
        actor=personas.other_citizen, name=VENUE_NAME, venue_type="restaurant",
        commune=personas.units.quang_hoa_commune, street="Phố Hòa Thuận",
        contact_phone=personas.other_citizen.phone,
    )


def staff_api(personas: Any, venue: Venue) -> tuple[ApiClient, str]:
    return ApiClient(personas.other_citizen), f"/venues/{venue.code}/staff"


def test_adding_a_phone_number_does_not_say_whose_it_is(personas: Any, rogue_venue: Any) -> None:
    owner, path = staff_api(personas, rogue_venue)

    added = owner.post(path, {"phone": "0912000007", "role": "controller"})
    listed = owner.get(path)
    page = Client()
    page.force_login(personas.other_citizen)
    shown = page.get(f"/venues/{rogue_venue.code}/").content.decode()

    assert added.status_code == 201
    assert (added.json()["has_account"], added.json()["accepted"]) == (True, False)
    assert added.json()["name"] == ""
    assert HOA not in str(listed.json())
    assert HOA not in shown


def test_the_name_shows_once_the_holder_accepts(personas: Any, rogue_venue: Any) -> None:
    owner, path = staff_api(personas, rogue_venue)
    invitation = owner.post(path, {"phone": "0912000007", "role": "controller"}).json()

    offered = ApiClient(personas.citizen).get("/venues/invitations").json()
    accepted = ApiClient(personas.citizen).post(f"/venues/invitations/{invitation['id']}/accept")

    assert [row["venue"]["name"] for row in offered] == [VENUE_NAME]
    assert accepted.status_code == 200
    assert HOA in [row["name"] for row in owner.get(path).json()]


def test_an_invitation_grants_nothing_until_it_is_accepted(
    personas: Any, rogue_venue: Any
) -> None:
    owner, path = staff_api(personas, rogue_venue)
    owner.post(path, {"phone": "0912000007", "role": "admin"})

    assert not permissions.can_scan_at_venue(personas.citizen, rogue_venue)
    assert not permissions.can_view_visitor_log(personas.citizen, rogue_venue)
    assert ApiClient(personas.citizen).get(f"/venues/{rogue_venue.code}").status_code == 404


def test_an_invitation_can_be_turned_down(personas: Any, rogue_venue: Any) -> None:
    owner, path = staff_api(personas, rogue_venue)
    invitation = owner.post(path, {"phone": "0912000007", "role": "controller"}).json()

    declined = ApiClient(personas.citizen).post(
        f"/venues/invitations/{invitation['id']}/decline")

    assert declined.status_code == 204
    assert not VenueStaff.objects.filter(pk=invitation["id"]).exists()


def test_adding_and_removing_in_a_loop_cannot_flood_a_phone(
    personas: Any, rogue_venue: Any, settings: Any
) -> None:
    owner, path = staff_api(personas, rogue_venue)
    sms.outbox.clear()
    answers = []
    for _ in range(8):
        added = owner.post(path, {"phone": "0987111222", "role": "controller"})
        answers.append(added.status_code)
        if added.status_code == 201:
            owner.delete(f"{path}/{added.json()['id']}")

    limit = settings.STAFF_INVITES_PER_PHONE_PER_DAY
    assert answers == [201] * limit + [429] * (8 - limit)
    assert len([m for m in sms.outbox if m.to == "+84987111222"]) == limit


def test_one_venue_cannot_invite_number_after_number(
    personas: Any, rogue_venue: Any, settings: Any
) -> None:
    settings.STAFF_INVITES_PER_VENUE_PER_HOUR = 3
    owner, path = staff_api(personas, rogue_venue)

    answers = [owner.post(path, {"phone": f"098711{n:04d}", "role": "controller"}).status_code
               for n in range(5)]

    assert answers == [201, 201, 201, 429, 429]
    assert VenueStaff.objects.filter(venue=rogue_venue).count() == 1 + 3  # the owner and three
