"""The epidemic-level pages and endpoints: the public page and feed by
province, district and commune; setting a level by form and by API with
every bad input refused; the residents of level-4 communes, masked, scoped,
audited and exported."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from tests.test_error_shape import assert_error_shape
from truyvet.accounts.models import Person
from truyvet.core.masking import mask_name
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.places.levels import commune_level_at, commune_levels_set
from truyvet.places.models import AdministrativeUnit, CommuneLevel, Level
from truyvet.testing import ApiClient

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.localdate()


def declare(units: Any) -> None:
    """Cao Bằng at level 1 for a month, Thanh Nhật raised to 2 a week ago."""
    commune_levels_set(actor=None, unit=units.ha_lang, level=1,
                       effective_from=today() - timedelta(days=30), reason="Quyết định của tỉnh")
    commune_levels_set(actor=None, unit=units.thanh_nhat, level=2,
                       effective_from=today() - timedelta(days=7), reason="Ca cộng đồng")


class TestPublicPageAndFeed:
    def test_the_page_goes_from_provinces_to_districts_to_communes(
        self, client: Client, units: Any
    ) -> None:
        declare(units)
        page = client.get("/levels/").content.decode()
        assert "Cao Bằng" in page and "Thay đổi gần nhất" in page
        communes = AdministrativeUnit.objects.filter(parent=units.ha_lang).count()
        district = client.get(f"/levels/{units.cao_bang.code}/").content.decode()
        row = district[district.index("Hạ Lang"):].split("</tr>")[0]
        assert f"Nguy cơ thấp (Xanh)</span> × {communes - 1}" in row
        assert "Nguy cơ trung bình (Vàng)</span> × 1" in row
        listed = client.get(f"/levels/{units.ha_lang.code}/").content.decode()
        an_lac = listed[listed.index("Xã An Lạc"):].split("</tr>")[0]
        assert "Cấp 1 – Nguy cơ thấp (Xanh)" in an_lac
        history = client.get(f"/levels/{units.thanh_nhat.code}/").content.decode()
        assert "Ca cộng đồng" in history and "Quyết định của tỉnh" in history
        assert client.get("/levels/99999/").status_code == 404
        english = client.get(f"/levels/{units.thanh_nhat.code}/",
                             HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Level 2 – Medium risk (Yellow)" in english and "Level history" in english

    def test_the_feed_counts_levels_and_reads_any_past_day(self, units: Any) -> None:
        declare(units)
        api = ApiClient()
        body = api.get("/levels/", unit=units.cao_bang.code).json()
        ha_lang = next(a for a in body["areas"] if a["code"] == units.ha_lang.code)
        communes = AdministrativeUnit.objects.filter(
            parent=units.ha_lang, level=Level.COMMUNE).count()
        assert ha_lang["communes_by_level"] == {"1": communes - 1, "2": 1, "3": 0, "4": 0,
                                                "none": 0}
        assert body["last_change"] is not None and body["as_of"] == today().isoformat()
        old = api.get("/levels/", unit=units.ha_lang.code,
                      date=(today() - timedelta(days=10)).isoformat()).json()
        thanh_nhat = next(c for c in old["communes"] if c["code"] == units.thanh_nhat.code)
        assert thanh_nhat["level"]["level"] == 1 and thanh_nhat["level"]["colour"] == "green"
        now = api.get("/levels/", unit=units.thanh_nhat.code).json()["level"]
        assert (now["level"], now["colour"], now["colour_name"]) == (2, "yellow", "Vàng")
        english = ApiClient(language="en").get("/levels/", unit=units.thanh_nhat.code).json()
        assert english["level"]["label"] == "Level 2 – Medium risk"
        assert english["level"]["colour_name"] == "Yellow"
        history = api.get(f"/levels/communes/{units.thanh_nhat.code}/history").json()
        assert [h["level"]["level"] for h in history] == [2, 1]
        assert_error_shape(api.get("/levels/", unit="99999"), 404)


class TestSettingALevel:
    def test_a_district_officer_sets_a_commune_by_form(self, client: Client,
                                                       personas: Any) -> None:
        units = personas.units
        client.force_login(personas.district_officer)
        response = client.post("/levels/manage/set/", {
            "unit": units.an_lac.pk, "level": "3", "effective_from": today().isoformat(),
            "reason": "Chùm ca bệnh"})
        assert response.status_code == 302
        assert commune_level_at(units.an_lac).level == 3  # type: ignore[union-attr]

    @pytest.mark.parametrize(("data", "message"), [
        ({"level": "5"}, "Cấp độ dịch phải là 1, 2, 3 hoặc 4."),
        ({"level": "0"}, "Cấp độ dịch phải là 1, 2, 3 hoặc 4."),
        ({"effective_from": "2021-01-01x"}, "Ngày hiệu lực không hợp lệ"),
        ({"unit": "987654321"}, "Không tìm thấy xã hoặc huyện này."),
        ({"effective_from": "BACKDATED", "reason": ""}, "hãy ghi lý do"),
    ])
    def test_bad_form_inputs_say_why_and_save_nothing(
        self, client: Client, personas: Any, data: dict[str, str], message: str
    ) -> None:
        units = personas.units
        commune_levels_set(actor=None, unit=units.an_lac, level=1,
                           effective_from=today(), reason="")
        client.force_login(personas.district_officer)
        form = {"unit": str(units.an_lac.pk), "level": "2",
                "effective_from": today().isoformat(), "reason": "", **data}
        if form["effective_from"] == "BACKDATED":
            form["effective_from"] = (today() - timedelta(days=3)).isoformat()
        page = client.post("/levels/manage/set/", form)
        assert page.status_code == 200 and message in page.content.decode()
        assert CommuneLevel.objects.count() == 1

    def test_the_api_sets_a_district_and_refuses_bad_input_in_the_error_shape(
        self, personas: Any
    ) -> None:
        units = personas.units
        api = ApiClient(personas.district_officer)
        response = api.post("/levels/", {"unit": units.ha_lang.code, "level": 1,
                                         "effective_from": today().isoformat(),
                                         "reason": "Quyết định"})
        assert response.status_code == 201
        assert len(response.json()) == CommuneLevel.objects.count() > 1
        assert_error_shape(api.post("/levels/", {"unit": units.an_lac.code, "level": 7,
                                                 "effective_from": today().isoformat()}), 400)
        early = api.post("/levels/", {"unit": units.an_lac.code, "level": 2,
                                      "effective_from": (today() - timedelta(1)).isoformat()})
        assert_error_shape(early, 400)
        assert early.json()["errors"][0]["code"] == "backdated_without_reason"
        english = ApiClient(personas.district_officer, language="en").post(
            "/levels/", {"unit": units.an_lac.code, "level": 9,
                         "effective_from": today().isoformat()})
        assert english.json()["errors"][0]["message"] == "The level must be 1, 2, 3 or 4."
        assert_error_shape(api.post("/levels/", {"unit": "00000", "level": 2,
                                                 "effective_from": today().isoformat()}), 404)
        # A neighbouring district's officer and a commune officer may not.
        for user in (personas.neighbour_officer, personas.commune_officer):
            refused = ApiClient(user).post("/levels/", {
                "unit": units.an_lac.code, "level": 2, "effective_from": today().isoformat()})
            assert_error_shape(refused, 403)
        assert not CommuneLevel.objects.filter(level=2).exists()

    def test_the_calculator_endpoint_and_page(self, client: Client, personas: Any) -> None:
        units = personas.units
        api = ApiClient(personas.district_officer)
        body = api.get("/levels/suggest", commune=units.an_lac.code, coverage="80").json()
        assert body["coverage"] == 80 and body["coverage_source"] == "entered"
        assert body["suggested"] is None and body["notes"]  # no population yet
        assert_error_shape(api.get("/levels/suggest", commune=units.an_lac.code,
                                   capacity_adjustment="3"), 400)
        thresholds = ApiClient().get("/levels/thresholds",
                                     province=units.cao_bang.code).json()
        assert thresholds["province_table"] is False and len(thresholds["rows"]) == 1
        assert "ma trận" in thresholds["note"]
        client.force_login(personas.district_officer)
        page = client.get("/levels/manage/suggest/", {"commune": units.an_lac.pk})
        assert "Tỉnh phải nhập đầy đủ ma trận" in page.content.decode()
        client.force_login(personas.province_officer)
        table = client.get("/levels/manage/thresholds/").content.decode()
        assert "Tỉnh phải nhập đầy đủ ma trận" in table and "Cấp 1 – Nguy cơ thấp" in table
        assert client.post("/levels/manage/thresholds/", {
            "province": units.cao_bang.code, "level": "9", "min_cases": "0"}).status_code == 200


class TestResidentsOfLevelFour:
    def test_commune_and_district_officers_see_masked_residents_and_each_read_is_audited(
        self, client: Client, personas: Any
    ) -> None:
        units = personas.units
        code = units.thanh_nhat.code
        client.force_login(personas.commune_officer)
        assert client.get(f"/levels/residents/{code}/").status_code == 404  # not at level 4
        commune_levels_set(actor=None, unit=units.thanh_nhat, level=4, effective_from=today(),
                           reason="Ổ dịch")
        assert code in client.get("/levels/residents/").content.decode()
        page = client.get(f"/levels/residents/{code}/").content.decode()
        assert "Nguyễn Thị Hoa" not in page and "004190123456" not in page
        assert mask_name("Nguyễn Thị Hoa") in page
        assert "Cấp 4 – Nguy cơ rất cao (Đỏ)" in page
        citizen = personas.citizen.person
        assert AuditEvent.objects.filter(action=AuditAction.PERSON_FOUND,
                                         subject_person=citizen).exists()
        export = client.get(f"/levels/residents/{code}/export.xlsx")
        assert export.status_code == 200
        sheet = load_workbook(io.BytesIO(export.content)).active
        cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
        assert "Nguyễn Thị Hoa" not in cells and "004190123456" not in cells
        residents = Person.objects.filter(commune=units.thanh_nhat).count()
        assert sheet.max_row == 4 + residents
        assert AuditEvent.objects.filter(action=AuditAction.EXPORT,
                                         target=f"residents:{code}").count() == 1
        api = ApiClient(personas.district_officer).get(f"/levels/residents/{code}").json()
        assert api["total"] == residents and "004190123456" not in str(api)

    def test_others_are_refused(self, client: Client, personas: Any) -> None:
        units = personas.units
        commune_levels_set(actor=None, unit=units.thanh_nhat, level=4, effective_from=today(),
                           reason="Ổ dịch")
        code = units.thanh_nhat.code
        for user in (personas.neighbour_officer, personas.health_worker, personas.citizen,
                     personas.province_officer):
            assert_error_shape(ApiClient(user).get(f"/levels/residents/{code}"), 403)
        assert_error_shape(ApiClient().get(f"/levels/residents/{code}"), 401)
        assert not AuditEvent.objects.filter(action=AuditAction.PERSON_FOUND).exists()


def test_the_home_page_links_to_the_levels_pages_by_role(client: Client, personas: Any) -> None:
    client.force_login(personas.district_officer)
    home = client.get("/").content.decode()
    assert "/levels/manage/set/" in home and "/levels/residents/" in home
    client.force_login(personas.citizen)
    home = client.get("/").content.decode()
    assert "/levels/" in home and "/levels/manage/set/" not in home
