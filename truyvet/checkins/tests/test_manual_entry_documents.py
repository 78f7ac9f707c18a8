"""Manual entry at the door: the controller says which document a number
is (CCCD, CMND or passport) and gets a message that fits it, and a visitor
is only recorded with a phone or an address to reach them by. The guest
form, which asks for a CCCD or CMND, never talks about passports."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.test import Client

from truyvet.accounts.models import Person
from truyvet.checkins.models import CheckIn
from truyvet.checkins.services import checkin_manual
from truyvet.core.errors import ServiceError
from truyvet.testing import ApiClient
from truyvet.venues.qr import venue_qr_token


def _door(client: Client, venue: Any, **fields: str) -> str:
    return client.post(f"/checkins/control/{venue.code}/", {
        "action": "manual", "full_name": "Nông Văn Bảy", **fields}).content.decode()


@pytest.mark.django_db
class TestManualEntryAtTheDoor:
    def test_a_number_typed_as_a_cccd_must_have_twelve_digits(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)

        page = _door(client, restaurant, phone="0987111222", id_kind="cccd",
                     id_number="12AB34CD", birth_date="1990-01-01")

        errors = page[page.index('id="manual"'):]
        errors = " ".join(re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', errors, re.S))
        assert "CCCD" in errors and "12 chữ số" in errors
        assert "hộ chiếu" not in errors
        assert not CheckIn.objects.exists()

    def test_a_number_without_a_document_type_is_not_guessed_into_a_passport(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)

        page = _door(client, restaurant, phone="0987111222", id_number="12AB34CD",
                     birth_date="1990-01-01")

        assert "Hãy chọn loại giấy tờ của số này." in page
        assert not Person.objects.filter(id_number="12AB34CD").exists()

    def test_a_cmnd_has_nine_digits_and_a_passport_may_have_letters(
        self, personas: Any, restaurant: Any
    ) -> None:
        with pytest.raises(ServiceError) as refused:
            checkin_manual(controller=personas.controller, venue=restaurant,
                           full_name="Nông Văn Bảy", phone="0987111222", id_kind="cmnd",
                           id_number="12345678", birth_date=None)
        passport = checkin_manual(controller=personas.controller, venue=restaurant,
                                  full_name="John Smith", phone="0987111333",
                                  id_kind="passport", id_number="C1234567",
                                  birth_date=date(1980, 1, 2))

        assert refused.value.errors[0].message == "Số CMND phải gồm 9 hoặc 12 chữ số."
        person = Person.objects.get(pk=passport.result.checkin.person_id)
        assert (person.id_kind, person.id_number) == ("passport", "C1234567")

    def test_a_visitor_with_neither_phone_nor_address_is_not_recorded(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)

        page = _door(client, restaurant, id_kind="cccd", id_number="004090123456",
                     birth_date="1990-01-01")

        assert "Cần số điện thoại hoặc địa chỉ để liên hệ khi truy vết." in page
        assert not CheckIn.objects.exists()

    def test_an_address_is_enough_to_reach_a_visitor_without_a_phone(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)

        _door(client, restaurant, street="Xóm Bản Piên, xã An Lạc")

        person = CheckIn.objects.get().person
        assert (person.full_name, person.street, person.phone) == (
            "Nông Văn Bảy", "Xóm Bản Piên, xã An Lạc", "")

    def test_the_api_checks_the_number_as_the_type_it_is_given(
        self, personas: Any, restaurant: Any
    ) -> None:
        answer = ApiClient(personas.controller).post("/checkins/manual", {
            "venue": restaurant.code, "full_name": "Nông Văn Bảy", "phone": "0987111222",
            "id_kind": "cccd", "id_number": "12AB34CD", "birth_date": "1990-01-01"})

        assert answer.status_code == 400
        assert [e["field"] for e in answer.json()["errors"]] == ["id_number"]
        assert "CCCD" in answer.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_the_guest_form_says_cccd_or_cmnd_for_a_number_with_letters(
    client: Client, restaurant: Any
) -> None:
    page = client.post("/checkins/guest/", {
        "venue": venue_qr_token(restaurant), "full_name": "Phạm Văn Khách",
        "phone": "0977123456", "id_number": "12AB",
    }).content.decode()

    assert "Số CCCD gồm 12 chữ số, số CMND gồm 9 chữ số." in page
    assert "hộ chiếu" not in page
    assert not CheckIn.objects.exists()
