"""Officers grant and revoke roles inside their scope only, and every change
is audited."""

from django.test import Client

from truyvet.accounts.models import Role, RoleAssignment
from truyvet.core.models import AuditAction, AuditEvent


def grant(api, actor, **body):
    return api(actor).post("/roles", body)


def test_an_officer_grants_a_role_inside_their_district(api, personas) -> None:
    an_lac = personas.units.an_lac

    response = grant(api, personas.district_officer, phone="0912 000 006",
                     role="commune_officer", unit_code=an_lac.code)

    assert response.status_code == 201
    assert response.json()["role"] == "commune_officer"
    assert response.json()["unit"]["code"] == an_lac.code
    assert response.json()["user_phone"] == "0912***006"
    assert RoleAssignment.objects.filter(
        user=personas.controller, role=Role.COMMUNE_OFFICER, unit=an_lac
    ).exists()
    event = AuditEvent.objects.filter(action=AuditAction.ROLE_GRANT).latest("id")
    assert event.actor == personas.district_officer
    assert event.subject_person == personas.controller.person
    assert event.unit == an_lac
    assert event.ip_address == "127.0.0.1"


def test_an_officer_cannot_grant_a_role_in_another_district(api, personas) -> None:
    before = AuditEvent.objects.count()

    response = grant(api, personas.neighbour_officer, phone="0912000006",
                     role="commune_officer", unit_code=personas.units.an_lac.code)

    assert response.status_code == 403
    assert not RoleAssignment.objects.filter(user=personas.controller).exists()
    assert AuditEvent.objects.count() == before


def test_an_officer_cannot_make_anyone_system_admin(api, personas) -> None:
    response = grant(api, personas.province_officer, phone="0912000006", role="system_admin")

    assert response.status_code == 403
    assert not RoleAssignment.objects.filter(user=personas.controller).exists()


def test_an_admin_grants_system_admin_without_a_unit(api, personas) -> None:
    response = grant(api, personas.admin, phone="0912000006", role="system_admin")

    assert response.status_code == 201
    assert response.json()["unit"] is None


def test_unknown_phone_unit_and_role_are_reported_together(api, personas) -> None:
    response = grant(api, personas.district_officer, phone="0987654321", role="mayor",
                     unit_code="99999")

    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"phone", "role", "unit_code"}


def test_a_role_must_match_the_level_of_its_unit(api, personas) -> None:
    response = grant(api, personas.district_officer, phone="0912000006",
                     role="district_officer", unit_code=personas.units.an_lac.code)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "unit"


def test_officers_see_the_roles_of_their_scope_only(api, personas) -> None:
    district = api(personas.district_officer).get("/roles").json()
    neighbour = api(personas.neighbour_officer).get("/roles").json()
    admin = api(personas.admin).get("/roles").json()

    district_users = {r["user_id"] for r in district}
    assert personas.commune_officer.pk in district_users
    assert personas.health_worker.pk in district_users
    assert personas.neighbour_officer.pk not in district_users
    assert personas.province_officer.pk not in district_users  # the province is above them
    assert {r["user_id"] for r in neighbour} == {personas.neighbour_officer.pk}
    assert personas.admin.pk in {r["user_id"] for r in admin}


def test_the_roles_list_costs_a_fixed_number_of_queries(
    api, personas, django_assert_max_num_queries
) -> None:
    admin = api(personas.admin)

    # the token and its last-used time, the caller's roles, then one query for the list
    with django_assert_max_num_queries(4):
        rows = admin.get("/roles").json()

    assert len(rows) == 6
    assert all(r["unit"] is None or r["unit"]["full_name"] for r in rows)


def test_citizens_and_health_workers_cannot_manage_roles(api, personas) -> None:
    assert api(personas.citizen).get("/roles").status_code == 403
    assert api(personas.health_worker).get("/roles").status_code == 403
    assert grant(api, personas.health_worker, phone="0912000006", role="commune_officer",
                 unit_code=personas.units.an_lac.code).status_code == 403


def test_an_officer_revokes_a_role_in_their_scope_and_it_is_audited(api, personas) -> None:
    # Changed with issue 12: the role revoked is one the district granted;
    # the persona's own role was granted by the system admin, and only a
    # system admin may revoke that (tests/security/test_sessions_and_roles.py).
    grant(api, personas.district_officer, phone="0912000006", role="commune_officer",
          unit_code=personas.units.an_lac.code)
    assignment = RoleAssignment.objects.get(user=personas.controller)

    response = api(personas.district_officer).delete(f"/roles/{assignment.pk}")

    assert response.status_code == 204
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    event = AuditEvent.objects.filter(action=AuditAction.ROLE_REVOKE).latest("id")
    assert event.actor == personas.district_officer
    assert event.subject_person == personas.controller.person
    assert event.target == f"role:{assignment.pk}"
    # The revoked officer loses access at once.
    assert api(personas.controller).get("/people", q="hoa").status_code == 403


def test_a_role_outside_the_scope_cannot_be_revoked_or_even_seen(api, personas) -> None:
    assignment = RoleAssignment.objects.get(user=personas.commune_officer)

    response = api(personas.neighbour_officer).delete(f"/roles/{assignment.pk}")

    assert response.status_code == 404
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_the_roles_page_grants_and_revokes(personas) -> None:
    client = Client()
    client.force_login(personas.district_officer)
    assert client.get("/accounts/roles/").status_code == 200

    granted = client.post("/accounts/roles/", {
        "action": "grant", "phone": "0912000006", "role": "health_worker",
        "unit_code": personas.units.an_lac.code,
    })
    assert granted.status_code == 302
    assignment = RoleAssignment.objects.get(user=personas.controller)

    revoked = client.post("/accounts/roles/", {"action": "revoke", "assignment": assignment.pk})
    assert revoked.status_code == 302
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_the_roles_page_shows_grant_errors_next_to_the_fields(personas) -> None:
    client = Client()
    client.force_login(personas.district_officer)

    response = client.post("/accounts/roles/", {
        "action": "grant", "phone": "0987654321", "role": "commune_officer",
        "unit_code": personas.units.ha_lang.code,
    })

    form = response.context["form"]
    assert "phone" in form.errors
    assert response.status_code == 200


def test_the_roles_page_offers_system_admin_only_to_admins(personas) -> None:
    client = Client()
    client.force_login(personas.district_officer)

    roles = dict(client.get("/accounts/roles/").context["form"].fields["role"].choices)

    assert "system_admin" not in roles
    assert "commune_officer" in roles


def test_the_roles_page_is_403_for_citizens(personas) -> None:
    client = Client()
    client.force_login(personas.citizen)

    assert client.get("/accounts/roles/").status_code == 403
