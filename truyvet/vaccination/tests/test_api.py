"""The JSON API: the same rules as the pages, every error in the one shape."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from truyvet.testing import ApiClient
from truyvet.vaccination.models import CorrectionStatus, Dose, DoseImport, ImportStatus
from truyvet.vaccination.tests.conftest import row, workbook

pytestmark = pytest.mark.django_db


def test_the_products_carry_their_dcc_codes_and_primary_doses() -> None:
    found = {p["code"]: p for p in ApiClient().get("/vaccination/products").json()}
    assert len(found) == 9
    assert (found["janssen"]["primary_doses"], found["abdala"]["primary_doses"]) == (1, 3)
    assert (found["vero_cell"]["dcc_product"], found["vero_cell"]["dcc_manufacturer"],
            found["vero_cell"]["dcc_vaccine_type"]) == ("BBIBP-CorV", "ORG-100020693",
                                                       "1157024006")
    assert found["covaxin"]["licensed_on"] == "2021-11-10"


def test_site_staff_record_a_dose_and_a_deviation_asks_for_a_reason(
        personas: Any, sites: Any) -> None:
    api = ApiClient(personas.venue_owner)
    body = {"full_name": "Nguyễn Thị Hoa", "birth": "17/05/1990", "id_number": "004190123456",
            "vaccine": "AZ", "given_on": "2021-09-01"}
    first = api.post(f"/vaccination/sites/{sites.centre.code}/doses", body)
    assert first.status_code == 201 and first.json()["vaccine"] == "astrazeneca"
    early = api.post(f"/vaccination/sites/{sites.centre.code}/doses",
                     {**body, "given_on": "2021-09-10"})
    error = early.json()
    assert early.status_code == 400 and error["code"] == "needs_reason"
    assert error["errors"][0]["code"] == "short_interval"
    kept = api.post(f"/vaccination/sites/{sites.centre.code}/doses",
                    {**body, "given_on": "2021-09-10", "reason": "Sắp đi công tác"})
    assert kept.status_code == 201 and kept.json()["warnings"] == ["short_interval"]


def test_an_import_is_accepted_then_polled_to_its_end(
        personas: Any, sites: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    api = ApiClient(personas.health_worker)
    content = workbook([row(1, "Bế Văn Tùng", "15/07/2001", phone="0912600003",
                            vaccine="Pfizer", given=date(2021, 11, 2))])
    started = api.upload(f"/vaccination/sites/{sites.station.code}/imports", "ds.xlsx", content)
    assert started.status_code == 202
    polled = api.get(f"/vaccination/imports/{started.json()['id']}").json()
    assert (polled["status"], polled["imported"], polled["percent"]) == ("done", 1, 100)


def test_a_rejected_import_lists_its_bad_rows_in_english(
        personas: Any, sites: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    api = ApiClient(personas.venue_owner, language="en")
    content = workbook([row(1, "Bế Văn Tùng", "15/07/2001", phone="0912600003",
                            vaccine="Vắc xin XYZ", given=date(2021, 11, 2))])
    batch = api.upload(f"/vaccination/sites/{sites.centre.code}/imports", "ds.xlsx",
                       content).json()
    polled = api.get(f"/vaccination/imports/{batch['id']}").json()
    assert polled["status"] == ImportStatus.REJECTED
    assert polled["errors"] == [{"row": 4, "message": "Tên vắc xin (column K): Vaccine name "
                                 "“Vắc xin XYZ” not recognised."}]
    report = api.get(f"/vaccination/imports/{batch['id']}/errors.xlsx")
    assert report.status_code == 200 and report.content[:2] == b"PK"
    assert not Dose.objects.exists() and DoseImport.objects.count() == 1


def test_a_correction_through_the_api(personas: Any, sites: Any, settings: Any) -> None:
    from truyvet.testing import last_otp_sent_to
    from truyvet.vaccination.services import dose_record

    settings.OTP_RESEND_SECONDS = 0
    dose = dose_record(actor=personas.venue_owner, site=sites.centre,
                       person=personas.citizen.person, vaccine="Pfizer",
                       given_on=date(2021, 10, 1))
    citizen = ApiClient(personas.citizen)
    filed = citizen.client.post("/api/v1/vaccination/corrections", {
        "kind": "lot", "dose_id": dose.pk, "lot_number": "FF2233"}, headers=citizen.headers)
    assert filed.status_code == 201 and filed.json()["status"] == CorrectionStatus.UNCONFIRMED
    number = filed.json()["id"]
    wrong = citizen.post(f"/vaccination/corrections/{number}/confirm", {"code": "12345"})
    assert wrong.status_code == 422
    confirmed = citizen.post(f"/vaccination/corrections/{number}/confirm",
                             {"code": last_otp_sent_to(personas.citizen.person.phone)})
    assert confirmed.json()["status"] == CorrectionStatus.OPEN
    queue = ApiClient(personas.venue_owner).get("/vaccination/corrections/queue").json()
    assert [item["id"] for item in queue] == [number]
    decided = ApiClient(personas.venue_owner).post(
        f"/vaccination/corrections/{number}/review", {"decision": "approve"})
    assert decided.json()["status"] == CorrectionStatus.APPROVED
    me = citizen.get("/vaccination/me").json()
    assert me["doses"][0]["lot_number"] == "FF2233"
    assert me["due"]["code"] == "primary"


def test_coverage_through_the_api(personas: Any, sites: Any) -> None:
    from truyvet.vaccination.services import dose_record

    dose_record(actor=personas.venue_owner, site=sites.centre, person=personas.citizen.person,
                vaccine="Janssen", given_on=date(2021, 10, 1))
    figures = ApiClient(personas.district_officer).get(
        f"/vaccination/coverage/{personas.units.ha_lang.pk}").json()
    measures = {m["measure"]: m["people"] for m in figures["totals"]["measures"]}
    assert measures == {1: 1, 2: 1, 3: 0}
    assert any(child["code"] == personas.units.thanh_nhat.code for child in figures["children"])
    assert ApiClient(personas.neighbour_officer).get(
        f"/vaccination/coverage/{personas.units.ha_lang.pk}").status_code == 403
