"""The officers' daily lists: the contacts to follow up and a case's
contacts, searched, filtered, ordered and changed in bulk; each contact's
stays shown once, with the case's visits they met inside."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.tracing import services
from truyvet.tracing.models import Contact, ContactTask
from truyvet.tracing.tests.conftest import f0, hours_ago, new_person, visit


def _names(page: str) -> list[str]:
    """The people of a list page, in order (the links of the rows)."""
    return re.findall(r'<a href="/tracing/tasks/\d+/">([^<]+)</a>', page)


@pytest.fixture
def traced(personas: Any, story: dict[str, Any]) -> Any:
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    return case


@pytest.mark.django_db
def test_the_district_officer_finds_the_ha_lang_contacts_of_a_case_with_the_most_shared_time(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.district_officer)

    page = client.get("/tracing/tasks/", {
        "case": traced.pk, "closeness": "shared", "sort": "minutes"}).content.decode()

    # Lan spent an hour at school with Hoa, Tâm 10 + 5 minutes; Sơn came to
    # the market after she had left (no shared time); Đức lives in Quảng Hòa.
    assert _names(page) == ["H. T. Lan", "V. V. Tâm"]
    assert "60 phút" in page and "15 phút" in page
    assert "2 người" in page


@pytest.mark.django_db
def test_the_list_opens_with_the_closest_contacts_first_not_the_buffer_only_ones(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.district_officer)

    page = client.get("/tracing/tasks/").content.decode()

    assert _names(page) == ["H. T. Lan", "V. V. Tâm", "T. V. Sơn"]
    assert "cách 30 phút" in page and not re.search(r"(?<![\d ])0 phút", page)


@pytest.mark.django_db
def test_an_officer_finds_a_contact_by_phone_or_by_name_without_accents(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.district_officer)

    by_phone = client.get("/tracing/tasks/", {"q": "0912 888 001"}).content.decode()
    by_name = client.get("/tracing/tasks/", {"q": "tam"}).content.decode()
    by_commune = client.get("/tracing/tasks/", {
        "commune": personas.units.thanh_nhat.pk}).content.decode()

    assert _names(by_phone) == ["H. T. Lan"]
    assert _names(by_name) == ["V. V. Tâm"]
    assert _names(by_commune) == ["V. V. Tâm", "T. V. Sơn"]  # Lan lives in An Lạc
    lan = Contact.objects.get(person__full_name="Hoàng Thị Lan").person
    found = AuditEvent.objects.filter(action=AuditAction.PERSON_FOUND, subject_person=lan,
                                      actor=personas.district_officer)
    assert found.count() == 1  # the phone search showed her; the commune filter is no search


@pytest.mark.django_db
def test_the_list_sorts_by_gap_by_first_exposure_and_by_status(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.district_officer)
    son = ContactTask.objects.get(contact__person__full_name="Triệu Văn Sơn")
    lan = ContactTask.objects.get(contact__person__full_name="Hoàng Thị Lan")
    services.contact_task_update(actor=personas.district_officer, task=lan, status="reached")

    by_first = _names(client.get("/tracing/tasks/", {"sort": "first"}).content.decode())
    by_status = _names(client.get("/tracing/tasks/", {"sort": "status"}).content.decode())
    open_only = _names(client.get("/tracing/tasks/", {"status": "open"}).content.decode())

    assert by_first[0] == "V. V. Tâm"  # at the market 20 minutes before Hoa, 50 hours ago
    assert by_first[-1] == "H. T. Lan"  # at school 30 hours ago
    assert by_status == ["V. V. Tâm", "T. V. Sơn", "H. T. Lan"]  # the reached one last
    assert open_only == ["V. V. Tâm", "T. V. Sơn"]
    assert son.status == "open"


@pytest.mark.django_db
def test_an_officer_marks_every_contact_found_by_a_filter_as_reached_in_one_step(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.district_officer)
    query = f"?case={traced.pk}&closeness=shared"

    done = client.post(f"/tracing/tasks/{query}", {"matching": "on", "status": "reached"})

    assert done.status_code == 302 and done["Location"].endswith(query.replace("?", "?", 1))
    statuses = dict(ContactTask.objects.values_list("contact__person__full_name", "status"))
    assert statuses["Hoàng Thị Lan"] == statuses["Vi Văn Tâm"] == "reached"
    assert statuses["Triệu Văn Sơn"] == "open"
    assert statuses["Lương Văn Đức"] == "open"  # not theirs: lives in Quảng Hòa
    changes = AuditEvent.objects.filter(action=AuditAction.STATUS_CHANGE,
                                        actor=personas.district_officer)
    assert changes.count() == 2
    assert "Đã chuyển 2 người" in client.get(done["Location"]).content.decode()


@pytest.mark.django_db
def test_ticked_contacts_change_together_but_not_someone_elses(
    client: Client, personas: Any, traced: Any
) -> None:
    mine = list(ContactTask.objects.filter(
        contact__person__full_name__in=["Triệu Văn Sơn", "Vi Văn Tâm"],
    ).values_list("pk", flat=True))
    duc = ContactTask.objects.get(contact__person__full_name="Lương Văn Đức")
    client.force_login(personas.district_officer)

    ticked = client.post("/tracing/tasks/", {"task_ids": mine, "status": "unreachable"})
    refused = client.post("/tracing/tasks/", {"task_ids": [*mine, duc.pk], "status": "dismissed"})
    nothing = client.post("/tracing/tasks/", {"status": "dismissed"})

    assert ticked.status_code == 302
    assert set(ContactTask.objects.filter(pk__in=mine).values_list("status", flat=True)) == {
        "unreachable"}
    assert refused.status_code == 404
    duc.refresh_from_db()
    assert duc.status == "open"
    assert "Hãy chọn ít nhất một người." in nothing.content.decode()


@pytest.mark.django_db
def test_the_api_lists_tasks_with_the_same_search_and_changes_them_in_bulk(
    personas: Any, traced: Any, api: Any
) -> None:
    officer = api(personas.district_officer)

    found = officer.get("/tracing/tasks", case=traced.pk, closeness="shared", sort="minutes")
    ids = [row["id"] for row in found.json()]
    changed = officer.post("/tracing/tasks/bulk", {"task_ids": ids, "status": "reached"})

    assert [row["name"] for row in found.json()] == ["H. T. Lan", "V. V. Tâm"]
    assert changed.status_code == 200 and changed.json() == {"changed": 2}


@pytest.mark.django_db
def test_a_case_page_searches_its_contacts_but_never_the_masked_ones_by_name(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.health_worker)
    url = f"/tracing/cases/{traced.pk}/"

    lan = client.get(url, {"q": "lan"}).content.decode()
    duc = client.get(url, {"q": "Lương Văn Đức"}).content.decode()
    buffer_only = client.get(url, {"closeness": "apart"}).content.decode()
    nearest = client.get(url, {"sort": "minutes"}).content.decode()

    assert "Hoàng Thị Lan" in lan and "Vi Văn Tâm" not in lan
    assert "L. V. Đức" not in duc  # outside the officer's area: no match by name
    assert "Triệu Văn Sơn" in buffer_only and "Hoàng Thị Lan" not in buffer_only
    assert nearest.index("Hoàng Thị Lan") < nearest.index("Vi Văn Tâm") < nearest.index(
        "Triệu Văn Sơn")


@pytest.mark.django_db
def test_a_stay_that_met_two_of_the_case_visits_is_one_row_with_both_visits_inside(
    client: Client, personas: Any, places: Any
) -> None:
    hoa = personas.citizen.person
    start = hours_ago(30).replace(minute=0, second=0, microsecond=0)
    visit(hoa, places.market, start, minutes=10)
    visit(hoa, places.market, start + timedelta(minutes=50), minutes=10)  # came back
    ngan = new_person("Hà Thị Ngân", personas.units.thanh_nhat, "0912777001")
    visit(ngan, places.market, start, minutes=120)  # a stall-holder all morning
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    client.force_login(personas.health_worker)

    page = client.get(f"/tracing/cases/{case.pk}/").content.decode()
    row = page[page.index("Hà Thị Ngân"):]
    row = row[:row.index("</tr>")]

    assert row.count("Chợ Thanh Nhật:") == 1
    assert "(20 phút)" in row  # 10 + 10 minutes together, once
    assert row.count("F0 có mặt") == 2


@pytest.mark.django_db
def test_the_api_gives_each_stay_once_with_the_case_visits_it_met(
    personas: Any, places: Any, api: Any
) -> None:
    hoa = personas.citizen.person
    start = hours_ago(30).replace(minute=0, second=0, microsecond=0)
    visit(hoa, places.market, start, minutes=10)
    visit(hoa, places.market, start + timedelta(minutes=50), minutes=10)
    visit(new_person("Hà Thị Ngân", personas.units.thanh_nhat, "0912777001"), places.market,
          start, minutes=120)
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)

    rows = api(personas.health_worker).get(f"/tracing/cases/{case.pk}/contacts").json()

    ngan = next(row for row in rows if row["name"] == "Hà Thị Ngân")
    assert len(ngan["visits"]) == 2  # one per visit of the case, as before
    assert [(s["venue_name"], s["overlap_minutes"], len(s["met"])) for s in ngan["stays"]] == [
        ("Chợ Thanh Nhật", 20, 2)]
