"""The audit log can only grow, and officers read the part about their scope."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.core.services import audit_record


@pytest.fixture
def event(personas) -> AuditEvent:
    return audit_record(
        actor=personas.district_officer, action=AuditAction.PERSON_READ, purpose="Truy vết",
        subject_person=personas.citizen.person, unit=personas.units.thanh_nhat,
    )


def test_an_event_cannot_be_changed_through_the_model(event) -> None:
    event.purpose = "something else"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(purpose="something else")


def test_an_event_cannot_be_deleted_through_the_model(event) -> None:
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_itself_refuses_an_update(event) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET purpose = 'rewritten' WHERE id = %s",
                       [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).purpose == "Truy vết"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite keeps DELETE for Django's test teardown (migration core 0002)",
)
def test_the_database_itself_refuses_a_delete(event) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_officers_read_the_events_of_their_scope(api, personas, event) -> None:
    elsewhere = audit_record(
        actor=personas.neighbour_officer, action=AuditAction.PERSON_READ, purpose="Truy vết",
        subject_person=personas.other_citizen.person, unit=personas.units.quang_hoa_commune,
    )

    district = {e["id"] for e in api(personas.district_officer).get("/audit").json()}
    neighbour = {e["id"] for e in api(personas.neighbour_officer).get("/audit").json()}
    admin = {e["id"] for e in api(personas.admin).get("/audit", limit=200).json()}

    assert event.pk in district and elsewhere.pk not in district
    assert elsewhere.pk in neighbour and event.pk not in neighbour
    assert {event.pk, elsewhere.pk} <= admin


def test_the_audit_log_shows_subjects_masked(api, personas, event) -> None:
    [row] = [e for e in api(personas.district_officer).get("/audit").json()
             if e["id"] == event.pk]

    assert row["subject_name"] == "N. T. Hoa"
    assert row["actor_name"] == "Nông Thị Lan"
    assert row["action_label"]


def test_the_audit_log_filters_by_action_and_time(api, personas, event) -> None:
    officer = api(personas.district_officer)

    reads = officer.get("/audit", action="person.read").json()
    grants = officer.get("/audit", action="role.grant").json()
    future = officer.get("/audit", since="2999-01-01T00:00:00+07:00").json()
    past_local = officer.get("/audit", since="2020-01-01T00:00:00").json()

    assert {e["action"] for e in reads} == {"person.read"}
    assert {e["action"] for e in grants} == {"role.grant"}
    assert future == []
    assert event.pk in {e["id"] for e in past_local}


def test_health_workers_and_citizens_cannot_read_the_audit_log(api, personas) -> None:
    assert api(personas.health_worker).get("/audit").status_code == 403
    assert api(personas.citizen).get("/audit").status_code == 403


def test_the_audit_page_lists_and_filters_events(personas, event) -> None:
    client = Client()
    client.force_login(personas.district_officer)

    page = client.get("/accounts/audit/", {"action": "person.read", "since": "2020-01-01"})

    assert page.status_code == 200
    assert list(page.context["page"].object_list) == [event]
    assert "N. T. Hoa" in page.content.decode()


def test_the_audit_page_is_403_for_citizens(personas) -> None:
    client = Client()
    client.force_login(personas.citizen)

    assert client.get("/accounts/audit/").status_code == 403


def test_the_admin_site_shows_the_audit_log_read_only(personas, event) -> None:
    from django.contrib import admin

    from truyvet.accounts.models import User

    staff = User.objects.get(pk=personas.admin.pk)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    model_admin = admin.site._registry[AuditEvent]
    request = client.get("/django-admin/").wsgi_request

    assert client.get("/django-admin/core/auditevent/").status_code == 200
    assert client.get(f"/django-admin/core/auditevent/{event.pk}/change/").status_code == 200
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
