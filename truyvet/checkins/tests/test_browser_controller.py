"""The controller's door page in a real browser (issue 4, acceptance):
Debian's chromium, a fake camera playing a QR code, the keyboard-wedge
field, the offline queue and the speed of the result panel.

The page talks to pytest-django's live server; the test reads the database
only once the page has shown the outcome (see truyvet.testing_browser).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from truyvet.checkins.models import CheckIn, CheckInMethod
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.testing_browser import (
    REQUIRE_BROWSER_VARIABLE,
    chromium_path,
    save_screenshot,
    write_qr_video,
)

CCCD = "004301234567||Hoàng Thị Lan|09092001|Nữ|Xã An Lạc, Hạ Lang, Cao Bằng|01012022"
TIMEOUT_MS = 15_000


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def door_page(page: Any, venue: Any) -> Any:
    page.goto(f"/checkins/control/{venue.code}/")
    expect(page.locator("#controller")).to_have_attribute("data-ready", "true")
    return page


def panel_title(page: Any) -> Any:
    return page.locator('#scan-result [data-field="title"]')


def panel_detail(page: Any) -> Any:
    return page.locator('#scan-result [data-field="detail"]')


def scan_with_the_wedge(page: Any, code: str) -> None:
    """Types like a handheld scanner into whatever has the focus."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def forged(token: str) -> str:
    """The personal QR ``token`` with one character of its signature changed."""
    head, _dot, signature = token.rpartition(".")
    swapped = "B" if signature[10] == "A" else "A"
    return f"{head}.{signature[:10]}{swapped}{signature[11:]}"


def queue_key(user: Any) -> str:
    return f"truyvet.controller.queue.v1.{user.pk}"


@pytest.mark.browser
def test_a_personal_qr_held_to_the_camera_is_checked_in(
    live_server: Any, browser_page: Any, chromium_with_camera: Any, personas: Any,
    restaurant: Any, tmp_path: Path,
) -> None:
    citizen = personas.citizen
    video = write_qr_video(tmp_path / "personal-qr.y4m", personal_qr_token(citizen.person))
    page = door_page(
        browser_page(user=personas.controller, browser=chromium_with_camera(video),
                     permissions=["camera"]),
        restaurant,
    )

    frames_sent: list[str] = []
    page.on("request", lambda r: frames_sent.append(r.method) if "/decode" in r.url else None)

    page.get_by_role("button", name="Bật camera").click()

    expect(panel_title(page)).to_have_text("N. T. Hoa · 1990", timeout=TIMEOUT_MS)
    expect(page.locator("#scan-result")).to_have_class(re.compile(r"\bis-created\b"))
    expect(page.locator('#scan-result [data-field="colour"]')).to_have_text(
        "Thẻ đỏ"
    )
    # Chromium on Linux has no BarcodeDetector: the frames went to the server.
    assert page.locator("#controller").get_attribute("data-decoder") == "server"
    assert frames_sent and set(frames_sent) == {"POST"}
    save_screenshot(page, "controller.png")
    page.get_by_role("button", name="Tắt camera").click()
    expect(page.locator("#controller")).to_have_attribute("data-camera", "off")

    visit = CheckIn.objects.get()
    assert visit.person_id == citizen.person_id
    assert visit.venue_id == restaurant.pk
    assert visit.method == CheckInMethod.PERSONAL_QR
    assert visit.recorded_by_id == personas.controller.pk


