"""Rate limits on SMS codes and lockouts on guessing, with 429 and
Retry-After so that clients know when to come back."""

import importlib

from django.test import Client

from truyvet.accounts.models import OneTimeCode, User
from truyvet.core import sms
from truyvet.testing import PASSWORD, last_otp_sent_to

PHONE = "+84987654321"


def ask_for_code(api, phone: str = PHONE, purpose: str = "register"):
    return api().post("/auth/otp", {"phone": phone, "purpose": purpose})


def test_a_second_code_within_the_resend_interval_is_refused(api, units, settings) -> None:
    settings.OTP_RESEND_SECONDS = 60
    assert ask_for_code(api).status_code == 202

    again = ask_for_code(api)

    assert again.status_code == 429
    assert 0 < int(again["Retry-After"]) <= 60
    assert again.json()["code"] == "rate_limited"
    assert "Vui lòng đợi" in again.json()["error"]
    assert len(sms.outbox) == 1


def test_a_number_gets_at_most_the_hourly_number_of_codes(api, units, settings) -> None:
    settings.OTP_RESEND_SECONDS = 0
    settings.OTP_MAX_PER_HOUR = 3
    for _ in range(3):
        assert ask_for_code(api).status_code == 202

    refused = ask_for_code(api)

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "quá nhiều mã trong một giờ" in refused.json()["error"]
    assert len(sms.outbox) == 3
    assert OneTimeCode.objects.filter(phone=PHONE).count() == 3


def test_one_device_cannot_ask_for_codes_for_many_numbers(api, units, settings) -> None:
    settings.RATELIMIT_PER_IP_PER_HOUR = 2
    assert ask_for_code(api, "0987654321").status_code == 202
    assert ask_for_code(api, "0987654322").status_code == 202

    refused = ask_for_code(api, "0987654323")

    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_a_code_dies_after_too_many_wrong_guesses(api, units, settings) -> None:
    ask_for_code(api)
    right = last_otp_sent_to(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    body = {"phone": PHONE, "password": PASSWORD, "full_name": "Hoàng Thị Lan"}
    for _ in range(settings.OTP_MAX_ATTEMPTS):
        assert api().post("/auth/register", body | {"code": wrong}).status_code == 400

    too_late = api().post("/auth/register", body | {"code": right})

    assert too_late.status_code == 400
    assert too_late.json()["errors"][0]["code"] == "otp_locked"
    assert not User.objects.filter(phone=PHONE).exists()


def test_the_last_wrong_guess_says_to_ask_for_a_new_code(api, units, settings) -> None:
    settings.OTP_MAX_ATTEMPTS = 2
    ask_for_code(api)
    wrong = "000000" if last_otp_sent_to(PHONE) != "000000" else "111111"
    body = {"phone": PHONE, "password": PASSWORD, "full_name": "Hoàng Thị Lan", "code": wrong}

    first = api().post("/auth/register", body).json()["errors"][0]["message"]
    second = api().post("/auth/register", body).json()["errors"][0]["message"]

    assert first == "Mã OTP không đúng. Bạn còn 1 lần thử."
    assert second == "Mã OTP không đúng. Hãy yêu cầu mã mới."


# --- Logging in -----------------------------------------------------------------------


def login(api, password: str, phone: str = "0912 000 007"):
    return api().post("/auth/login", {"phone": phone, "password": password})


def test_a_citizen_logs_in_and_uses_the_token(api, personas) -> None:
    response = login(api, PASSWORD)

    assert response.status_code == 200
    token = response.json()["token"]
    me = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["full_name"] == "Nguyễn Thị Hoa"


def test_a_wrong_password_is_a_401_that_names_no_field(api, personas) -> None:
    response = login(api, "wrong-password")

    assert response.status_code == 401
    assert response.json()["code"] == "bad_credentials"
    assert response.json()["error"] == "Số điện thoại hoặc mật khẩu không đúng."


def test_an_unknown_number_gets_the_same_answer_as_a_wrong_password(api, personas) -> None:
    unknown = login(api, PASSWORD, phone="0987654321")
    wrong = login(api, "wrong-password")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_an_account_locks_after_too_many_wrong_passwords(api, personas, settings) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert login(api, "wrong-password").status_code == 401

    locked = login(api, PASSWORD)

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.LOGIN_LOCKOUT_SECONDS
    assert "tạm khoá" in locked.json()["error"]


def test_the_login_page_shows_the_lockout_with_429(personas, settings) -> None:
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post("/accounts/login/", {"phone": "0912000007", "password": "wrong-password"})

    response = client.post("/accounts/login/", {"phone": "0912000007", "password": PASSWORD})

    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.LOGIN_LOCKOUT_SECONDS)
    assert "tạm khoá" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logging_out_revokes_the_token(api, personas) -> None:
    token = login(api, PASSWORD).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client = Client()

    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200

    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_password_is_reset_with_a_code_by_sms(api, personas, settings) -> None:
    settings.OTP_RESEND_SECONDS = 0  # the persona registered a moment ago
    old_token = login(api, PASSWORD).json()["token"]
    assert ask_for_code(api, "0912000007", "reset").status_code == 202

    reset = api().post("/auth/password-reset", {
        "phone": "0912000007", "code": last_otp_sent_to("+84912000007"),
        "new_password": "Mat-khau-moi-2021",
    })

    assert reset.status_code == 200
    assert login(api, "Mat-khau-moi-2021").status_code == 200
    assert login(api, PASSWORD).status_code == 401
    old = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"})
    assert old.status_code == 401


def test_asking_to_reset_an_unknown_number_looks_the_same_but_sends_nothing(api, units) -> None:
    response = ask_for_code(api, "0987654321", "reset")

    assert response.status_code == 202
    assert sms.outbox == []


def test_a_password_is_reset_through_the_pages(personas, settings) -> None:
    settings.OTP_RESEND_SECONDS = 0  # the persona registered a moment ago
    client = Client()
    asked = client.post("/accounts/password-reset/", {"action": "send", "phone": "0912000007"})
    assert asked.status_code == 302

    page = client.get("/accounts/password-reset/")
    assert "0912***007" in page.content.decode()
    done = client.post("/accounts/password-reset/", {
        "action": "reset", "code": last_otp_sent_to("+84912000007"),
        "new_password": "Mat-khau-moi-2021", "new_password_again": "Mat-khau-moi-2021",
    })

    assert done.status_code == 302
    assert done["Location"] == "/accounts/login/"
    assert User.objects.get(phone="+84912000007").check_password("Mat-khau-moi-2021")


def test_the_login_page_logs_in_and_follows_next(personas) -> None:
    client = Client()

    response = client.post(
        "/accounts/login/?next=/accounts/me/", {"phone": "0912 000 007", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/me/"
    assert int(client.session["_auth_user_id"]) == personas.citizen.pk


def test_the_login_page_ignores_a_next_pointing_elsewhere(personas) -> None:
    response = Client().post(
        "/accounts/login/", {"phone": "0912000007", "password": PASSWORD,
                             "next": "https://evil.example/"}
    )

    assert response["Location"] == "/"


def test_production_hashes_passwords_with_argon2() -> None:
    # The project settings module itself: tests swap in MD5 only for speed.
    project_settings = importlib.import_module("truyvet.settings")

    assert project_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )
