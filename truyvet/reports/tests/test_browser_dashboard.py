"""The district dashboard in a real browser (issue 6, acceptance): Debian's
chromium opens Hạ Lang's dashboard, a screenshot is kept in
test-artifacts/, and the numbers on the screen equal a recount made
straight from the check-in table."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.reports.tests.conftest import Place, visit
from truyvet.testing_browser import save_screenshot
from truyvet.venues.models import Venue

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False,
           "device_scale_factor": 1}


def _number(text: str) -> int:
    return int(re.sub(r"\D", "", text))


@pytest.mark.browser
def test_the_district_dashboard_shows_the_recounted_numbers(
    live_server: Any, browser_page: Any, personas: Any, places: Place
) -> None:
    now = timezone.now()
    for hours, name, person in ((1, "market", 0), (2, "market", 1), (5, "shop", 1),
                                (30, "clinic", 2), (24 * 4, "market", 3), (24 * 9, "shop", 4)):
        visit(places[name], places.people[person], now - timedelta(hours=hours))
    ha_lang = personas.units.ha_lang

    page = browser_page(user=personas.district_officer, **DESKTOP)
    page.goto(f"/reports/{ha_lang.pk}/")
    page.wait_for_selector('[data-figure="active_7d"]')
    shown = {name: _number(page.locator(f'.figures [data-figure="{name}"]').inner_text())
             for name in ("registered", "active_1d", "active_7d", "inactive_7d", "scans")}
    rows = {}
    for row in page.locator("#by-unit tbody tr[data-unit]").all():
        cells = {name: _number(row.locator(f'[data-figure="{name}"]').inner_text())
                 for name in ("registered", "active_7d", "scans")}
        rows[row.get_attribute("data-unit")] = cells
    bars = {row.get_attribute("data-day"): row.locator(".bar-value").inner_text()
            for row in page.locator("#chart-days li[data-day]").all()}
    path = save_screenshot(page, "reports-district-dashboard.png")

    in_ha_lang = Venue.objects.filter(commune__path__startswith=ha_lang.path)
    recent = CheckIn.objects.filter(venue__commune__path__startswith=ha_lang.path)

    def active(hours: int) -> int:
        return recent.filter(arrived_at__gt=now - timedelta(hours=hours)).values(
            "venue_id").distinct().count()

    since = timezone.localdate() - timedelta(days=13)
    in_period = recent.filter(arrived_at__date__gte=since)
    assert shown == {
        "registered": in_ha_lang.count(), "active_1d": active(24), "active_7d": active(24 * 7),
        "inactive_7d": in_ha_lang.count() - active(24 * 7), "scans": in_period.count(),
    } == {"registered": 3, "active_1d": 2, "active_7d": 3, "inactive_7d": 0, "scans": 6}
    per_commune = {
        row["commune__code"]: row["n"]
        for row in in_ha_lang.values("commune__code").annotate(n=Count("pk")).order_by()
    }
    for code, cells in rows.items():
        assert cells["registered"] == per_commune.get(code, 0)
        assert cells["scans"] == in_period.filter(venue__commune__code=code).count()
    today = [c for c in recent if timezone.localtime(c.arrived_at).date() == timezone.localdate()]
    expected = f"{len(today)} · {len({c.person_id for c in today})}"  # scans · people
    assert len(bars) == 14 and bars[f"{timezone.localdate():%Y-%m-%d}"] == expected
    assert path.exists() and path.stat().st_size > 10_000


@pytest.mark.browser
def test_the_district_dashboard_reads_on_a_phone(
    live_server: Any, browser_page: Any, personas: Any, places: Place
) -> None:
    """Issue 19: the page is no wider than a 360 px phone, each commune is a
    card with all its figures (none hidden off to the side), and the
    charts' labels are page text at the page's own size."""
    now = timezone.now()
    for hours, name, person in ((1, "market", 0), (2, "market", 1), (5, "shop", 1)):
        visit(places[name], places.people[person], now - timedelta(hours=hours))
    page = browser_page(user=personas.district_officer,
                        viewport={"width": 360, "height": 740})
    page.goto(f"/reports/{personas.units.ha_lang.pk}/")
    page.wait_for_selector("#chart-days")
    width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    row = page.locator("#by-unit tbody tr[data-unit]").first
    cells = row.locator("td")
    visible = [cells.nth(i).is_visible() and cells.nth(i).bounding_box()["x"] + 5 < 360
               for i in range(cells.count())]
    label = page.locator("#chart-days .bar-label").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)")
    path = save_screenshot(page, "reports-district-dashboard-phone.png")
    assert width[0] <= 360 and width[1] == 360
    assert cells.count() == 8 and all(visible)
    assert label >= 13  # CSS px: readable without zooming
    assert path.exists()
