"""Issue 15 acceptance, in a real browser: on a phone, a citizen asks for a
dose's date to be corrected with a photo of the paper certificate and
confirms with the OTP; the site's owner approves it; the citizen sees the
changed dose and the notice. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from PIL import Image

from truyvet.core.models import OutboxMessage
from truyvet.testing import last_otp_sent_to
from truyvet.testing_browser import save_screenshot
from truyvet.vaccination.models import CorrectionStatus, Dose
from truyvet.vaccination.services import dose_record


def certificate_photo(path: Any) -> Any:
    """A phone photo of a paper certificate, with EXIF and a GPS position."""
    picture = Image.new("RGB", (1200, 900), (245, 240, 225))
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"
    exif[0x8825] = {1: "N", 2: (22.0, 42.0, 18.0), 3: "E", 4: (106.0, 40.0, 48.0)}
    picture.save(path, format="JPEG", exif=exif)
    return path


@pytest.mark.browser
def test_a_citizen_files_a_correction_with_a_photo_and_sees_it_approved(
        live_server: Any, browser_page: Any, personas: Any, sites: Any, settings: Any,
        tmp_path: Any) -> None:
    settings.OTP_RESEND_SECONDS = 0  # the persona's registration code went out a moment ago
    hoa = personas.citizen.person
    dose = dose_record(actor=personas.venue_owner, site=sites.centre, person=hoa,
                       vaccine="Pfizer", given_on=date(2021, 10, 1), lot_number="FF1111")

    # The citizen, on a phone.
    phone = browser_page(user=personas.citizen)
    phone.goto("/vaccination/me/")
    phone.get_by_role("link", name="Yêu cầu điều chỉnh mũi 1").click()
    phone.select_option("select[name=kind]", "date")
    phone.fill("input[name=given_on]", "2021-10-02")
    phone.fill("textarea[name=note]", "Giấy xác nhận ghi ngày 02/10/2021.")
    phone.set_input_files("input[name=photos]", str(certificate_photo(tmp_path / "giay.jpg")))
    phone.get_by_role("button", name="Gửi yêu cầu").click()
    phone.wait_for_selector("#confirm")
    save_screenshot(phone, "vaccination-1-citizen-otp.png")
    phone.fill("input[name=code]", last_otp_sent_to(hoa.phone))
    phone.get_by_role("button", name="Xác nhận", exact=True).click()
    phone.wait_for_selector("#status")
    assert phone.locator("#status").inner_text() == "Đang chờ xử lý"
    save_screenshot(phone, "vaccination-2-citizen-filed.png")

    # The site's owner reviews it, photo in view.
    staff = browser_page(user=personas.venue_owner)
    staff.goto("/vaccination/corrections/")
    staff.locator("#queue tbody tr a").first.click()
    # The photo is served by its own (audited) request: wait until it is drawn.
    staff.wait_for_function("() => { const img = document.querySelector('.evidence img');"
                            " return img && img.complete && img.naturalWidth > 0; }")
    width = staff.locator(".evidence img").first.evaluate("img => img.naturalWidth")
    staff.check("input[name=decision][value=approve]")
    staff.fill("textarea[name=reason]", "Đối chiếu sổ tiêm chủng: đúng ngày 02/10/2021.")
    save_screenshot(staff, "vaccination-3-staff-review.png")
    staff.get_by_role("button", name="Gửi quyết định").click()
    staff.wait_for_selector("#decision")
    assert staff.locator("#status").inner_text() == "Đã điều chỉnh"

    # The citizen sees the changed dose, and the notice.
    phone.goto("/vaccination/me/")
    assert phone.locator('.dose[data-dose="1"] [data-field="given_on"]').inner_text() \
        == "02/10/2021"
    save_screenshot(phone, "vaccination-4-citizen-dose.png")
    phone.goto("/inbox/")
    assert "đã được điều chỉnh" in phone.content()
    path = save_screenshot(phone, "vaccination-5-citizen-inbox.png")

    dose.refresh_from_db()
    request = dose.corrections.get()
    assert dose.given_on == date(2021, 10, 2) and request.status == CorrectionStatus.APPROVED
    assert Dose.objects.get(pk=dose.pk).changes.get().before["given_on"] == "2021-10-01"
    assert OutboxMessage.objects.filter(channel="sms", phone=hoa.phone,
                                        kind="vaccination.approved").exists()
    assert width > 0 and path.exists()
    stored = request.evidence.get()
    assert stored.content_type == "image/jpeg"
    assert not Image.open(io.BytesIO(_read(stored.stored_name))).getexif()


def _read(name: str) -> bytes:
    from truyvet.vaccination.evidence import evidence_read

    return evidence_read(name)
