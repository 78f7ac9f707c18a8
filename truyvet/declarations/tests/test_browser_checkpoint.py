"""Issue 14's acceptance in a real browser: a citizen declares a trip on a
phone and gets the QR; the checkpoint's controller scans it with the
(fake) camera; the destination commune's officer sees the arrival.
Screenshots go to test-artifacts/ (``save_screenshot``)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from truyvet.declarations.models import CheckpointPass, Declaration
from truyvet.testing_browser import save_screenshot, write_qr_video

from .conftest import today

TIMEOUT_MS = 15_000


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.mark.browser
def test_a_declared_trip_is_scanned_at_the_checkpoint_and_seen_at_its_destination(
    live_server: Any, browser_page: Any, chromium_with_camera: Any, personas: Any,
    checkpoint: Any, tmp_path: Path,
) -> None:
    units = personas.units
    # 1. The citizen, on her phone, declares her trip home from Quảng Hòa.
    page = browser_page(user=personas.citizen)
    page.goto("/declarations/new/movement/")
    expect(page.locator("#id_full_name")).to_have_value("Nguyễn Thị Hoa")
    page.select_option("#id_vehicle", "private")
    origin = page.locator("#id_origin")
    origin.fill(units.quang_hoa_commune.name.split(" ", 1)[1])
    # The commune autocomplete offers the matching communes with their codes.
    option = page.locator(f'#commune-options option[value$="({units.quang_hoa_commune.code})"]')
    expect(option).to_have_count(1, timeout=TIMEOUT_MS)
    origin.fill(option.get_attribute("value") or "")
    page.fill("#id_destination", units.thanh_nhat.code)
    page.fill("#id_street", "Tổ 3, phố Thanh Nhật")
    page.fill("#id_plate", "11A-123.45")
    page.fill("#id_departure_date", str(today() + timedelta(days=1)))
    page.check("#id_consent")
    save_screenshot(page, "declaration-form.png")
    page.get_by_role("button", name="Gửi tờ khai").click()
    expect(page.locator("#declaration-qr svg")).to_be_visible()
    expect(page.locator("#qr-expiry")).to_contain_text("Có giá trị đến")
    save_screenshot(page, "declaration-qr.png")
    token = page.locator("#declaration-qr .qr").get_attribute("data-token") or ""
    assert token.startswith("TVD1.")
    declaration = Declaration.objects.get()
    assert declaration.plate == "11A-12345" and declaration.origin == units.quang_hoa_commune

    # 2. The controller at Hạ Lang's checkpoint holds it to the camera.
    video = write_qr_video(tmp_path / "declaration-qr.y4m", token)
    door = browser_page(user=personas.controller, browser=chromium_with_camera(video),
                        permissions=["camera"])
    door.goto(f"/checkins/control/{checkpoint.code}/")
    expect(door.locator("#controller")).to_have_attribute("data-ready", "true")
    door.get_by_role("button", name="Bật camera").click()
    title = door.locator('#scan-result [data-field="title"]')
    expect(title).to_have_text("N. T. Hoa · 1990", timeout=TIMEOUT_MS)
    lines = door.locator('#scan-result [data-field="lines"]')
    expect(lines).to_contain_text("11A-123.45")
    expect(lines).to_contain_text("Lộ trình")
    expect(lines).to_contain_text("Cấp độ dịch nơi đi")
    expect(door.locator("#scan-result")).to_have_class(re.compile(r"\bis-created\b"))
    # Within one phone screen.
    box = door.locator("#scan-result").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 2 * 740
    save_screenshot(door, "checkpoint-scan.png")
    door.get_by_role("button", name="Tắt camera").click()
    passed = CheckpointPass.objects.get()
    assert passed.direction == "in" and passed.controller == personas.controller

    # 3. Thanh Nhật's officer sees the arrival.
    officer = browser_page(user=personas.commune_officer)
    officer.goto("/declarations/movements/")
    expect(officer.locator("#passes")).to_contain_text("N. T. Hoa")
    expect(officer.locator("#passes")).to_contain_text("11A-123.45")
    expect(officer.locator("#per-day tbody tr").first).to_contain_text("1")
    save_screenshot(officer, "checkpoint-arrival.png")


@pytest.mark.browser
def test_a_paper_declaration_is_typed_in_by_keyboard_alone_in_under_30_seconds(
    live_server: Any, browser_page: Any, personas: Any, checkpoint: Any,
) -> None:
    """The fields in the paper form's order, Tab between them, no mouse; the
    commune fields take the code as typed (the autocomplete offers names)."""
    import time as clock

    units = personas.units
    page = browser_page(user=personas.controller, viewport={"width": 1280, "height": 900},
                        is_mobile=False, has_touch=False)
    page.goto(f"/declarations/checkpoint/{checkpoint.code}/paper/")
    departure = today()
    started = clock.monotonic()
    page.focus("#id_direction")
    keys = page.keyboard
    for text in ("", "Lương Thị Mai", "1988"):  # direction (by the route), name, year
        if text:
            keys.type(text)
        keys.press("Tab")
    keys.press("ArrowRight")  # sex: from "Nam" to "Nữ"
    keys.press("Tab")
    for text in ("004188012345", "0912345678", "11B-012.34"):
        keys.type(text)
        keys.press("Tab")
    keys.type("x")  # vehicle: "Xe khách"
    keys.press("Tab")
    keys.type(units.quang_hoa_commune.code)
    keys.press("Tab")
    keys.type(units.thanh_nhat.code)
    keys.press("Tab")  # the departure date is today's unless typed over
    # Wait for the answer page itself: waiting on the load state of the page
    # that was already loaded returns at once, and a screenshot taken while
    # the form's POST is in flight can hang until Playwright's timeout.
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_selector("#paper-result, .errorlist, .form-error")
    elapsed = clock.monotonic() - started
    save_screenshot(page, "checkpoint-paper.png")
    errors = page.locator(".errorlist, .form-error").all_inner_texts()
    assert page.locator("#paper-result").count() == 1, errors
    assert elapsed < 30, elapsed
    passed = CheckpointPass.objects.get()
    declaration = passed.declaration
    assert declaration.full_name == "Lương Thị Mai" and declaration.sex == "female"
    assert declaration.vehicle == "coach" and declaration.plate == "11B-01234"
    assert declaration.origin == units.quang_hoa_commune
    assert declaration.departure_date == departure
