"""The epidemic level of a venue's commune on a citizen's history and on the
check-in page is the level it had on the day of the visit, not today's; the
column appears only once some level was ever set (issue 19 item 17)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.checkins.selectors import checkins_of_me, visit_levels
from truyvet.checkins.services import checkin_record
from truyvet.core.time import local_day
from truyvet.places.levels import commune_levels_set
from truyvet.venues.qr import venue_qr_payload

pytestmark = pytest.mark.django_db


def test_history_shows_no_level_column_before_any_level_is_set(
    client: Client, personas: Any, restaurant: Any
) -> None:
    checkin_record(venue=restaurant, person=personas.citizen.person,
                   arrived_at=timezone.now() - timedelta(hours=1), method="citizen_scan")
    client.force_login(personas.citizen)
    page = client.get("/checkins/history/").content.decode()
    assert "Cấp độ dịch" not in page and "Chưa có dữ liệu" not in page
    assert client.get("/api/v1/checkins/mine").json()[0]["epidemic_level"] is None


def test_a_visit_shows_the_level_its_commune_had_that_day(
    client: Client, personas: Any, restaurant: Any
) -> None:
    now = timezone.now()
    today = local_day(now)
    commune = restaurant.commune
    commune_levels_set(actor=None, unit=commune, level=1, effective_from=today - timedelta(days=10),
                       reason="Quyết định của tỉnh")
    commune_levels_set(actor=None, unit=commune, level=3, effective_from=today - timedelta(days=2),
                       reason="Ổ dịch mới")
    old = checkin_record(venue=restaurant, person=personas.citizen.person,
                         arrived_at=now - timedelta(days=5), method="citizen_scan")
    new = checkin_record(venue=restaurant, person=personas.citizen.person,
                         arrived_at=now - timedelta(minutes=5), method="citizen_scan")
    client.force_login(personas.citizen)
    body = client.get("/api/v1/checkins/mine").json()
    assert [(item["id"], item["epidemic_level"]) for item in body] == [
        (str(new.checkin.pk), 3), (str(old.checkin.pk), 1)]
    page = client.get("/checkins/history/").content.decode()
    assert "Cấp độ dịch lúc đến" in page
    assert "Cấp 1 – Nguy cơ thấp (Xanh)" in page and "Cấp 3 – Nguy cơ cao (Cam)" in page
    visit = client.get(f"/checkins/visit/{old.checkin.pk}/").content.decode()
    assert "Cấp 1 – Nguy cơ thấp (Xanh)" in visit and "Cấp 3" not in visit
    client.cookies["django_language"] = "en"
    english = client.get("/checkins/history/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Level 3 – High risk (Orange)" in english


def test_the_levels_of_a_whole_history_cost_one_query(
    personas: Any, restaurant: Any, market: Any, django_assert_num_queries: Any
) -> None:
    now = timezone.now()
    for venue in (restaurant, market):
        commune_levels_set(actor=None, unit=venue.commune, level=2,
                           effective_from=local_day(now) - timedelta(days=20), reason="")
    for days in range(0, 15, 2):
        checkin_record(venue=restaurant if days % 4 else market, person=personas.citizen.person,
                       arrived_at=now - timedelta(days=days, hours=1), method="citizen_scan")
    checkins = list(checkins_of_me(user=personas.citizen))
    with django_assert_num_queries(1):
        levels = visit_levels(checkins)
    assert len(levels) == len(checkins) == 8


def test_the_venue_page_a_poster_opens_shows_the_communes_level_now(
    client: Client, personas: Any, restaurant: Any
) -> None:
    token = venue_qr_payload(restaurant).rsplit("/", 1)[-1]
    assert "epi-level" not in client.get(f"/v/{token}").content.decode()
    commune_levels_set(actor=None, unit=restaurant.commune, level=2,
                       effective_from=local_day(timezone.now()), reason="")
    assert "Cấp 2 – Nguy cơ trung bình (Vàng)" in client.get(f"/v/{token}").content.decode()
