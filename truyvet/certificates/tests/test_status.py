"""Test results, recoveries, the colour's rules and where the colour shows
(issue 16): services, bad input (nothing half-saved), the import, the
tracing hook, the personal QR's signed claim, pages and API."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.certificates import status_services as services
from truyvet.certificates.models import ColourRule, Recovery, TestResult
from truyvet.certificates.status_selectors import person_colour
from truyvet.certificates.tests.status_fixtures import make_testing_site
from truyvet.checkins.personal_qr import (
    PersonalQrError,
    card_status_for,
    current_claim,
    personal_qr_check_signature,
    personal_qr_token,
    personal_qr_token_with_claim,
    personal_qr_verify,
)
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditEvent
from truyvet.core.time import local_day
from truyvet.testing import ApiClient
from truyvet.tracing import services as tracing
from truyvet.tracing.models import Classification, Diagnostic

pytestmark = pytest.mark.django_db


def _when(hours_ago: float) -> str:
    moment = timezone.localtime(timezone.now() - timedelta(hours=hours_ago))
    return moment.strftime("%d/%m/%Y %H:%M")


def _entry(**fields: Any) -> dict[str, Any]:
    return {"full_name": "Nguyễn Thị Hoa", "birth": "17/05/1990", "id_number": "004190123456",
            "kind": "pcr", "result": "negative", "sampled_at": _when(2)} | fields


@pytest.fixture
def site(personas: Any) -> Any:
    return make_testing_site(personas)


class TestEntry:
    def test_staff_enter_a_negative_pcr_and_the_person_turns_yellow(
        self, personas: Any, site: Any
    ) -> None:
        hoa = personas.citizen.person
        assert person_colour(hoa).colour == "red"
        test = services.test_result_enter(actor=personas.controller, site=site, data=_entry())
        assert test.person == hoa and test.kind == "pcr" and test.result == "negative"
        assert test.dcc_test_type == "LP6464-4" and test.dcc_result == "260415000"
        status = person_colour(hoa)
        assert status.colour == "yellow"
        assert "PCR" in status.reason
        assert status.next_colour == "red" and status.change_note.startswith("Thẻ vàng đến")
        assert AuditEvent.objects.filter(action="test.record", subject_person=hoa).count() == 1

    def test_a_rapid_test_keeps_its_eu_device_number_for_the_dcc(
        self, personas: Any, site: Any
    ) -> None:
        test = services.test_result_enter(actor=personas.controller, site=site, data=_entry(
            kind="Test nhanh", result="Dương tính", device_id="1232"))
        assert (test.kind, test.device_id, test.dcc_test_type, test.dcc_result) == (
            "rapid", "1232", "LP217198-3", "260373001")

    @pytest.mark.parametrize(("fields", "field"), [
        ({"kind": "xyz"}, "kind"),
        ({"result": ""}, "result"),
        ({"sampled_at": "05/12/2021"}, "sampled_at"),
        ({"sampled_at": _when(-3)}, "sampled_at"),
        ({"sampled_at": _when(24 * 40)}, "sampled_at"),
        ({"full_name": ""}, "full_name"),
        ({"id_number": "12", "phone": ""}, "id_number"),
        ({"kind": "rapid", "device_id": "ABC"}, "device_id"),
        ({"kind": "pcr", "device_id": "1232"}, "device_id"),
        ({"test_name": "PCR\u202e"}, "test_name"),
    ])
    def test_bad_input_names_the_field_and_saves_nothing(
        self, personas: Any, site: Any, fields: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(ServiceError) as caught:
            services.test_result_enter(actor=personas.controller, site=site,
                                       data=_entry(**fields))
        assert field in {e.field for e in caught.value.errors}
        assert all(str(e.message) for e in caught.value.errors)
        assert not TestResult.objects.exists()

    def test_the_same_sample_twice_is_refused(self, personas: Any, site: Any) -> None:
        data = _entry()
        services.test_result_enter(actor=personas.controller, site=site, data=data)
        with pytest.raises(ServiceError, match="đã được nhập"):
            services.test_result_enter(actor=personas.controller, site=site, data=data)
        assert TestResult.objects.count() == 1

    def test_only_a_testing_sites_staff_enter_results(self, personas: Any, site: Any) -> None:
        for user in (personas.citizen, personas.province_officer, personas.neighbour_officer):
            with pytest.raises(NotAllowed):
                services.test_result_enter(actor=user, site=site, data=_entry())
        # Hạ Lang's health worker may.
        services.test_result_enter(actor=personas.health_worker, site=site, data=_entry())


def _sheet(rows: list[list[Any]]) -> io.BytesIO:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Kết quả xét nghiệm ngày hôm nay"])
    sheet.append(["Họ và tên", "Ngày sinh", "Số CMND/CCCD", "Số điện thoại", "Loại xét nghiệm",
                  "Kết quả", "Thời điểm lấy mẫu"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


class TestImport:
    def test_a_good_list_is_saved_and_a_second_import_adds_nothing(
        self, personas: Any, site: Any
    ) -> None:
        rows = [["Nguyễn Thị Hoa", "17/05/1990", "004190123456", "", "RT-PCR", "Âm tính",
                 _when(3)],
                ["Lò Văn Mới", "1970", "", "0912888001", "Test nhanh", "Dương tính", _when(5)]]
        report = services.tests_import(actor=personas.venue_owner, site=site,
                                       upload=_sheet(rows), filename="xn.xlsx")
        assert (report.rows, report.saved, report.errors) == (2, 2, [])
        again = services.tests_import(actor=personas.venue_owner, site=site,
                                      upload=_sheet(rows), filename="xn.xlsx")
        assert again.saved == 0
        assert TestResult.objects.count() == 2
        assert person_colour(personas.citizen.person).colour == "yellow"

    def test_one_bad_row_saves_nothing_and_every_bad_cell_is_reported(
        self, personas: Any, site: Any
    ) -> None:
        rows = [["Nguyễn Thị Hoa", "17/05/1990", "004190123456", "", "PCR", "Âm tính", _when(3)],
                ["Lò Văn Mới", "1970", "", "0912888001", "Máu", "Không rõ", "hôm qua"],
                ["Nguyễn Thị Hoa", "17/05/1990", "004190123456", "", "PCR", "Âm tính",
                 _when(3)]]
        report = services.tests_import(actor=personas.venue_owner, site=site,
                                       upload=_sheet(rows), filename="xn.xlsx")
        assert report.saved == 0
        cells = {(row, column) for row, column, _message in report.errors}
        assert {(4, "Loại xét nghiệm"), (4, "Kết quả"), (4, "Thời điểm lấy mẫu"),
                (5, "Thời điểm lấy mẫu")} <= cells
        assert not TestResult.objects.exists()
        assert not type(personas.citizen.person).objects.filter(full_name="Lò Văn Mới").exists()

    def test_a_file_that_is_not_a_list_is_refused_with_a_reason(
        self, personas: Any, site: Any
    ) -> None:
        with pytest.raises(ServiceError) as caught:
            services.tests_import(actor=personas.venue_owner, site=site,
                                  upload=io.BytesIO(b"%PDF-1.4 ..."), filename="xn.xlsx")
        assert "PDF" in str(caught.value.message)
        with pytest.raises(NotAllowed):
            services.tests_import(actor=personas.controller, site=site,
                                  upload=_sheet([]), filename="xn.xlsx")


class TestRecovery:
    def test_a_case_closed_as_recovered_gives_a_recovery_from_its_first_positive_test(
        self, personas: Any
    ) -> None:
        hoa = personas.citizen.person
        tested = timezone.localdate() - timedelta(days=12)
        case = tracing.case_register(
            actor=personas.health_worker, person=hoa,
            data=tracing.CaseInput(classification=Classification.CONFIRMED, test_date=tested,
                                   test_type=Diagnostic.PCR))
        tracing.case_close(actor=personas.health_worker, case=case, outcome="recovered")
        recovery = Recovery.objects.get()
        assert (recovery.person, recovery.case_id) == (hoa, case.pk)
        assert recovery.first_positive_on == tested
        assert recovery.recovered_on == local_day(timezone.now())
        assert recovery.dcc_valid_until == tested + timedelta(days=180)
        status = person_colour(hoa)
        assert status.colour == "green" and "khỏi bệnh" in status.reason

    def test_other_outcomes_give_no_recovery(self, personas: Any) -> None:
        case = tracing.case_register(
            actor=personas.health_worker, person=personas.citizen.person,
            data=tracing.CaseInput(classification=Classification.CONFIRMED,
                                   test_date=timezone.localdate(), test_type=Diagnostic.PCR))
        tracing.case_close(actor=personas.health_worker, case=case, outcome="not_a_case")
        assert not Recovery.objects.exists()


class TestRules:
    def _rule(self, **fields: Any) -> dict[str, Any]:
        return {"effective_from": (timezone.localdate() + timedelta(days=3)).isoformat(),
                "full_course_days": 14, "recovery_days": 180, "first_dose_days": 14,
                "pcr_hours": 24, "rapid_hours": 0, "positive_days": 14,
                "reason": "Công văn 123/UBND"} | fields

    def test_a_province_rule_applies_from_its_day_and_is_audited(
        self, personas: Any, site: Any
    ) -> None:
        hoa = personas.citizen.person
        services.test_result_enter(actor=personas.controller, site=site, data=_entry(
            sampled_at=_when(1)))
        rule = services.colour_rule_add(actor=personas.province_officer,
                                        province=personas.units.cao_bang, data=self._rule())
        assert AuditEvent.objects.filter(action="colour.rule",
                                         target=f"colour_rule:{rule.pk}").exists()
        now = timezone.now()
        assert person_colour(hoa, now).colour == "yellow"
        later = now + timedelta(days=4)
        # By then the PCR is 4 days old under either rule; what changed is the rule in force.
        assert person_colour(hoa, later).rule_id == rule.pk

    @pytest.mark.parametrize(("fields", "field"), [
        ({"effective_from": date.today().isoformat()}, "effective_from"),  # noqa: DTZ011
        ({"effective_from": "mai"}, "effective_from"),
        ({"pcr_hours": "nhiều"}, "pcr_hours"),
        ({"recovery_days": 5000}, "recovery_days"),
        ({"reason": " "}, "reason"),
    ])
    def test_bad_rules_are_refused_and_nothing_is_saved(
        self, personas: Any, fields: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(ServiceError) as caught:
            services.colour_rule_add(actor=personas.province_officer,
                                     province=personas.units.cao_bang, data=self._rule(**fields))
        assert field in {e.field for e in caught.value.errors}
        assert not ColourRule.objects.exists()

    def test_only_the_provinces_officers_set_its_rules(self, personas: Any) -> None:
        for user in (personas.district_officer, personas.health_worker, personas.citizen):
            with pytest.raises(NotAllowed):
                services.colour_rule_add(actor=user, province=personas.units.cao_bang,
                                         data=self._rule())
        with pytest.raises(NotAllowed):
            services.colour_rule_add(actor=personas.province_officer, province=None,
                                     data=self._rule())
        assert not ColourRule.objects.exists()


class TestClaim:
    def test_the_personal_qr_page_carries_a_signed_claim_that_old_parsers_still_accept(
        self, personas: Any
    ) -> None:
        hoa = personas.citizen.person
        status = card_status_for(hoa)
        assert status is not None and status.colour == "red"
        token = personal_qr_token_with_claim(hoa, colour="green",
                                             valid_until=timezone.now() + timedelta(days=3))
        plain = personal_qr_token(hoa)
        assert token.startswith(plain + ".G")
        # Still stands for the person; a plain token still parses, without a claim.
        assert personal_qr_verify(token) == hoa
        assert personal_qr_check_signature(plain).claim is None
        claim = current_claim(personal_qr_check_signature(token))
        assert claim is not None and claim.colour == "green"
        # Never valid for more than 24 hours.
        assert claim.expires_at <= timezone.now() + timedelta(hours=24)
        assert current_claim(personal_qr_check_signature(token),
                             timezone.now() + timedelta(hours=24, seconds=1)) is None
        # Nothing personal in it: only the reference, the version, the colour, the expiry.
        for secret in (hoa.full_name, hoa.id_number, hoa.phone, "1990"):
            assert secret not in token

    def test_a_claim_moved_or_altered_is_refused(self, personas: Any) -> None:
        hoa, duc = personas.citizen.person, personas.other_citizen.person
        token = personal_qr_token_with_claim(hoa, colour="red",
                                             valid_until=timezone.now() + timedelta(hours=5))
        recoloured = token.replace(".R", ".G", 1)
        with pytest.raises(PersonalQrError):
            personal_qr_check_signature(recoloured)
        claim_part = token[len(personal_qr_token(hoa)):]
        with pytest.raises(PersonalQrError):
            personal_qr_check_signature(personal_qr_token(duc) + claim_part)


class TestPagesAndApi:
    def test_the_personal_qr_page_shows_the_colour_reason_and_change(
        self, personas: Any, site: Any
    ) -> None:
        services.test_result_enter(actor=personas.controller, site=site, data=_entry())
        client = Client()
        client.force_login(personas.citizen)
        page = client.get("/checkins/qr/").content.decode()
        assert "Thẻ vàng" in page and "PCR" in page and "thẻ đỏ từ đó" in page
        english = client.get("/checkins/qr/", headers={"Accept-Language": "en"})
        assert "Yellow card" in english.content.decode()

    def test_the_site_page_enters_and_refuses_with_clear_errors(
        self, personas: Any, site: Any
    ) -> None:
        client = Client()
        client.force_login(personas.controller)
        url = f"/certificates/status/tests/{site.code}/"
        bad = client.post(url, _entry(kind=""))
        assert bad.status_code == 400
        assert "Loại xét nghiệm phải là PCR hoặc test nhanh." in bad.content.decode()
        assert not TestResult.objects.exists()
        good = client.post(url, _entry())
        assert good.status_code == 302
        assert "N. T. Hoa" in client.get(url).content.decode()

    def test_the_site_page_imports_and_reports_errors(self, personas: Any, site: Any) -> None:
        client = Client()
        client.force_login(personas.venue_owner)
        url = f"/certificates/status/tests/{site.code}/import/"
        upload = _sheet([["Lò Văn Mới", "1970", "", "0912888001", "Máu", "Âm tính", _when(2)]])
        upload.name = "xn.xlsx"
        response = client.post(url, {"file": upload}, follow=True)
        assert "Loại xét nghiệm phải là PCR hoặc test nhanh." in response.content.decode()
        report = client.get(f"/certificates/status/tests/{site.code}/import/errors.xlsx")
        assert report.status_code == 200 and report.content.startswith(b"PK")
        assert not TestResult.objects.exists()

    def test_the_api_enters_reads_and_sets_rules(self, personas: Any, site: Any) -> None:
        staff = ApiClient(personas.controller)
        created = staff.post(f"/certificates/status/sites/{site.code}/tests", _entry())
        assert created.status_code == 201, created.content
        bad = staff.post(f"/certificates/status/sites/{site.code}/tests",
                         _entry(result="?"))
        assert bad.status_code == 400 and "result" in bad.content.decode()
        mine = ApiClient(personas.citizen, language="en").get("/certificates/status/me").json()
        assert mine["colour"]["colour"] == "yellow"
        assert mine["colour"]["label"] == "Yellow card"
        assert mine["tests"][0]["kind"] == "pcr"
        officer = ApiClient(personas.province_officer)
        rule = officer.post("/certificates/status/rules", {
            "province": personas.units.cao_bang.code,
            "effective_from": (timezone.localdate() + timedelta(days=1)).isoformat(),
            "full_course_days": 14, "recovery_days": 180, "first_dose_days": 14,
            "pcr_hours": 48, "rapid_hours": 24, "positive_days": 14, "reason": "CV 9"})
        assert rule.status_code == 201, rule.content
        listed = ApiClient(personas.citizen).get("/certificates/status/rules").json()
        assert [r["pcr_hours"] for r in listed] == [48]


class TestMerge:
    def test_a_claimed_records_tests_and_recoveries_follow_it(
        self, personas: Any, site: Any
    ) -> None:
        from truyvet.accounts import hooks as account_hooks

        hoa, duc = personas.citizen.person, personas.other_citizen.person
        services.test_result_enter(actor=personas.controller, site=site, data=_entry())
        Recovery.objects.create(person=hoa, first_positive_on=date(2021, 9, 1),
                                recovered_on=date(2021, 9, 20))
        account_hooks.person_merged(source=hoa, target=duc)
        assert TestResult.objects.get().person == duc
        assert Recovery.objects.get().person == duc


class TestImportApi:
    def test_a_bad_csv_list_is_refused_whole_with_every_bad_cell(
        self, personas: Any, site: Any
    ) -> None:
        content = ("Họ và tên,Ngày sinh,Số CMND/CCCD,Loại xét nghiệm,Kết quả,Thời điểm lấy mẫu\n"
                   f"Nguyễn Thị Hoa,17/05/1990,004190123456,PCR,Âm tính,{_when(2)}\n"
                   f"Lò Văn Mới,1970,,PCR,Âm tính,{_when(2)}\n").encode()
        api = ApiClient(personas.venue_owner, language="en")
        response = api.upload(f"/certificates/status/sites/{site.code}/tests/import",
                              "xn.csv", content)
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["ok"] is False and body["saved"] == 0
        assert [e["row"] for e in body["errors"]] == [3]  # no document and no phone
        assert body["errors"][0]["message"]
        assert not TestResult.objects.exists()
