"""Every accounts page renders for whoever may see it, sends anonymous
visitors to the login page, and refuses the rest."""

import pytest
from django.test import Client

OFFICIAL_PAGES = ["/accounts/people/", "/accounts/people/new/"]
OFFICER_PAGES = ["/accounts/roles/", "/accounts/audit/"]
PRIVATE_PAGES = ["/accounts/me/", *OFFICIAL_PAGES, *OFFICER_PAGES]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/register/",
                                 "/accounts/password-reset/"])
def test_the_public_pages_render_in_both_languages(db, url) -> None:
    assert "Đăng nhập" in Client().get(url).content.decode()
    english = Client(headers={"Accept-Language": "en"}).get(url).content.decode()
    assert "Log in" in english


@pytest.mark.parametrize("url", PRIVATE_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(db, url) -> None:
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", OFFICIAL_PAGES + OFFICER_PAGES)
def test_citizens_are_refused_the_officials_pages(personas, url) -> None:
    assert logged_in(personas.citizen).get(url).status_code == 403


@pytest.mark.parametrize("url", OFFICER_PAGES)
def test_health_workers_are_refused_the_officers_pages(personas, url) -> None:
    assert logged_in(personas.health_worker).get(url).status_code == 403


@pytest.mark.parametrize("url", PRIVATE_PAGES)
def test_an_officer_opens_every_page(personas, url) -> None:
    assert logged_in(personas.district_officer).get(url).status_code == 200


def test_the_profile_shows_my_own_data_unmasked_and_my_roles(personas) -> None:
    page = logged_in(personas.district_officer).get("/accounts/me/").content.decode()

    assert "Nông Thị Lan" in page
    assert "+84912000001" in page
    assert "Cán bộ huyện" in page
    assert "Huyện Hạ Lang" in page


def test_an_official_opening_their_own_record_is_sent_to_the_profile(personas) -> None:
    client = logged_in(personas.district_officer)

    response = client.get(f"/accounts/people/{personas.district_officer.person_id}/")

    assert response["Location"] == "/accounts/me/"


def test_logging_out_needs_a_post(personas) -> None:
    client = logged_in(personas.citizen)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_staff_see_people_masked_in_the_admin_site(personas) -> None:
    from truyvet.accounts.models import User

    staff = User.objects.get(pk=personas.admin.pk)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = logged_in(staff)

    people = client.get("/django-admin/accounts/person/").content.decode()

    assert "N. T. Hoa" in people
    assert "004190123456" not in people
    assert client.get("/django-admin/accounts/user/").status_code == 200
    assert client.get("/django-admin/accounts/roleassignment/").status_code == 200
    assert client.get("/django-admin/accounts/roleassignment/add/").status_code == 403
