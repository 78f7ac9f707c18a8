"""The door in a real browser (issue 16 acceptance): a controller scanning a
personal QR sees the card colour, from the server when online and from the
QR's signed claim when the device is offline."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from truyvet.certificates import status_services
from truyvet.certificates.tests.status_fixtures import make_testing_site
from truyvet.checkins.models import CheckIn
from truyvet.checkins.personal_qr import personal_qr_token_with_claim
from truyvet.checkins.tests.conftest import establish, make_venue
from truyvet.testing_browser import save_screenshot, write_qr_video
from truyvet.venues.models import StaffRole, VenueType
from truyvet.venues.services import venue_staff_accept, venue_staff_add

TIMEOUT_MS = 15_000


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture
def door(personas: Any) -> Any:
    venue = make_venue(personas, name="Quán Phở Hạ Lang", venue_type=VenueType.RESTAURANT)
    invited = venue_staff_add(actor=personas.venue_owner, venue=venue,
                              phone=personas.controller.phone, role=StaffRole.CONTROLLER)
    venue_staff_accept(user=personas.controller, staff=invited)
    return establish(venue)


@pytest.fixture
def yellow_token(personas: Any) -> str:
    """Hoa's on-screen QR after a negative PCR two hours ago: yellow."""
    site = make_testing_site(personas)
    sampled = timezone.localtime(timezone.now() - timedelta(hours=2))
    status_services.test_result_enter(actor=personas.controller, site=site, data={
        "full_name": "Nguyễn Thị Hoa", "birth": "17/05/1990", "id_number": "004190123456",
        "kind": "pcr", "result": "negative", "sampled_at": sampled.strftime("%d/%m/%Y %H:%M")})
    return personal_qr_token_with_claim(
        personas.citizen.person, colour="yellow",
        valid_until=timezone.now() + timedelta(hours=20))


def door_page(page: Any, venue: Any) -> Any:
    page.goto(f"/checkins/control/{venue.code}/")
    expect(page.locator("#controller")).to_have_attribute("data-ready", "true")
    return page


def colour(page: Any) -> Any:
    return page.locator('#scan-result [data-field="colour"]')


@pytest.mark.browser
def test_a_controller_scanning_a_personal_qr_sees_the_colour(
    live_server: Any, browser_page: Any, chromium_with_camera: Any, personas: Any, door: Any,
    yellow_token: str, tmp_path: Path,
) -> None:
    video = write_qr_video(tmp_path / "personal-qr.y4m", yellow_token, scale=6)
    page = door_page(browser_page(user=personas.controller, browser=chromium_with_camera(video),
                                  permissions=["camera"]), door)
    page.get_by_role("button", name="Bật camera").click()

    expect(page.locator('#scan-result [data-field="title"]')).to_have_text(
        "N. T. Hoa · 1990", timeout=TIMEOUT_MS)
    expect(colour(page)).to_have_text("Thẻ vàng")
    expect(colour(page)).to_have_class(re.compile(r"\bcolour-yellow\b"))
    save_screenshot(page, "door-colour.png")
    page.get_by_role("button", name="Tắt camera").click()
    assert CheckIn.objects.get().person_id == personas.citizen.person_id


@pytest.mark.browser
def test_offline_the_door_shows_the_colour_the_qr_claims(
    live_server: Any, browser_page: Any, personas: Any, door: Any, yellow_token: str,
) -> None:
    page = door_page(browser_page(user=personas.controller), door)
    page.context.set_offline(True)
    expect(page.locator("#offline-banner")).to_be_visible()
    page.keyboard.type(yellow_token)
    page.keyboard.press("Enter")

    expect(page.locator("#queue-count")).to_have_text("1")
    expect(colour(page)).to_contain_text("Thẻ vàng")
    expect(colour(page)).to_contain_text("mã QR đã ký")
    expect(colour(page)).to_have_class(re.compile(r"\bcolour-yellow\b"))
    save_screenshot(page, "door-colour-offline.png")

    # A claim recoloured by hand is a forgery: refused on the spot.
    page.keyboard.type(yellow_token.replace(".Y", ".G", 1))
    page.keyboard.press("Enter")
    expect(page.locator("#scan-result")).to_have_class(re.compile(r"\bis-error\b"))
    expect(page.locator("#queue-count")).to_have_text("1")


@pytest.mark.browser
def test_the_citizens_qr_page_shows_the_colour_why_and_until_when(
    live_server: Any, browser_page: Any, personas: Any, yellow_token: str,
) -> None:
    page = browser_page(user=personas.citizen)
    page.goto("/checkins/qr/")
    card = page.locator("section.personal-qr")
    expect(card).to_have_class(re.compile(r"\bcolour-yellow\b"))
    expect(card.locator(".colour-label")).to_have_text("Thẻ vàng")
    expect(card.locator('[data-field="colour-reason"]')).to_contain_text("PCR âm tính")
    expect(card.locator('[data-field="colour-change"]')).to_contain_text("thẻ đỏ từ đó")
    save_screenshot(page, "personal-qr-colour.png")
