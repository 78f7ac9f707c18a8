"""The pages, in Vietnamese and English: the citizen's own record with what
is due, a site's entry and import (the progress bar runs on the queue), the
officials' desk, a person's record (audited) and coverage."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.test import Client

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.vaccination.models import Dose, DoseImport, ImportStatus
from truyvet.vaccination.services import dose_record
from truyvet.vaccination.tests.conftest import row, workbook

pytestmark = pytest.mark.django_db


def client_for(user: Any, language: str = "vi") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def give(personas: Any, sites: Any, person: Any, vaccine: str, day: date) -> Dose:
    return dose_record(actor=personas.venue_owner, site=sites.centre, person=person,
                       vaccine=vaccine, given_on=day)


def test_the_citizen_sees_their_doses_and_what_is_due(personas: Any, sites: Any) -> None:
    give(personas, sites, personas.citizen.person, "AstraZeneca", date(2021, 9, 1))
    page = client_for(personas.citizen).get("/vaccination/me/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Trung tâm Y tế huyện Hạ Lang" in text and "01/09/2021" in text
    assert "Mũi 2 (AstraZeneca (Vaxzevria)) từ ngày" in text
    assert "Yêu cầu điều chỉnh mũi 1" in text
    english = client_for(personas.citizen, "en").get("/vaccination/me/").content.decode()
    assert "My vaccinations" in english and "Ask to correct dose 1" in english


def test_site_staff_record_a_dose_through_the_form(personas: Any, sites: Any) -> None:
    page = client_for(personas.controller).post(f"/vaccination/sites/{sites.centre.code}/record/", {
        "full_name": "Hoàng Văn Tỉnh", "birth": "1970", "sex": "Nam", "phone": "0912888001",
        "vaccine": "vero_cell", "given_on": "2021-10-05"})
    assert page.status_code == 302
    assert Dose.objects.get().person.full_name == "Hoàng Văn Tỉnh"


def test_the_form_shows_a_deviation_until_a_reason_is_given(personas: Any, sites: Any) -> None:
    client = client_for(personas.venue_owner)
    give(personas, sites, personas.citizen.person, "Vero cell", date(2021, 9, 1))
    data = {"full_name": "Nguyễn Thị Hoa", "birth": "17/05/1990", "id_number": "004190123456",
            "vaccine": "vero_cell", "given_on": "2021-09-10"}
    page = client.post(f"/vaccination/sites/{sites.centre.code}/record/", data)
    assert page.status_code == 200 and "ngắn hơn tối thiểu 21 ngày" in page.content.decode()
    data["reason"] = "Theo chỉ định của bác sĩ"
    assert client.post(f"/vaccination/sites/{sites.centre.code}/record/", data).status_code == 302
    assert Dose.objects.count() == 2


def test_an_import_runs_on_the_queue_and_its_progress_page_ends_with_the_counts(
        personas: Any, sites: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker's job runs inline here, as TASK_SYNC would run it.
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    content = workbook([row(1, "Bế Văn Tùng", "15/07/2001", phone="0912600003",
                            vaccine="Pfizer", given="02/11/2021")])
    upload = io.BytesIO(content)
    upload.name = "danh-sach.xlsx"
    client = client_for(personas.venue_owner)
    response = client.post(f"/vaccination/sites/{sites.centre.code}/import/", {"file": upload})
    batch = DoseImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/")
    assert batch.status == ImportStatus.DONE and batch.imported == 1
    progress = client.get(f"/vaccination/imports/{batch.pk}/progress/").content.decode()
    assert "Đã nhập 1 mũi tiêm" in progress and "hx-trigger" not in progress


def test_a_wrong_file_gets_its_message_on_the_import_page(personas: Any, sites: Any) -> None:
    upload = io.BytesIO(b"%PDF-1.7 not a list")
    upload.name = "danh-sach.xlsx"
    page = client_for(personas.venue_owner, "en").post(
        f"/vaccination/sites/{sites.centre.code}/import/", {"file": upload})
    assert page.status_code == 200 and "This file is a PDF file" in page.content.decode()
    assert not DoseImport.objects.exists()


def test_an_official_reading_a_persons_record_is_audited(personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    give(personas, sites, hoa, "Pfizer", date(2021, 10, 1))
    page = client_for(personas.district_officer).get(f"/vaccination/people/{hoa.pk}/")
    assert page.status_code == 200 and "Pfizer" in page.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.PERSON_READ, subject_person=hoa,
                                     actor=personas.district_officer).exists()
    assert client_for(personas.neighbour_officer).get(
        f"/vaccination/people/{hoa.pk}/").status_code == 404


def test_the_coverage_page_shows_the_districts_figures(personas: Any, sites: Any) -> None:
    give(personas, sites, personas.citizen.person, "Janssen", date(2021, 10, 1))
    ha_lang = personas.units.ha_lang
    page = client_for(personas.district_officer).get(f"/vaccination/coverage/{ha_lang.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-unit="01558"' in text
    chart = client_for(personas.district_officer).get(
        f"/vaccination/coverage/{ha_lang.pk}/chart.svg")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    export = client_for(personas.district_officer).get(
        f"/vaccination/coverage/{ha_lang.pk}/export.xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert client_for(personas.neighbour_officer).get(
        f"/vaccination/coverage/{ha_lang.pk}/").status_code == 403


def test_the_desk_lists_sites_and_finds_people(personas: Any, sites: Any) -> None:
    page = client_for(personas.health_worker).get("/vaccination/?q=004190123456")
    text = page.content.decode()
    assert page.status_code == 200 and "Trạm Y tế xã An Lạc" in text and "Nguyễn Thị Hoa" in text
    assert client_for(personas.citizen).get("/vaccination/").status_code == 403


def test_a_list_larger_than_the_request_limit_still_reaches_the_import_page(
        personas: Any, sites: Any, settings: Any) -> None:
    """MAX_REQUEST_BYTES holds for every other page; the import takes up to
    VACCINATION_IMPORT_MAX_BYTES (100,000 rows are about 6 MB)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    client = client_for(personas.venue_owner)
    upload = io.BytesIO(b"x" * 100_000)
    upload.name = "danh-sach.csv"
    page = client.post(f"/vaccination/sites/{sites.centre.code}/import/", {"file": upload})
    assert page.status_code == 200  # read, and refused for what it is: not a list
    assert "Dòng tiêu đề" in page.content.decode() or "tiêu đề" in page.content.decode()
    other = client.post(f"/vaccination/sites/{sites.centre.code}/record/",
                        {"full_name": "x" * 100_000})
    assert other.status_code == 413
    settings.VACCINATION_IMPORT_MAX_BYTES = 80 * 1024
    too_big = io.BytesIO(b"x" * 400_000)
    too_big.name = "danh-sach.csv"
    assert client.post(f"/vaccination/sites/{sites.centre.code}/import/",
                       {"file": too_big}).status_code == 413
