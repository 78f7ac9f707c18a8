"""The wallet view on a phone (issue 16): the certificate's QR spans the
screen's width, the brightness hint and the expiry are shown, and the QR
read back from a screenshot is the certificate."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import zxingcpp
from PIL import Image

from truyvet.certificates.issuing.services import certificate_issue_now, signing_keys_make
from truyvet.certificates.tests.issuing_support import vaccinate
from truyvet.testing_browser import save_screenshot
from truyvet.vaccination.tests.conftest import sites  # noqa: F401 - a fixture


@pytest.mark.browser
def test_the_wallet_shows_the_qr_at_full_width_with_the_hint_and_the_expiry(
        live_server: Any, browser_page: Any, personas: Any, sites: Any,  # noqa: F811
        settings: Any, tmp_path: Path) -> None:
    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    signing_keys_make(provinces=[personas.units.cao_bang])
    vaccinate(personas, sites.centre, personas.citizen.person, given_on=date(2021, 10, 1))
    certificate = certificate_issue_now(person=personas.citizen.person, kind="v")
    page = browser_page(user=personas.citizen)
    page.goto(f"/certificates/issued/{quote(certificate.uvci, safe='')}/")
    qr = page.locator("svg.wallet-qr")
    box = qr.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["width"] >= viewport["width"] * 0.95
    assert abs(box["width"] - box["height"]) < 2
    assert "độ sáng" in page.locator("#brightness-hint").inner_text()
    assert certificate.expires_at is not None
    assert "Có giá trị đến" in page.content()
    save_screenshot(page, "wallet.png")
    shot = Image.open(io.BytesIO(qr.screenshot())).convert("L")
    found = zxingcpp.read_barcodes(shot)
    assert [code.text for code in found] == [certificate.hc1]
