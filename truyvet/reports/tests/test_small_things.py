"""Small things officials and citizens noticed: no timing in milliseconds on
the case page, one privacy notice per page, one row of crumbs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from truyvet.reports.tests.conftest import Place
from truyvet.venues.qr import venue_qr_token

PRIVACY = "chỉ dùng cho phòng chống dịch và được xoá sau thời hạn lưu trữ"


@pytest.mark.django_db
def test_the_inactive_venues_page_has_one_row_of_crumbs(
    client: Client, personas: Any, places: Place
) -> None:
    client.force_login(personas.province_officer)

    page = client.get(f"/reports/{personas.units.ha_lang.pk}/inactive/").content.decode()

    assert page.count('class="crumbs"') == 1
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', page, re.S)
    assert crumbs and "Cao Bằng" in crumbs.group(1) and "Hạ Lang" in crumbs.group(1)


@pytest.mark.django_db
def test_the_venue_page_a_poster_opens_says_the_privacy_notice_once(
    client: Client, personas: Any, places: Place
) -> None:
    page = client.get(f"/v/{venue_qr_token(places['market'])}").content.decode()

    assert page.count(PRIVACY) == 1


@pytest.mark.django_db
def test_the_case_page_shows_no_search_timing_to_officials(
    client: Client, personas: Any, places: Place
) -> None:
    from truyvet.tracing import services
    from truyvet.tracing.tests.conftest import f0

    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    client.force_login(personas.health_worker)

    page = client.get(f"/tracing/cases/{case.pk}/").content.decode()

    assert "Lần truy vết gần nhất" in page
    assert not re.search(r"\(\d+ ms\)", page)
