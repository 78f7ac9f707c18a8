"""Every bad input gets a clear message in the user's language, next to the
field it is about, and stores nothing (BRIEF §6), through the API and the
HTML form alike."""

from typing import Any

import pytest
from django.test import Client

from truyvet.accounts.models import OtpPurpose
from truyvet.accounts.services import otp_request
from truyvet.accounts.tests.conftest import row_counts
from truyvet.testing import PASSWORD, last_otp_sent_to

PHONE = "+84987654321"

BAD_PHONE = {
    "vi": "Số điện thoại di động không hợp lệ (cần 10 chữ số, bắt đầu bằng 03, 05, 07, 08 "
          "hoặc 09).",
    "en": "The mobile number is not valid (it needs 10 digits starting with 03, 05, 07, 08 or 09).",
}
BAD_CCCD = {
    "vi": "Chữ số thứ tư của số CCCD không khớp với giới tính.",
    "en": "The fourth digit of the CCCD number does not match the sex.",
}
BAD_OTP = {
    "vi": "Mã OTP không đúng. Bạn còn 4 lần thử.",
    "en": "The OTP code is wrong. You have 4 tries left.",
}
LANGUAGES = [pytest.param(None, "vi", id="default-vietnamese"), pytest.param("en", "en", id="en")]

# A woman born in 1990 whose CCCD says man (4th digit 0).
PERSON_WITH_BAD_CCCD = {
    "full_name": "Hoàng Thị Lan", "birth_year": 1990, "sex": "female",
    "id_number": "004090123456",
}


def a_wrong_code_for(phone: str) -> str:
    return "000000" if last_otp_sent_to(phone) != "000000" else "111111"


def field_message(response: Any, field: str) -> str:
    body = response.json()
    assert body["ok"] is False
    return next(item["message"] for item in body["errors"] if item["field"] == field)


def html_client(language: str | None) -> Client:
    return Client(headers={"Accept-Language": language} if language else {})


# --- Through the API ------------------------------------------------------------------


@pytest.mark.parametrize(("language", "lang"), LANGUAGES)
def test_a_bad_phone_number_is_explained_by_the_api(api, units, language, lang) -> None:
    before = row_counts()

    response = api(language=language).post(
        "/auth/otp", {"phone": "0912 345 67", "purpose": "register"}
    )

    assert response.status_code == 400
    assert field_message(response, "phone") == BAD_PHONE[lang]
    assert row_counts() == before


@pytest.mark.parametrize(("language", "lang"), LANGUAGES)
def test_a_bad_cccd_is_explained_by_the_api(api, units, language, lang) -> None:
    otp_request(phone=PHONE, purpose=OtpPurpose.REGISTER)
    before = row_counts()

    response = api(language=language).post("/auth/register", {
        "phone": PHONE, "code": last_otp_sent_to(PHONE), "password": PASSWORD,
        **PERSON_WITH_BAD_CCCD,
    })

    assert response.status_code == 400
    assert field_message(response, "id_number") == BAD_CCCD[lang]
    assert row_counts() == before


@pytest.mark.parametrize(("language", "lang"), LANGUAGES)
def test_a_wrong_otp_is_explained_by_the_api(api, units, language, lang) -> None:
    otp_request(phone=PHONE, purpose=OtpPurpose.REGISTER)
    before = row_counts()

    response = api(language=language).post("/auth/register", {
        "phone": PHONE, "code": a_wrong_code_for(PHONE), "password": PASSWORD,
        "full_name": "Hoàng Thị Lan",
    })

    assert response.status_code == 400
    assert field_message(response, "code") == BAD_OTP[lang]
    assert row_counts() == before


def test_several_bad_fields_are_reported_together(api, units) -> None:
    response = api().post("/auth/register", {
        "phone": "12", "code": "123456", "password": "123", "full_name": " ",
        "birth_year": 1990, "sex": "female", "id_number": "004090123456",
    })

    assert response.status_code == 400
    fields = {item["field"] for item in response.json()["errors"]}
    assert {"phone", "password", "full_name", "id_number"} <= fields


def test_unknown_fields_in_a_request_are_refused(api, units) -> None:
    response = api().post("/auth/otp", {"phone": PHONE, "purpose": "register", "admin": True})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "admin"


# --- Through the HTML forms -------------------------------------------------------


def register_step_one(client: Client, **fields: Any) -> Any:
    data = {"phone": "0987654321", "full_name": "Hoàng Thị Lan", "password": PASSWORD} | fields
    return client.post("/accounts/register/", data)


@pytest.mark.parametrize(("language", "lang"), LANGUAGES)
def test_a_bad_phone_number_is_explained_on_the_form(units, language, lang) -> None:
    before = row_counts()

    response = register_step_one(html_client(language), phone="0912 345 67")

    assert response.status_code == 200
    assert BAD_PHONE[lang] in response.content.decode()
    assert response.context["form"].errors["phone"] == [BAD_PHONE[lang]]
    assert row_counts() == before


@pytest.mark.parametrize(("language", "lang"), LANGUAGES)
def test_a_bad_cccd_is_explained_on_the_form(units, language, lang) -> None:
    before = row_counts()

    response = register_step_one(
        html_client(language), birth_year="1990", sex="female", id_number="004090123456"
    )

    assert response.status_code == 200
    assert response.context["form"].errors["id_number"] == [BAD_CCCD[lang]]
    assert row_counts() == before


@pytest.mark.parametrize(("language", "lang"), LANGUAGES)
def test_a_wrong_otp_is_explained_on_the_form(units, language, lang) -> None:
    client = html_client(language)
    register_step_one(client)
    before = row_counts()

    response = client.post("/accounts/register/verify/", {
        "code": a_wrong_code_for(PHONE), "password": PASSWORD,
    })

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [BAD_OTP[lang]]
    assert BAD_OTP[lang] in response.content.decode()
    assert row_counts() == before


def test_the_language_chosen_on_the_site_is_used_for_messages(units) -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    response = register_step_one(client, phone="0912 345 67")

    assert response.context["form"].errors["phone"] == [BAD_PHONE["en"]]
