"""Who may see and do what in tracing: every role against every endpoint and
page, masking of contacts outside one's scope, and no leaks through 404s.

The case is Hoa's (Thị trấn Thanh Nhật, Hạ Lang). Health workers and
officers covering Hạ Lang see it; the Quảng Hòa officer, the system admin,
venue staff and citizens do not.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.test_error_shape import assert_error_shape
from truyvet.core.models import AuditEvent
from truyvet.tracing import selectors, services
from truyvet.tracing.models import Case, Contact, ContactTask
from truyvet.tracing.tests.conftest import f0

IN_SCOPE = ["health_worker", "district_officer", "commune_officer", "province_officer"]
OUT_OF_SCOPE = ["neighbour_officer", "admin", "venue_owner", "controller", "citizen",
                "other_citizen"]
NOT_TRACERS = ["admin", "venue_owner", "controller", "citizen", "other_citizen"]


@pytest.fixture
def case(personas: Any, story: dict[str, Any]) -> Case:
    traced = f0(personas)
    services.trace_run(actor=personas.health_worker, case=traced)
    return traced


def reads(case: Case) -> list[str]:
    return [
        f"/tracing/cases/{case.pk}", f"/tracing/cases/{case.pk}/timeline",
        f"/tracing/cases/{case.pk}/contacts", f"/tracing/cases/{case.pk}/timeline.pdf",
        f"/tracing/cases/{case.pk}/timeline.xlsx",
    ]


def writes(case: Case) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"/tracing/cases/{case.pk}/trace", {}),
        (f"/tracing/cases/{case.pk}/expand", {"contact_ids": [1], "depth": 2}),
        (f"/tracing/cases/{case.pk}/alerts", {}),
        (f"/tracing/cases/{case.pk}/window",
         {"start": "2021-11-20T00:00:00+07:00", "reason": "Thử quyền truy cập"}),
        (f"/tracing/cases/{case.pk}/isolation",
         {"isolation_place": "Nhà", "isolated_at": "2021-11-20T00:00:00+07:00"}),
        (f"/tracing/cases/{case.pk}/reclassify", {"test_date": "2021-11-20", "test_type": "pcr"}),
        (f"/tracing/cases/{case.pk}/close", {"outcome": "recovered"}),
    ]


@pytest.mark.django_db
class TestTheApi:
    @pytest.mark.parametrize("role", IN_SCOPE)
    def test_officials_covering_the_case_read_it(
        self, api: Any, personas: Any, case: Case, role: str
    ) -> None:
        caller = api(getattr(personas, role))
        for path in reads(case):
            assert caller.get(path).status_code == 200, path
        assert [c["id"] for c in caller.get("/tracing/cases").json()] == [case.pk]

    @pytest.mark.parametrize("role", OUT_OF_SCOPE)
    def test_everyone_else_gets_the_same_404_and_nothing_is_audited_or_changed(
        self, api: Any, personas: Any, case: Case, role: str
    ) -> None:
        caller = api(getattr(personas, role))
        audited = AuditEvent.objects.count()
        contacts = Contact.objects.count()
        missing = assert_error_shape(caller.get("/tracing/cases/999999"), 404)
        for path in reads(case):
            assert assert_error_shape(caller.get(path), 404) == missing, path
        for path, body in writes(case):
            assert assert_error_shape(caller.post(path, body), 404) == missing, path
        assert AuditEvent.objects.count() == audited
        assert Contact.objects.count() == contacts
        case.refresh_from_db()
        assert case.is_open and not case.window_manual

    @pytest.mark.parametrize("role", NOT_TRACERS)
    def test_people_without_a_tracing_role_cannot_list_cases_or_tasks(
        self, api: Any, personas: Any, case: Case, role: str
    ) -> None:
        caller = api(getattr(personas, role))
        assert_error_shape(caller.get("/tracing/cases"), 403)
        assert_error_shape(caller.get("/tracing/tasks"), 403)

    def test_the_neighbouring_district_lists_no_hạ_lang_case(
        self, api: Any, personas: Any, case: Case
    ) -> None:
        assert api(personas.neighbour_officer).get("/tracing/cases").json() == []

    def test_a_commune_officer_sees_only_cases_of_their_commune(
        self, api: Any, personas: Any, case: Case, story: dict[str, Any]
    ) -> None:
        other = f0(personas, person=story["lan"])  # lives in An Lạc
        caller = api(personas.commune_officer)
        assert [c["id"] for c in caller.get("/tracing/cases").json()] == [case.pk]
        assert_error_shape(caller.get(f"/tracing/cases/{other.pk}"), 404)

    def test_anonymous_callers_must_log_in_except_for_the_public_feed(
        self, api: Any, case: Case
    ) -> None:
        anonymous = api()
        for path in ["/tracing/cases", "/tracing/tasks", "/tracing/me/exposures",
                     *reads(case)]:
            assert_error_shape(anonymous.get(path), 401)
        assert anonymous.get("/tracing/exposure-sites").status_code == 200

    def test_bad_input_gets_a_clear_error_in_the_user_s_language(
        self, api: Any, personas: Any, case: Case
    ) -> None:
        english = api(personas.health_worker, language="en")
        body = assert_error_shape(english.post(f"/tracing/cases/{case.pk}/window",
                                               {"start": "2021-11-20T00:00:00+07:00",
                                                "reason": "x"}), 400)
        messages = {e["field"]: e["message"] for e in body["errors"]}
        assert messages == {
            "start": "The date is too far back (more than 90 days ago).",
            "reason": "State the reason for the change (at least 5 characters).",
        }
        vietnamese = api(personas.health_worker)
        body = assert_error_shape(vietnamese.post("/tracing/cases", {"person_id": 1}), 422)
        assert body["error"] == "Dữ liệu gửi lên không hợp lệ."
        body = assert_error_shape(vietnamese.post(f"/tracing/cases/{case.pk}/close",
                                                  {"outcome": "vanished"}), 400)
        assert body["errors"][0]["message"] == "Hãy chọn kết quả khi đóng ca bệnh."


@pytest.mark.django_db
class TestMasking:
    def test_contacts_living_outside_the_officer_s_scope_are_masked(
        self, personas: Any, case: Case, story: dict[str, Any]
    ) -> None:
        rows = {r.contact.person: r for r in selectors.case_contacts_for(
            viewer=personas.district_officer, case=case)}

        duc = rows[story["duc"]]  # lives in Quảng Hòa
        assert duc.masked and duc.name == "L. V. Đức"
        assert duc.phone == "0912***008"
        lan = rows[story["lan"]]
        assert not lan.masked and lan.name == "Hoàng Thị Lan" and lan.phone == "+84912888001"
        # Only the unmasked contacts' reads are audited, one row each.
        shown = AuditEvent.objects.filter(detail__kind="case.contacts")
        assert {e.subject_person for e in shown} == {
            story["lan"], story["son"], story["tam"]}

    def test_a_province_officer_sees_both_districts_unmasked(
        self, personas: Any, case: Case, story: dict[str, Any]
    ) -> None:
        rows = selectors.case_contacts_for(viewer=personas.province_officer, case=case)
        assert not any(r.masked for r in rows)

    def test_the_api_masks_the_same_way(
        self, api: Any, personas: Any, case: Case, story: dict[str, Any]
    ) -> None:
        contacts = api(personas.commune_officer).get(f"/tracing/cases/{case.pk}/contacts").json()
        by_name = {c["name"]: c for c in contacts}
        assert by_name["L. V. Đức"]["masked"] is True
        assert "Lương Văn Đức" not in str(contacts)
        assert by_name["H. T. Lan"]["masked"] is True  # An Lạc is outside Thanh Nhật
        assert by_name["Vi Văn Tâm"]["masked"] is False

    def test_the_contact_s_own_district_works_the_task_without_seeing_the_case(
        self, api: Any, personas: Any, case: Case, story: dict[str, Any]
    ) -> None:
        neighbour = api(personas.neighbour_officer)
        tasks = neighbour.get("/tracing/tasks").json()
        assert [t["name"] for t in tasks] == ["L. V. Đức"]
        task_id = tasks[0]["id"]

        detail = neighbour.get(f"/tracing/tasks/{task_id}").json()
        assert detail["name"] == "Lương Văn Đức" and detail["phone"] == "+84912000008"
        assert detail["case_unit"] == "Huyện Hạ Lang"
        assert personas.citizen.person.full_name not in str(detail)
        assert AuditEvent.objects.filter(detail__kind="contact_task.read",
                                         actor=personas.neighbour_officer).count() == 1

        done = neighbour.post(f"/tracing/tasks/{task_id}",
                              {"status": "reached", "note": "Đã cách ly tại nhà"})
        assert done.status_code == 200 and done.json()["status"] == "reached"
        assert_error_shape(neighbour.get(f"/tracing/cases/{case.pk}"), 404)

    def test_tasks_of_another_unit_are_not_found(
        self, api: Any, personas: Any, case: Case, story: dict[str, Any]
    ) -> None:
        lan_task = ContactTask.objects.get(contact__person=story["lan"])
        neighbour = api(personas.neighbour_officer)
        assert_error_shape(neighbour.get(f"/tracing/tasks/{lan_task.pk}"), 404)
        assert_error_shape(neighbour.post(f"/tracing/tasks/{lan_task.pk}",
                                          {"status": "dismissed"}), 404)
        lan_task.refresh_from_db()
        assert lan_task.status == "open"


@pytest.mark.django_db
class TestThePages:
    @pytest.mark.parametrize("role", IN_SCOPE)
    def test_officials_covering_the_case_open_its_pages(
        self, client: Client, personas: Any, case: Case, role: str
    ) -> None:
        client.force_login(getattr(personas, role))
        for path in ["/tracing/", f"/tracing/cases/{case.pk}/", "/tracing/tasks/",
                     "/tracing/cases/new/"]:
            assert client.get(path).status_code == 200, path

    @pytest.mark.parametrize("role", NOT_TRACERS)
    def test_others_are_refused(
        self, client: Client, personas: Any, case: Case, role: str
    ) -> None:
        client.force_login(getattr(personas, role))
        for path in ["/tracing/", "/tracing/tasks/", "/tracing/cases/new/"]:
            assert client.get(path).status_code == 403, path
        for path in [f"/tracing/cases/{case.pk}/", f"/tracing/cases/{case.pk}/timeline.pdf"]:
            assert client.get(path).status_code == 403, path

    def test_the_neighbouring_officer_gets_404_for_the_case_page(
        self, client: Client, personas: Any, case: Case
    ) -> None:
        client.force_login(personas.neighbour_officer)
        assert client.get(f"/tracing/cases/{case.pk}/").status_code == 404
        assert client.post(f"/tracing/cases/{case.pk}/", {"action": "trace"}).status_code == 404
        assert client.get(f"/tracing/cases/{case.pk}/timeline.xlsx").status_code == 404

    def test_anonymous_visitors_are_sent_to_log_in_but_see_the_public_sites(
        self, client: Client, case: Case
    ) -> None:
        assert client.get(f"/tracing/cases/{case.pk}/").status_code == 302
        assert client.get("/tracing/me/exposure/").status_code == 302
        assert client.get("/tracing/exposure-sites/").status_code == 200