@pytest.mark.browser
def test_scans_queued_offline_are_recorded_once_when_the_network_returns(
    live_server: Any, browser_page: Any, personas: Any, restaurant: Any
) -> None:
    page = door_page(browser_page(user=personas.controller), restaurant)
    codes = [
        personal_qr_token(personas.citizen.person),
        personal_qr_token(personas.other_citizen.person),
        CCCD,
    ]

    page.context.set_offline(True)
    expect(page.locator("#offline-banner")).to_be_visible()
    for number, code in enumerate(codes, start=1):
        # A click elsewhere must not take the focus from the scanner's field.
        page.locator("#scan-result").click()
        scan_with_the_wedge(page, code)
        expect(page.locator("#queue-count")).to_have_text(str(number))
        if number == 1:
            # Our personal QR is checked offline against the public key.
            expect(panel_detail(page)).to_contain_text("chữ ký đúng")
    expect(page.locator("#queue-status")).to_have_text("Đang chờ gửi: 3")
    expect(page.locator("#scan-result")).to_have_class(re.compile(r"\bis-queued\b"))
    # The chip ID card names its holder, so the door sees who it was at once.
    expect(panel_title(page)).to_have_text("H. T. Lan · 2001")
    save_screenshot(page, "controller-offline.png")
    # A personal QR with a forged signature is refused on the spot, not queued.
    scan_with_the_wedge(page, forged(codes[0]))
    expect(panel_detail(page)).to_have_text(
        "Mã QR cá nhân không hợp lệ: chữ ký không đúng (mã giả hoặc đã bị sửa)."
    )
    expect(page.locator("#queue-count")).to_have_text("3")
    queued = page.evaluate("key => localStorage.getItem(key)", queue_key(personas.controller))
    assert not CheckIn.objects.exists()

    # The first upload reaches the server but its answer is lost on the way
    # back: the page must retry, and the retry must record nothing twice.
    lost: list[int] = []

    def lose_the_first_answer(route: Any) -> None:
        if lost:
            route.continue_()
            return
        lost.append(route.fetch().status)
        route.abort("connectionreset")

    page.route("**/api/v1/checkins/batch", lose_the_first_answer)
    page.context.set_offline(False)

    expect(page.locator("#queue-count")).to_have_text("0", timeout=TIMEOUT_MS)
    expect(page.locator("#offline-banner")).to_be_hidden()
    assert lost == [200]
    visits = CheckIn.objects.filter(venue=restaurant)
    assert visits.count() == 3
    assert {v.person_id for v in visits} >= {
        personas.citizen.person_id, personas.other_citizen.person_id
    }

    # The same queue sent again (as a phone that restarts before it saw the
    # answers would): still three visits.
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [queue_key(personas.controller), queued])
    page.reload()
    expect(page.locator("#controller")).to_have_attribute("data-ready", "true")
    expect(page.locator("#queue-count")).to_have_text("0", timeout=TIMEOUT_MS)
    expect(page.locator("#sync-message")).to_have_text("Đã gửi các lượt quét đang chờ.")
    assert CheckIn.objects.filter(venue=restaurant).count() == 3
    assert not page.locator("#rejected").is_visible()


@pytest.mark.browser
def test_a_queued_scan_the_server_refuses_is_listed_with_its_reason(
    live_server: Any, browser_page: Any, personas: Any, restaurant: Any
) -> None:
    page = door_page(browser_page(user=personas.controller), restaurant)
    page.context.set_offline(True)
    # 31 February: the device cannot tell, the server can.
    scan_with_the_wedge(page, CCCD.replace("|09092001|", "|31022001|"))
    expect(page.locator("#queue-count")).to_have_text("1")

    page.context.set_offline(False)

    expect(page.locator("#queue-count")).to_have_text("0", timeout=TIMEOUT_MS)
    expect(page.locator("#scan-result")).to_have_class(re.compile(r"\bis-error\b"))
    expect(panel_detail(page)).to_contain_text("Mã QR trên CCCD không hợp lệ.")
    expect(page.locator("#rejected-list li")).to_have_count(1)
    expect(page.locator("#rejected-list li")).to_contain_text("H. T. Lan")
    expect(page.locator("#rejected-list li")).to_contain_text("Ngày sinh")
    assert not CheckIn.objects.exists()


@pytest.mark.browser
def test_manual_entry_finds_a_known_visitor_and_records_the_visit(
    live_server: Any, browser_page: Any, personas: Any, restaurant: Any
) -> None:
    page = door_page(browser_page(user=personas.controller), restaurant)
    page.get_by_text("Nhập tay (người không có mã)").click()
    # Typing in the lookup stays there: only the scanner's field is refocused.
    page.locator("#lookup").click()
    page.keyboard.type(personas.citizen.phone)
    page.locator("#lookup-results .pick").click()
    expect(page.locator("#picked")).to_have_text("N. T. Hoa")
    # She has an account: the birth date on her card is asked too (issue 12).
    page.locator("#manual-form [name=birth_date]").fill("1990-05-17")

    page.locator("#manual-form").get_by_role("button", name="Ghi nhận").click()

    expect(panel_title(page)).to_have_text("N. T. Hoa · 1990")
    expect(panel_detail(page)).to_have_text("Đã ghi nhận lượt đến · Nhập tay")
    expect(page.locator("#wedge")).to_be_focused()
    visit = CheckIn.objects.get()
    assert (visit.person_id, visit.method) == (personas.citizen.person_id, CheckInMethod.MANUAL)


