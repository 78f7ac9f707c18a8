"""Reminding inactive venues as an officer does it: filter the list by
commune and type, pick every venue the filters find on all pages at once,
and send the province's own reminder, never another province's rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from truyvet.core.models import OutboxMessage
from truyvet.reports.models import ReminderTemplate, VenueReminder
from truyvet.reports.tests.conftest import Place, register
from truyvet.venues.models import VenueType


def _listed(page: str) -> list[str]:
    return re.findall(r'<tr data-venue="([^"]+)"', page)


@pytest.fixture
def many_shops(personas: Any, places: Place) -> list[Any]:
    """Sixty more shops in Thanh Nhật that never had a scan: two pages."""
    return [
        register(personas, name=f"Tạp hoá số {n:02d}", venue_type=VenueType.SHOP,
                 commune=personas.units.thanh_nhat, phone=f"09123460{n:02d}")
        for n in range(60)
    ]


@pytest.mark.django_db
def test_the_district_officer_narrows_the_list_to_one_commune_and_one_type(
    client: Client, personas: Any, places: Place
) -> None:
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/inactive/"

    an_lac = _listed(client.get(url, {"commune": personas.units.an_lac.pk}).content.decode())
    shops = _listed(client.get(url, {"venue_type": "shop"}).content.decode())

    assert an_lac == [places["clinic"].code]
    assert shops == [places["shop"].code]  # the Quảng Hòa pharmacy is not theirs


@pytest.mark.django_db
def test_the_officer_reminds_every_shop_the_filter_finds_on_all_pages_at_once(
    client: Client, personas: Any, places: Place, many_shops: list[Any]
) -> None:
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/inactive/"

    first = client.get(url, {"venue_type": "shop"}).content.decode()
    sent = client.post(f"{url}?venue_type=shop", {"matching": "1"}, follow=True)

    assert len(_listed(first)) == 50  # page 1 of 2
    assert "61 địa điểm" in first and "Chọn tất cả 61 địa điểm theo bộ lọc" in first
    assert "Đã gửi tin nhắn nhắc 61 địa điểm." in sent.content.decode()
    reminded = set(VenueReminder.objects.values_list("venue__code", flat=True))
    assert reminded == {places["shop"].code, *(v.code for v in many_shops)}
    assert places["clinic"].code not in reminded and places["market"].code not in reminded


@pytest.mark.django_db
def test_a_cao_bang_page_cites_no_other_provinces_rule_and_sends_cao_bangs_text(
    client: Client, personas: Any, places: Place
) -> None:
    url = f"/reports/{personas.units.ha_lang.pk}/inactive/"
    client.force_login(personas.province_officer)
    saved = client.post(url, {
        "action": "template",
        "body": "UBND tinh Cao Bang: {name} ({code}) chua co luot quet ma QR. Nhac lan {count}.",
        "rule": "Cao Bằng lập biên bản địa điểm không quét mã sau 5 lần nhắc.",
    })
    client.force_login(personas.district_officer)

    page = client.get(url).content.decode()
    client.post(url, {"venue": [places["shop"].code]})

    assert saved.status_code == 302
    assert "Hà Nội" not in page
    assert "Cao Bằng lập biên bản địa điểm không quét mã sau 5 lần nhắc." in page
    body = OutboxMessage.objects.filter(kind="reports.reminder").values_list(
        "body", flat=True).first()
    assert body == (f"UBND tinh Cao Bang: Tạp hoá Hồng Nhung ({places['shop'].code}) "
                    "chua co luot quet ma QR. Nhac lan 1.")


@pytest.mark.django_db
def test_only_the_provinces_officers_write_its_reminder_and_only_with_known_fields(
    client: Client, personas: Any, places: Place
) -> None:
    url = f"/reports/{personas.units.ha_lang.pk}/inactive/"
    client.force_login(personas.district_officer)
    district = client.post(url, {"action": "template", "body": "Nhắc {name}"})
    client.force_login(personas.province_officer)
    unknown = client.post(url, {"action": "template", "body": "Nhắc {owner} ở {name}"})

    assert district.status_code == 403
    assert "Chỉ dùng được {name}, {code}, {count} và {unit} trong nội dung." in (
        unknown.content.decode())
    assert not ReminderTemplate.objects.exists()


@pytest.mark.django_db
def test_the_demo_writes_cao_bangs_own_reminder_once(personas: Any) -> None:
    from truyvet.reports.demo import demo_reminder_template

    demo_reminder_template(lambda message: None)
    demo_reminder_template(lambda message: None)

    template = ReminderTemplate.objects.get()
    assert template.province == personas.units.cao_bang
    assert template.body.startswith("Cao Bằng:") and "{name}" in template.body


@pytest.mark.django_db
def test_the_api_reminds_every_venue_a_filter_finds(
    client: Client, personas: Any, places: Place, many_shops: list[Any]
) -> None:
    client.force_login(personas.district_officer)

    sent = client.post(f"/api/v1/reports/{personas.units.ha_lang.pk}/reminders",
                       {"venue_type": "shop"}, content_type="application/json")

    assert sent.status_code == 200
    assert sum(1 for outcome in sent.json() if outcome["sent"]) == 61
    assert not VenueReminder.objects.filter(venue=places["clinic"]).exists()
