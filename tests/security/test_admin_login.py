"""/django-admin/login/ had no lockout and no per-address limit (issue 12,
item 6): any number of passwords could be tried there for a staff account.

Decision: the admin's own password form is gone. The page reads no
credentials; staff sign in on the app's login page, with its lockouts, and
reach the admin with that session (which still needs ``is_staff``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from truyvet.testing import PASSWORD

ADMIN_LOGIN = "/django-admin/login/"


@pytest.fixture
def staff(personas: Any) -> Any:
    """The system admin persona, allowed into the Django admin."""
    user = personas.admin
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_the_admin_login_form_checks_no_password(staff: Any) -> None:
    client = Client()

    answer = client.post(ADMIN_LOGIN, {"username": "0900000001", "password": PASSWORD,
                                       "next": "/django-admin/"})

    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_a_list_of_guesses_at_the_admin_login_never_signs_in(staff: Any) -> None:
    client = Client()
    guesses = [f"mat-khau-{n}" for n in range(12)] + [PASSWORD]

    for guess in guesses:
        client.post(ADMIN_LOGIN, {"username": "0900000001", "password": guess,
                                  "next": "/django-admin/"})

    assert "_auth_user_id" not in client.session
    assert client.get("/django-admin/").status_code == 302


def test_staff_reach_the_admin_through_the_app_s_login(staff: Any) -> None:
    client = Client()
    sent = client.get("/django-admin/")
    assert sent.status_code == 302 and sent["Location"].startswith(ADMIN_LOGIN)
    to_app = client.get(sent["Location"])
    assert to_app.status_code == 302 and to_app["Location"].startswith("/accounts/login/")

    signed_in = client.post(to_app["Location"], {"phone": "0900000001", "password": PASSWORD})

    assert signed_in.status_code == 302 and signed_in["Location"] == "/django-admin/"
    assert client.get("/django-admin/").status_code == 200


def test_a_signed_in_citizen_is_refused_rather_than_sent_round_in_circles(
    personas: Any,
) -> None:
    client = Client()
    client.force_login(personas.citizen)

    assert client.get(f"{ADMIN_LOGIN}?next=/django-admin/").status_code == 403


def test_the_next_address_cannot_lead_off_site(staff: Any) -> None:
    client = Client()
    client.force_login(staff)

    answer = client.get(f"{ADMIN_LOGIN}?next=https://evil.example/")

    assert answer["Location"] == "/django-admin/"
