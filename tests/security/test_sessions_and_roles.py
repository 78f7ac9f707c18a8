"""Sessions one cannot see or end, roles revoked from below, and limits
keyed on our own proxy (issue 12, lows).

- Logout revoked only the current token: a stolen phone or a shared
  computer stayed signed in. People now list their browser sessions and
  app tokens and end any of them.
- A commune officer could revoke a role that the district granted. Only
  the granting tier or a wider one may now.
- With BEHIND_TLS_PROXY=true the last X-Forwarded-For entry keyed the
  limits: behind a load balancer in front of nginx, that is the balancer,
  so one person's wrong passwords locked out everyone.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from truyvet.accounts.models import OtpPurpose, RoleAssignment
from truyvet.accounts.services import otp_request, role_grant
from truyvet.core.requests import client_ip
from truyvet.testing import PASSWORD, ApiClient, last_otp_sent_to

HOA_PHONE = "0912000007"  # personas.citizen


def signed_in_browser() -> Client:
    browser = Client()
    answer = browser.post("/accounts/login/", {"phone": HOA_PHONE, "password": PASSWORD})
    assert answer.status_code == 302
    return browser


def is_signed_in(browser: Client) -> bool:
    return browser.get("/accounts/me/").status_code == 200


# --- Sessions and tokens ------------------------------------------------------------------


def test_a_browser_left_signed_in_elsewhere_can_be_signed_out(personas: Any) -> None:
    at_home, at_the_shop = signed_in_browser(), signed_in_browser()
    listed = ApiClient(personas.citizen).get("/me/devices").json()["sessions"]
    page = at_home.get("/accounts/me/devices/")
    shop = next(s for s in page.context["sessions"]
                if s.session_key != at_home.session.session_key)

    at_home.post("/accounts/me/devices/", {"action": "session", "id": shop.pk})

    assert len(listed) == 2
    assert "Thiết bị này" in page.content.decode()
    assert not is_signed_in(at_the_shop)
    assert is_signed_in(at_home)


def test_an_app_token_can_be_revoked_from_another_device(personas: Any) -> None:
    lost_phone = ApiClient().post("/auth/login", {
        "phone": HOA_PHONE, "password": PASSWORD, "token_label": "Điện thoại bị mất"}).json()
    here = ApiClient(personas.citizen)
    tokens = here.get("/me/devices").json()["tokens"]
    lost = next(t for t in tokens if t["label"] == "Điện thoại bị mất")
    assert [t["current"] for t in tokens].count(True) == 1

    assert here.delete(f"/me/tokens/{lost['id']}").status_code == 204

    stolen = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {lost_phone['token']}"})
    assert stolen.status_code == 401
    assert here.get("/me").status_code == 200


def test_signing_out_everywhere_else_keeps_only_this_device(personas: Any) -> None:
    at_home, at_the_shop = signed_in_browser(), signed_in_browser()
    app_token = ApiClient().post("/auth/login", {"phone": HOA_PHONE, "password": PASSWORD})

    at_home.post("/accounts/me/devices/", {"action": "others"})

    assert is_signed_in(at_home) and not is_signed_in(at_the_shop)
    app = Client().get("/api/v1/me",
                       headers={"Authorization": f"Bearer {app_token.json()['token']}"})
    assert app.status_code == 401


def test_nobody_ends_someone_else_s_session(personas: Any) -> None:
    signed_in_browser()
    hoa_session = ApiClient(personas.citizen).get("/me/devices").json()["sessions"][0]
    hoa_token = ApiClient(personas.citizen).get("/me/devices").json()["tokens"][0]
    stranger = ApiClient(personas.other_citizen)

    assert stranger.delete(f"/me/sessions/{hoa_session['id']}").status_code == 404
    assert stranger.delete(f"/me/tokens/{hoa_token['id']}").status_code == 404
    assert len(ApiClient(personas.citizen).get("/me/devices").json()["sessions"]) == 1


def test_a_password_reset_signs_out_every_browser_too(personas: Any, settings: Any) -> None:
    settings.OTP_RESEND_SECONDS = 0
    browser = signed_in_browser()
    otp_request(phone=HOA_PHONE, purpose=OtpPurpose.RESET_PASSWORD)

    ApiClient().post("/auth/password-reset", {
        "phone": HOA_PHONE, "code": last_otp_sent_to("+84912000007"),
        "new_password": "Mat-khau-moi-2021"})

    assert not is_signed_in(browser)
    assert ApiClient(personas.citizen).get("/me/devices").json()["sessions"] == []


# --- Revoking roles -----------------------------------------------------------------------


@pytest.fixture
def granted_by_the_district(personas: Any) -> RoleAssignment:
    """The district makes the controller a health worker of Thanh Nhật, the
    commune officer's own commune."""
    return role_grant(actor=personas.district_officer, user=personas.controller,
                      role="health_worker", unit=personas.units.thanh_nhat)


