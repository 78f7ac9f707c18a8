"""The verifier page in a real browser (issue 17, acceptance): Debian's
chromium with a fake camera playing a DCC's QR code. Chromium on Linux has
no BarcodeDetector, so frames go to the server's zxing decode."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from truyvet.certificates import services
from truyvet.testing_browser import save_screenshot, write_qr_video

from .builders import DccSpec, make_dcc, make_signer

TIMEOUT_MS = 20_000


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def scan_with_the_camera(browser_page: Any, chromium_with_camera: Any, video: Path) -> Any:
    page = browser_page(browser=chromium_with_camera(video), permissions=["camera"])
    page.goto("/certificates/verify/")
    expect(page.locator("#verifier")).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Bật camera").click()
    return page


@pytest.fixture
def current_signer(personas: Any) -> Any:
    """A DSC valid today, in the imported trust list."""
    today = timezone.now()
    signer = make_signer(not_before=today - timedelta(days=30),
                         not_after=today + timedelta(days=700))
    services.trust_list_import(actor=personas.admin, name="DSC Việt Nam", kind="dsc",
                               data=signer.pem())
    return signer


@pytest.mark.browser
def test_a_valid_dcc_held_to_the_camera_shows_the_big_green_result(
    live_server: Any, browser_page: Any, chromium_with_camera: Any, current_signer: Any,
    tmp_path: Path,
) -> None:
    today = timezone.now()
    text = make_dcc(current_signer, DccSpec(issued_at=today - timedelta(days=1),
                                            expires_at=today + timedelta(days=180)))
    page = scan_with_the_camera(
        browser_page, chromium_with_camera, write_qr_video(tmp_path / "dcc.y4m", text, scale=4)
    )
    result = page.locator("#cert-results .cert-result")
    expect(result).to_have_class(re.compile(r"\bis-valid\b"), timeout=TIMEOUT_MS)
    expect(result.locator(".cert-verdict")).to_contain_text("Hợp lệ")
    expect(result.locator(".cert-holder")).to_have_text("Thị Hoa Nguyễn")
    expect(result.locator(".cert-dob")).to_contain_text("1990-04-12")
    assert page.locator("#verifier").get_attribute("data-decoder") == "server"
    save_screenshot(page, "certificate-valid.png")


@pytest.mark.browser
def test_an_expired_dcc_held_to_the_camera_shows_the_red_result_with_its_reason(
    live_server: Any, browser_page: Any, chromium_with_camera: Any, current_signer: Any,
    tmp_path: Path,
) -> None:
    today = timezone.now()
    text = make_dcc(current_signer, DccSpec(issued_at=today - timedelta(days=20),
                                            expires_at=today - timedelta(days=2)))
    page = scan_with_the_camera(
        browser_page, chromium_with_camera,
        write_qr_video(tmp_path / "expired.y4m", text, scale=4),
    )
    result = page.locator("#cert-results .cert-result")
    expect(result).to_have_class(re.compile(r"\bis-invalid\b"), timeout=TIMEOUT_MS)
    expect(result.locator(".cert-verdict")).to_contain_text("Không hợp lệ")
    expect(result.locator(".cert-reasons")).to_contain_text("Chứng nhận đã hết hạn.")
    assert result.get_attribute("data-codes") == "dcc_expired"
    save_screenshot(page, "certificate-expired.png")
