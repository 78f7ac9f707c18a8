"""A masked CCCD number cannot be rebuilt from what is shown beside it
(issue 12, item 7).

A CCCD is province (3 digits), century and sex (1), birth year (2), then 6
serial digits. Lists show the masked number with the birth year, the sex
and the commune; the old mask showed the last 6 digits, so the whole number
followed (all 1,683 of the demo's were rebuilt).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from truyvet.accounts.identity import cccd_century_digit, validate_cccd
from truyvet.places.models import AdministrativeUnit
from truyvet.testing import ApiClient


def candidates(shown: dict[str, Any]) -> list[str]:
    """Every valid CCCD that agrees with one row of a people list, built the
    way an attacker would: province from the commune, the fourth digit from
    sex and century, the two of the birth year, and the visible tail."""
    mask = shown["masked_id"]
    tail = mask.lstrip("*")
    commune = AdministrativeUnit.objects.get(pk=shown["commune"]["id"])
    province = commune.path.split("/")[1].zfill(3)
    year = shown["birth_year"]
    head = f"{province}{cccd_century_digit(birth_year=year, sex=shown['sex'])}{year % 100:02d}"
    hidden = len(mask) - len(head) - len(tail)
    found = []
    for middle in itertools.product("0123456789", repeat=hidden):
        number = head + "".join(middle) + tail
        if len(number) == 12 and validate_cccd(number, birth_year=year, sex=shown["sex"]):
            found.append(number)
    return found


def test_a_masked_cccd_in_a_people_search_leaves_at_least_a_thousand_possibilities(
    personas: Any,
) -> None:
    listed = ApiClient(personas.district_officer).get("/people", q="Nguyen Thi Hoa").json()
    [hoa] = [row for row in listed if row["id"] == personas.citizen.person_id]

    possible = candidates(hoa)

    assert personas.citizen.person.id_number in possible  # the attack is the right one
    assert len(possible) >= 1000


def test_the_door_lookup_shows_no_more_of_the_number(personas: Any) -> None:
    from truyvet.venues.services import venue_register

    venue = venue_register(
        actor=personas.district_officer, name="Quán Phở", venue_type="restaurant",
        commune=personas.units.thanh_nhat, street="Tổ 1", contact_phone=personas.venue_owner.phone,
    )
    found = ApiClient(personas.venue_owner).get(
        "/checkins/people-lookup", venue=venue.code, q="0912000007").json()

    assert [row["masked_id"] for row in found] == ["*********456"]
    assert re.fullmatch(r"\*{9}\d{3}", personas.citizen.person.masked_id)


def test_short_numbers_show_at_most_a_third() -> None:
    from truyvet.core.masking import mask_identifier

    assert mask_identifier("012345678") == "******678"  # an old CMND
    assert mask_identifier("B1234567") == "******67"  # a passport
    assert mask_identifier("12") == "*2"