# Stamps, in the page, when the answer to the scan arrives and when the
# panel has changed and been painted after it.
MEASURE_PANEL = """() => {
  const timing = window.__panelTiming = {};
  const original = window.fetch;
  window.fetch = function (url) {
    return original.apply(this, arguments).then((response) => {
      if (String(url).indexOf("staff-scan") >= 0) timing.answered = performance.now();
      return response;
    });
  };
  new MutationObserver(() => {
    if (timing.answered === undefined || timing.changed !== undefined) return;
    timing.changed = performance.now();
    requestAnimationFrame(() => { timing.painted = performance.now(); });
  }).observe(document.getElementById("scan-result"),
             {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@pytest.mark.browser
def test_the_result_panel_shows_the_answer_within_300_ms(
    live_server: Any, browser_page: Any, personas: Any, restaurant: Any
) -> None:
    page = door_page(browser_page(user=personas.controller), restaurant)
    page.evaluate(MEASURE_PANEL)

    scan_with_the_wedge(page, CCCD)

    expect(panel_title(page)).to_have_text("H. T. Lan · 2001")
    expect(page.locator("#scan-result")).to_have_class(re.compile(r"\bis-created\b"))
    page.wait_for_function("() => window.__panelTiming.painted !== undefined")
    timing = page.evaluate("() => window.__panelTiming")
    assert timing["answered"] <= timing["changed"] <= timing["painted"]
    assert timing["painted"] - timing["answered"] < 300, timing
    assert CheckIn.objects.get().method == CheckInMethod.CCCD_QR


# Waits (up to 5 s) until the service worker has kept the page and its script.
KEPT_FOR_OFFLINE = """async () => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const page = await caches.match(location.href, {ignoreVary: true});
    const script = await caches.match("/static/checkins/controller.js");
    if (page && script) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}"""


@pytest.mark.browser
def test_the_door_page_opens_without_a_network_once_it_was_visited(
    live_server: Any, browser_page: Any, personas: Any, restaurant: Any
) -> None:
    page = door_page(browser_page(user=personas.controller, service_workers="allow"),
                     restaurant)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # The first visit installed the service worker; from the next one on
    # the page and its script are kept.
    door_page(page, restaurant)
    assert page.evaluate(KEPT_FOR_OFFLINE)

    page.context.set_offline(True)
    door_page(page, restaurant)
    expect(page.locator("#offline-banner")).to_be_visible()
    scan_with_the_wedge(page, CCCD)
    expect(page.locator("#queue-count")).to_have_text("1")
    page.context.set_offline(False)

    expect(page.locator("#queue-count")).to_have_text("0", timeout=TIMEOUT_MS)
    assert CheckIn.objects.filter(venue=restaurant).count() == 1


# --- Without a browser ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_scripts_texts_follow_the_users_language(
    client: Any, personas: Any, restaurant: Any
) -> None:
    client.force_login(personas.controller)
    client.cookies["django_language"] = "en"
    page = client.get(f"/checkins/control/{restaurant.code}/").content.decode()
    assert 'data-msg-camera-on="Turn on camera"' in page
    assert 'data-msg-retry="Not sent yet; trying again in {seconds} seconds."' in page
    assert "Waiting to send:" in page
    assert "Đang chờ gửi" not in page


def test_browser_tests_skip_without_chromium_unless_it_is_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import truyvet.testing_browser as testing_browser

    monkeypatch.setattr(testing_browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv(REQUIRE_BROWSER_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        chromium_path()
    monkeypatch.setenv(REQUIRE_BROWSER_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_BROWSER_VARIABLE}=1"):
        chromium_path()


def test_the_fake_camera_video_holds_whole_frames_of_a_readable_qr(tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    video = write_qr_video(tmp_path / "qr.y4m", CCCD, frames=3, width=640, height=480)
    header, _newline, body = video.read_bytes().partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg"
    frame_size = len(b"FRAME\n") + 640 * 480 * 3 // 2
    assert len(body) == 3 * frame_size
    luma = body[len(b"FRAME\n"):len(b"FRAME\n") + 640 * 480]
    decoded = zxingcpp.read_barcodes(Image.frombytes("L", (640, 480), luma))
    assert [code.text for code in decoded] == [CCCD]
