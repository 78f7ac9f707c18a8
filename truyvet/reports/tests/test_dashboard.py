"""The dashboard of a scope: its figures equal a recount from the check-in
table, they are broken down by child unit and by venue type, and reading
them costs a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.places.models import AdministrativeUnit
from truyvet.reports.selectors import (
    Scope,
    dashboard_for,
    period_clean,
    scope_for,
    scopes_for,
)
from truyvet.reports.tests.conftest import Place, recount, register, visit
from truyvet.venues.models import Venue, VenueStatus, VenueType
from truyvet.venues.services import venue_status_change


def _period(days: int = 14) -> tuple[Any, Any]:
    return period_clean(since=timezone.localdate() - timedelta(days=days - 1), until=None)


def _active_recount(unit: Any, since: Any) -> int:
    """Venues of ``unit`` (closed ones excepted) with a check-in after ``since``."""
    return (
        Venue.objects.filter(commune__path__startswith=unit.path)
        .exclude(status=VenueStatus.CLOSED)
        .filter(pk__in=CheckIn.objects.filter(arrived_at__gt=since).values("venue_id"))
        .count()
    )


@pytest.fixture
def busy(places: Place) -> Place:
    """Visits now, 3 days ago and 10 days ago; the An Lạc clinic is quiet
    for 10 days, the shop has never had a visit."""
    now = timezone.now()
    people = places.people
    visit(places["market"], people[0], now - timedelta(hours=2))
    visit(places["market"], people[1], now - timedelta(hours=3))
    visit(places["market"], people[0], now - timedelta(days=3))
    visit(places["clinic"], people[2], now - timedelta(days=10))
    visit(places["pharmacy"], people[3], now - timedelta(hours=5))
    return places


def test_the_district_figures_equal_a_recount_from_the_check_in_table(
    personas: Any, busy: Place
) -> None:
    now = timezone.now()
    since, until = _period()
    scope = Scope(unit=personas.units.ha_lang)
    board = dashboard_for(viewer=personas.district_officer, scope=scope, since=since,
                          until=until, now=now)

    ha_lang = personas.units.ha_lang
    assert board.totals.registered == Venue.objects.filter(
        commune__path__startswith=ha_lang.path).count() == 3
    assert board.totals.active_1d == _active_recount(ha_lang, now - timedelta(days=1)) == 1
    assert board.totals.active_7d == _active_recount(ha_lang, now - timedelta(days=7)) == 1
    assert board.totals.inactive_7d == 2
    scans, people = recount()
    for day in board.days:
        assert day.scans == scans[(ha_lang.pk, "", day.day)]
        assert day.people == people[(ha_lang.pk, "", day.day)]
    assert board.totals.scans == 4  # the Quảng Hòa pharmacy is not Hạ Lang's


def test_the_figures_are_broken_down_by_commune_and_by_venue_type(
    personas: Any, busy: Place
) -> None:
    since, until = _period()
    board = dashboard_for(viewer=personas.district_officer,
                          scope=Scope(unit=personas.units.ha_lang), since=since, until=until)

    rows = {row.unit.pk: row.figures for row in board.units}
    assert set(rows) == set(personas.units.ha_lang.children.values_list("pk", flat=True))
    thanh_nhat, an_lac = rows[personas.units.thanh_nhat.pk], rows[personas.units.an_lac.pk]
    assert (thanh_nhat.registered, thanh_nhat.active_7d, thanh_nhat.scans) == (2, 1, 3)
    assert (an_lac.registered, an_lac.active_7d, an_lac.scans) == (1, 0, 1)
    assert thanh_nhat.share_active_7d == 50.0
    types = {row.venue_type: row.figures for row in board.types}
    assert (types[VenueType.MARKET].scans, types[VenueType.MARKET].active_7d) == (3, 1)
    assert (types[VenueType.SHOP].registered, types[VenueType.SHOP].active_7d) == (1, 0)
    assert sum(f.registered for f in types.values()) == board.totals.registered


def test_distinct_people_count_each_person_once_a_day_in_the_scope(
    personas: Any, places: Place
) -> None:
    now = timezone.localtime().replace(hour=10, minute=0)
    hoa = places.people[0]
    visit(places["market"], hoa, now - timedelta(hours=1))
    visit(places["shop"], hoa, now - timedelta(minutes=30))
    visit(places["clinic"], hoa, now - timedelta(minutes=20))
    since, until = _period(1)

    district = dashboard_for(viewer=personas.district_officer,
                             scope=Scope(unit=personas.units.ha_lang), since=since, until=until)
    commune = dashboard_for(viewer=personas.commune_officer,
                            scope=Scope(unit=personas.units.thanh_nhat), since=since, until=until)

    assert (district.days[-1].scans, district.days[-1].people) == (3, 1)
    assert (commune.days[-1].scans, commune.days[-1].people) == (2, 1)
    by_type = {row.venue_type: row.days[-1].people for row in district.types}
    assert (by_type[VenueType.MARKET], by_type[VenueType.SHOP], by_type[VenueType.HEALTH]) == (
        1, 1, 1)


def test_a_period_in_the_past_measures_activity_up_to_its_last_day(
    personas: Any, busy: Place
) -> None:
    """Ending 2 days ago: the market's visit 3 days ago counts in its last
    7 days, today's visits do not count at all, and venues count only if
    they were registered by then."""
    Venue.objects.exclude(pk=busy["shop"].pk).update(
        created_at=timezone.now() - timedelta(days=30))
    today = timezone.localdate()
    board = dashboard_for(viewer=personas.district_officer,
                          scope=Scope(unit=personas.units.ha_lang),
                          since=today - timedelta(days=13), until=today - timedelta(days=2))
    assert not board.live
    assert board.totals.registered == 2  # the shop was registered today
    assert board.totals.active_7d == 1
    assert board.totals.active_1d == 0
    assert board.totals.scans == 2  # 3 and 10 days ago


def test_suspended_and_closed_venues(personas: Any, busy: Place) -> None:
    venue_status_change(actor=personas.district_officer, venue=busy["shop"],
                        status=VenueStatus.SUSPENDED, reason="Không treo mã QR")
    venue_status_change(actor=personas.district_officer, venue=busy["clinic"],
                        status=VenueStatus.CLOSED, reason="Đã chuyển địa điểm")
    since, until = _period()
    board = dashboard_for(viewer=personas.district_officer,
                          scope=Scope(unit=personas.units.ha_lang), since=since, until=until)
    assert (board.totals.registered, board.totals.suspended) == (2, 1)


def test_reading_a_dashboard_costs_six_queries_whatever_the_data(
    personas: Any, places: Place
) -> None:
    since, until = _period(30)
    scope = Scope(unit=personas.units.cao_bang)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            dashboard_for(viewer=personas.province_officer, scope=scope, since=since, until=until)
        return len(captured)

    queries()  # the officer's roles are read once and kept on the user
    empty = queries()
    now = timezone.now()
    for n in range(30):
        visit(places["market" if n % 2 else "clinic"], places.people[n % 6],
              now - timedelta(days=n, hours=1))
    register(personas, name="Chợ Quảng Hòa", venue_type=VenueType.MARKET,
             commune=personas.units.quang_hoa_commune, phone="0912345009")
    # Five for the figures, one for how far they count (decision 0022).
    assert empty == queries() == 6


def test_a_commune_officer_sees_their_commune_and_nothing_above_or_beside_it(
    personas: Any,
) -> None:
    officer = personas.commune_officer
    assert [s.unit for s in scopes_for(officer)] == [personas.units.thanh_nhat]
    assert scope_for(viewer=officer, slug=str(personas.units.thanh_nhat.pk)).is_commune
    for unit in (personas.units.ha_lang, personas.units.an_lac, personas.units.quang_hoa):
        with pytest.raises(NotAllowed):
            scope_for(viewer=officer, slug=str(unit.pk))
    with pytest.raises(NotAllowed):
        scope_for(viewer=officer, slug="nation")


def test_only_system_admins_see_the_whole_country(personas: Any, busy: Place) -> None:
    assert [s.unit for s in scopes_for(personas.admin)] == [None]
    since, until = _period()
    board = dashboard_for(viewer=personas.admin, scope=scope_for(viewer=personas.admin,
                                                                 slug="nation"),
                          since=since, until=until)
    assert [row.unit for row in board.units] == [personas.units.cao_bang]
    assert board.totals.registered == 4
    with pytest.raises(NotAllowed):
        scope_for(viewer=personas.province_officer, slug="nation")


def test_health_workers_and_citizens_have_no_reports(personas: Any) -> None:
    for user in (personas.health_worker, personas.venue_owner, personas.citizen):
        assert scopes_for(user) == []
        with pytest.raises(NotAllowed):
            scope_for(viewer=user, slug=str(personas.units.ha_lang.pk))


@pytest.mark.parametrize(("since", "until", "field"), [
    (0, 1, "until"),  # in the future
    (-3, -5, "since"),  # backwards
    (-400, 0, "since"),  # longer than 366 days
])
def test_a_bad_period_is_refused_with_the_field_to_fix(since: int, until: int, field: str
                                                       ) -> None:
    today = timezone.localdate()
    with pytest.raises(ServiceError) as refused:
        period_clean(since=today + timedelta(days=since), until=today + timedelta(days=until))
    assert [error.field for error in refused.value.errors] == [field]


# --- Pages and API -----------------------------------------------------------------------------


def test_the_dashboard_page_shows_the_figures_charts_and_downloads(
    client: Client, personas: Any, busy: Place
) -> None:
    client.force_login(personas.district_officer)
    response = client.get(f"/reports/{personas.units.ha_lang.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="active_7d">1<' in body
    assert 'data-figure="registered">3<' in body
    assert "Thị trấn Thanh Nhật" in body and "Xã An Lạc" in body
    # The charts are drawn in the page from its own figures (no image
    # requests); the pictures remain for the PDF and the API.
    assert 'id="chart-days"' in body and 'id="chart-active"' in body
    assert "/chart/checkins.svg" not in body and "/export.xlsx?" in body
    chart = client.get(f"/reports/{personas.units.ha_lang.pk}/chart/active.svg")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    assert chart.content.lstrip().startswith(b"<?xml")


def test_the_reports_link_takes_an_officer_to_their_own_unit(
    client: Client, personas: Any
) -> None:
    client.force_login(personas.commune_officer)
    response = client.get("/reports/")
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{personas.units.thanh_nhat.pk}/"
    assert client.get(f"/reports/{personas.units.ha_lang.pk}/").status_code == 403


def test_a_bad_period_on_the_page_is_explained_and_the_default_shown(
    client: Client, personas: Any
) -> None:
    client.force_login(personas.district_officer)
    response = client.get(f"/reports/{personas.units.ha_lang.pk}/",
                          {"since": "2021-11-20", "until": "2021-11-10"})
    assert response.status_code == 200
    assert "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc." in response.content.decode()


def test_the_api_gives_the_same_dashboard(client: Client, personas: Any, busy: Place) -> None:
    client.force_login(personas.district_officer)
    response = client.get(f"/api/v1/reports/{personas.units.ha_lang.pk}/dashboard")
    assert response.status_code == 200
    data = response.json()
    assert data["totals"]["active_7d"] == 1 and data["totals"]["registered"] == 3
    assert {row["name"] for row in data["units"]} >= {"Thị trấn Thanh Nhật", "Xã An Lạc"}
    assert all(row["epidemic_level"] is None for row in data["units"])
    thanh_nhat = next(row for row in data["units"] if row["name"] == "Thị trấn Thanh Nhật")
    unit = AdministrativeUnit.objects.get(pk=thanh_nhat["unit_id"])
    assert (unit.name, unit.code) == (thanh_nhat["name"], thanh_nhat["code"])
    refused = client.get(f"/api/v1/reports/{personas.units.ha_lang.pk}/dashboard",
                         {"since": "2021-11-20", "until": "2021-11-10"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "since"
    scopes = client.get("/api/v1/reports/scopes").json()
    assert [s["scope"] for s in scopes] == [str(personas.units.ha_lang.pk)]


def test_the_dashboard_page_costs_the_same_queries_whatever_the_data(
    client: Client, personas: Any, places: Place, settings: Any
) -> None:
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 0  # the cost of building it (cache: its own test)
    client.force_login(personas.province_officer)
    url = f"/reports/{personas.units.cao_bang.pk}/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    now = timezone.now()
    for n in range(40):
        visit(places[("market", "shop", "clinic", "pharmacy")[n % 4]], places.people[n % 6],
              now - timedelta(days=n % 14, hours=2))
    for n in range(5):
        register(personas, name=f"Quán ăn số {n}", venue_type=VenueType.RESTAURANT,
                 commune=personas.units.an_lac, phone=f"09123451{n:02d}")
    # The session and the user, the officer's roles, the unit, the dashboard's six.
    assert before == queries() == 10


def test_while_scans_wait_for_the_fold_the_dashboard_says_how_far_its_figures_go(
    client: Client, personas: Any, places: Place, settings: Any
) -> None:
    """Decision 0022: scans only note what they wrote; until the worker's
    fold counts them, the page (in both languages) and the API say the time
    up to which the figures count every scan."""
    from truyvet.checkins.services import checkin_record
    from truyvet.reports.models import RollupChange
    from truyvet.reports.rollups import rollups_fold

    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 0  # the page as built (the cache has its tests)
    client.force_login(personas.district_officer)
    scope = personas.units.ha_lang.pk
    url, api = f"/reports/{scope}/", f"/api/v1/reports/{scope}/dashboard"
    rollups_fold()
    page = client.get(url)
    assert page.context["dashboard"].counted_until is None
    assert "data-counted-until" not in page.content.decode()
    assert client.get(api).json()["counted_until"] is None

    checkin_record(venue=places["market"], person=places.people[0],
                   arrived_at=timezone.now() - timedelta(minutes=5), method="manual")
    noted = RollupChange.objects.get().noted_at
    shown = timezone.localtime(noted).strftime("%H:%M:%S")
    page = client.get(url)
    board = page.context["dashboard"]
    assert (board.counted_until, board.totals.scans) == (noted, 0)
    assert (f"Số liệu lượt quét tính đến {shown}; các lượt quét sau đó đang được cộng vào."
            in page.content.decode())
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert (f"Check-in figures as of {shown}; later scans are still being added."
            in english.content.decode())
    assert client.get(api).json()["counted_until"] is not None

    rollups_fold()
    page = client.get(url)
    assert (page.context["dashboard"].counted_until, page.context["dashboard"].totals.scans) == (
        None, 1)
    assert "data-counted-until" not in page.content.decode()
