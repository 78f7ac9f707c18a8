"""The officials' pages drive the same services: register a case, trace it,
alert, expand and follow up a contact, with errors shown on the forms."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.core.models import OutboxMessage
from truyvet.tracing.models import Case, Contact, ContactTask, ExposureSite


@pytest.mark.django_db
def test_a_health_worker_registers_traces_and_alerts_from_the_pages(
    client: Client, personas: Any, story: dict[str, Any]
) -> None:
    client.force_login(personas.health_worker)
    found = client.get("/tracing/cases/new/", {"q": "0912 000 007"}).content.decode()
    hoa = personas.citizen.person
    assert f"?person={hoa.pk}" in found and "N. T. Hoa" in found

    form = client.get(f"/tracing/cases/new/?person={hoa.pk}")
    assert "Nguyễn Thị Hoa" in form.content.decode()
    created = client.post(f"/tracing/cases/new/?person={hoa.pk}", {
        "classification": "confirmed", "test_date": timezone.localdate().isoformat(),
        "test_type": "pcr",
        "symptom_onset": (timezone.localdate() - timedelta(days=3)).isoformat(),
    })
    case = Case.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/tracing/cases/{case.pk}/"

    page = client.get(created["Location"]).content.decode()
    assert "Chợ Thanh Nhật" in page and "Trường THCS An Lạc" in page  # the timeline

    traced = client.post(f"/tracing/cases/{case.pk}/", {"action": "trace"}, follow=True)
    page = traced.content.decode()
    assert "Đã truy vết xong." in page
    assert "Hoàng Thị Lan" in page and "L. V. Đức" in page  # Đức lives outside Hạ Lang
    assert "Lương Văn Đức" not in page

    shown = client.post(f"/tracing/cases/{case.pk}/", {
        "action": "alerts", "notify_contacts": "on", "notify_venues": "on",
        "publish_sites": "on",
    }).content.decode()
    confirm = shown[shown.index('value="alerts_send"'):]
    confirm = confirm[:confirm.index("</form>")]
    alerted = client.post(f"/tracing/cases/{case.pk}/", {
        "action": "alerts_send", **dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', confirm)),
    }, follow=True)
    assert "tin vào hàng gửi" in alerted.content.decode()
    assert OutboxMessage.objects.filter(kind="exposure.contact").exists()
    assert ExposureSite.objects.filter(case=case).count() == 2

    duc = Contact.objects.get(person=story["duc"])
    expanded = client.post(f"/tracing/cases/{case.pk}/", {
        "action": "expand", "contact_ids": [duc.pk], "depth": "2"}, follow=True)
    assert "Đã mở rộng truy vết." in expanded.content.decode()


@pytest.mark.django_db
def test_a_window_edit_without_a_reason_shows_the_error_on_the_form(
    client: Client, personas: Any, story: dict[str, Any]
) -> None:
    from truyvet.tracing.tests.conftest import f0

    case = f0(personas)
    client.force_login(personas.district_officer)
    response = client.post(f"/tracing/cases/{case.pk}/", {
        "action": "window", "start": "2021-11-20T08:00", "reason": "ok"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Hãy ghi rõ lý do thay đổi (ít nhất 5 ký tự)." in page
    assert "Ngày quá xa (quá 90 ngày trước)." in page
    case.refresh_from_db()
    assert not case.window_manual


@pytest.mark.django_db
def test_the_neighbouring_officer_follows_up_their_resident_from_the_task_page(
    client: Client, personas: Any, story: dict[str, Any]
) -> None:
    from truyvet.tracing import services
    from truyvet.tracing.tests.conftest import f0

    services.trace_run(actor=personas.health_worker, case=f0(personas))
    task = ContactTask.objects.get(contact__person=story["duc"])
    client.force_login(personas.neighbour_officer)

    listing = client.get("/tracing/tasks/").content.decode()
    assert "L. V. Đức" in listing and "Hoàng Thị Lan" not in listing
    detail = client.get(f"/tracing/tasks/{task.pk}/").content.decode()
    assert "Lương Văn Đức" in detail and "Huyện Hạ Lang" in detail
    assert "Nguyễn Thị Hoa" not in detail

    saved = client.post(f"/tracing/tasks/{task.pk}/", {"status": "reached",
                                                       "note": "Đã gọi điện"})
    assert saved.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.note, task.updated_by) == (
        "reached", "Đã gọi điện", personas.neighbour_officer)
