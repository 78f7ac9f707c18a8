"""The dashboard page reuses a scope's figures for a minute (issue 19,
item 14: a province at 10 M check-ins builds in more than the page's
budget); the files and the API stay fresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.reports.tests.conftest import Place, visit


def _scans(page: str) -> str:
    return page.split('data-figure="scans">', 1)[1].split("<", 1)[0]


def test_the_page_reuses_the_figures_it_built_a_moment_ago(
    client: Client, personas: Any, places: Place, settings: Any
) -> None:
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 60
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/"
    visit(places["market"], places.people[0], timezone.now() - timedelta(hours=1))
    with CaptureQueriesContext(connection) as first:
        before = client.get(url).content.decode()
    visit(places["shop"], places.people[1], timezone.now() - timedelta(minutes=5))
    with CaptureQueriesContext(connection) as second:
        again = client.get(url).content.decode()
    assert _scans(before) == _scans(again) == "1"
    assert len(second.captured_queries) < len(first.captured_queries) - 3
    # Another officer over the same scope gets the same figures; one
    # without the right still gets nothing.
    other = Client()
    other.force_login(personas.province_officer)
    assert _scans(other.get(url).content.decode()) == "1"
    stranger = Client()
    stranger.force_login(personas.neighbour_officer)
    assert stranger.get(url).status_code in (403, 404)


def test_with_no_cache_every_view_is_fresh(
    client: Client, personas: Any, places: Place, settings: Any
) -> None:
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 0
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/"
    visit(places["market"], places.people[0], timezone.now() - timedelta(hours=1))
    assert _scans(client.get(url).content.decode()) == "1"
    visit(places["shop"], places.people[1], timezone.now() - timedelta(minutes=5))
    assert _scans(client.get(url).content.decode()) == "2"