def test_a_commune_officer_cannot_revoke_what_the_district_granted(
    personas: Any, granted_by_the_district: RoleAssignment
) -> None:
    commune = ApiClient(personas.commune_officer)

    refused = commune.delete(f"/roles/{granted_by_the_district.pk}")

    assert refused.status_code == 403
    assert RoleAssignment.objects.filter(pk=granted_by_the_district.pk).exists()
    page = Client()
    page.force_login(personas.commune_officer)
    assert page.post("/accounts/roles/", {
        "action": "revoke", "assignment": granted_by_the_district.pk}).status_code == 302
    assert RoleAssignment.objects.filter(pk=granted_by_the_district.pk).exists()


@pytest.mark.parametrize("officer", ["district_officer", "province_officer", "admin"])
def test_the_granting_tier_or_a_wider_one_may_revoke_it(
    personas: Any, granted_by_the_district: RoleAssignment, officer: str
) -> None:
    revoked = ApiClient(getattr(personas, officer)).delete(
        f"/roles/{granted_by_the_district.pk}")

    assert revoked.status_code == 204


def test_a_commune_officer_revokes_what_the_commune_granted(personas: Any) -> None:
    granted = role_grant(actor=personas.commune_officer, user=personas.controller,
                         role="health_worker", unit=personas.units.thanh_nhat)

    assert granted.granted_level == 3
    assert ApiClient(personas.commune_officer).delete(f"/roles/{granted.pk}").status_code == 204


def test_only_a_system_admin_revokes_what_a_system_admin_granted(personas: Any) -> None:
    appointed = RoleAssignment.objects.get(user=personas.commune_officer)  # by the admin

    assert ApiClient(personas.district_officer).delete(
        f"/roles/{appointed.pk}").status_code == 403
    assert ApiClient(personas.admin).delete(f"/roles/{appointed.pk}").status_code == 204


# --- The client's address behind proxies ---------------------------------------------------


def _behind(forwarded: str) -> Any:
    return RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.9")


@pytest.mark.parametrize(("hops", "forwarded", "client"), [
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
    (2, "198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
    (2, "203.0.113.7", "203.0.113.7"),
])
def test_the_client_address_is_taken_the_configured_number_of_hops_from_the_right(
    settings: Any, hops: int, forwarded: str, client: str
) -> None:
    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXY_HOPS = hops

    assert client_ip(_behind(forwarded)) == client


def test_behind_a_balancer_one_person_s_guesses_do_not_lock_out_the_rest(
    personas: Any, settings: Any
) -> None:
    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXY_HOPS = 2  # a load balancer, then nginx
    guesser = {"HTTP_X_FORWARDED_FOR": "198.51.100.66, 203.0.113.7, 10.0.0.2"}
    neighbour = {"HTTP_X_FORWARDED_FOR": "203.0.113.8, 10.0.0.2"}
    attempts = settings.LOGIN_MAX_FAILURES * 4 + 1
    for index in range(attempts):
        Client().post("/api/v1/auth/login", {"phone": f"09870{index:05d}", "password": "x"},
                      content_type="application/json", **guesser)

    blocked = Client().post("/api/v1/auth/login", {"phone": HOA_PHONE, "password": PASSWORD},
                            content_type="application/json", **guesser)
    neighbour_logs_in = Client().post(
        "/api/v1/auth/login", {"phone": HOA_PHONE, "password": PASSWORD},
        content_type="application/json", **neighbour)

    assert blocked.status_code == 429  # a forged first entry does not escape the limit
    assert neighbour_logs_in.status_code == 200
