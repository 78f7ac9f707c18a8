import json
import re
from datetime import date

from django.test import Client

from truyvet.accounts.models import OtpPurpose, Person, User
from truyvet.accounts.services import otp_request
from truyvet.accounts.views import PENDING_KEY
from truyvet.core import sms
from truyvet.core.models import AuditEvent
from truyvet.testing import PASSWORD, last_otp_sent_to

PHONE = "+84987654321"


def test_a_citizen_registers_through_the_api_and_gets_a_token(api, units) -> None:
    anonymous = api()
    sent = anonymous.post("/auth/otp", {"phone": "0987 654 321", "purpose": "register"})
    assert sent.status_code == 202
    assert sent.json()["resend_after"] >= 0

    created = anonymous.post("/auth/register", {
        "phone": "0987654321", "code": last_otp_sent_to(PHONE), "password": PASSWORD,
        "full_name": "  Hoàng   Thị Lan ", "birth_date": "1992-03-04", "sex": "female",
        "id_number": "004192654321", "commune_id": units.an_lac.pk, "street": "Thôn Bản Thẳm",
    })

    assert created.status_code == 201
    body = created.json()
    assert body["token_type"] == "Bearer"
    user = User.objects.select_related("person").get(phone=PHONE)
    assert body["person_id"] == user.person_id
    assert user.person.full_name == "Hoàng Thị Lan"
    assert user.person.birth_year == 1992
    assert user.person.commune == units.an_lac
    assert user.phone_verified_at is not None
    assert user.check_password(PASSWORD)

    me = anonymous.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["id_number"] == "004192654321"


def test_a_citizen_registers_through_the_two_step_form(client: Client, units) -> None:
    assert client.get("/accounts/register/").status_code == 200

    step1 = client.post("/accounts/register/", {
        "phone": "0987 654 321", "full_name": "Hoàng Thị Lan", "birth_year": "1992",
        "sex": "female", "id_number": "004192654321", "commune": units.thanh_nhat.pk,
        "street": "Tổ 1", "password": PASSWORD,
    })

    assert step1.status_code == 302
    assert step1["Location"] == "/accounts/register/verify/"
    assert not User.objects.filter(phone=PHONE).exists()
    assert len(sms.outbox) == 1

    page = client.get("/accounts/register/verify/")
    assert "0987***321" in page.content.decode()

    step2 = client.post("/accounts/register/verify/", {
        "code": last_otp_sent_to(PHONE), "password": PASSWORD,
    })

    assert step2.status_code == 302
    assert step2["Location"] == "/accounts/me/"
    user = User.objects.get(phone=PHONE)
    assert user.person.commune == units.thanh_nhat
    assert user.person.id_number == "004192654321"
    assert int(client.session["_auth_user_id"]) == user.pk
    assert PENDING_KEY not in client.session


def test_the_plain_password_is_never_kept_between_the_two_steps(client: Client, units) -> None:
    client.post("/accounts/register/", {
        "phone": "0987654321", "full_name": "Hoàng Thị Lan", "password": PASSWORD,
    })

    pending = client.session[PENDING_KEY]
    assert PASSWORD not in json.dumps(pending)
    assert pending["password_check"] != PASSWORD


def test_step_two_refuses_a_password_that_differs_from_step_one(client: Client, units) -> None:
    client.post("/accounts/register/", {
        "phone": "0987654321", "full_name": "Hoàng Thị Lan", "password": PASSWORD,
    })

    response = client.post("/accounts/register/verify/", {
        "code": last_otp_sent_to(PHONE), "password": "Another-pass-2021",
    })

    assert response.status_code == 200
    assert "không khớp với mật khẩu ở bước 1" in response.content.decode()
    assert not User.objects.filter(phone=PHONE).exists()


def test_step_two_without_step_one_sends_the_user_back(client: Client, db) -> None:
    response = client.get("/accounts/register/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/register/"


def test_going_back_to_fix_a_typo_keeps_the_code_already_sent(client: Client, units) -> None:
    data = {"phone": "0987654321", "full_name": "Hoang Thi Lam", "password": PASSWORD}
    client.post("/accounts/register/", data)
    fixed = client.post("/accounts/register/", data | {"full_name": "Hoàng Thị Lan"})

    assert fixed.status_code == 302
    assert len(sms.outbox) == 1
    client.post("/accounts/register/verify/", {
        "code": last_otp_sent_to(PHONE), "password": PASSWORD,
    })
    assert User.objects.get(phone=PHONE).person.full_name == "Hoàng Thị Lan"


def test_a_commune_typed_without_javascript_is_picked_when_only_one_matches(
    client: Client, units
) -> None:
    client.post("/accounts/register/", {
        "phone": "0987654321", "full_name": "Hoàng Thị Lan", "password": PASSWORD,
        "commune_q": "thanh nhat",
    })

    assert client.session[PENDING_KEY]["commune_id"] == units.thanh_nhat.pk


def test_the_commune_picker_offers_matching_communes(client: Client, units) -> None:
    response = client.get("/accounts/communes/", {"commune_q": "an lac"})

    assert response.status_code == 200
    assert f'value="{units.an_lac.pk}"' in response.content.decode()
    assert "Huyện Hạ Lang" in response.content.decode()


def test_resending_the_code_too_soon_says_how_long_to_wait(client: Client, units) -> None:
    client.post("/accounts/register/", {
        "phone": "0987654321", "full_name": "Hoàng Thị Lan", "password": PASSWORD,
    })

    response = client.post("/accounts/register/verify/", {"resend": "1"}, follow=True)

    assert "Vui lòng đợi" in response.content.decode()
    assert len(sms.outbox) == 1


def test_a_phone_number_with_an_account_gets_a_notice_instead_of_a_code(
    api, personas, settings
) -> None:
    # Changed with issue 12: the answer used to be 400 "taken", which told
    # anyone which numbers have accounts. Now it is the same 202 as for any
    # number, and the holder of the phone is told what happened.
    settings.OTP_RESEND_SECONDS = 0
    response = api().post("/auth/otp", {"phone": "0912000007", "purpose": "register"})

    assert response.status_code == 202
    notice = sms.outbox[-1]
    assert notice.to == "+84912000007"
    assert "đã có tài khoản" in notice.body
    assert not re.search(r"\b\d{6}\b", notice.body)


def test_registering_reads_nobody_s_data_so_writes_no_audit_row(api, units) -> None:
    otp_request(phone=PHONE, purpose=OtpPurpose.REGISTER)
    api().post("/auth/register", {
        "phone": PHONE, "code": last_otp_sent_to(PHONE), "password": PASSWORD,
        "full_name": "Hoàng Thị Lan", "birth_date": str(date(1992, 3, 4)),
    })

    assert Person.objects.filter(phone=PHONE).exists()
    assert not AuditEvent.objects.exists()
