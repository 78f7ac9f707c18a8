"""The PDF certificate: A4, bilingual, the 11 fields, its QR at least
6 × 6 cm at level Q, fonts embedded; its QR read back from the rendered
image (pdftoppm, then zxing-cpp) is a DCC that verifies."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image

from truyvet.certificates.issuing.documents import QR_SIZE_CM, certificate_pdf, qr_code
from truyvet.certificates.issuing.services import certificate_issue_now, signing_keys_make
from truyvet.certificates.selectors import trust_store
from truyvet.certificates.tests.issuing_support import vaccinate
from truyvet.certificates.verify import credential_verify
from truyvet.vaccination.tests.conftest import sites  # noqa: F401 - a fixture

DPI = 150


def _text_of(pdf: bytes) -> str:
    return subprocess.run(  # noqa: S603 - poppler on a file we made
        [shutil.which("pdftotext") or "pdftotext", "-layout", "-", "-"], input=pdf,
        capture_output=True, check=True, timeout=60).stdout.decode("utf-8")


@pytest.mark.django_db
def test_the_pdf_is_a4_bilingual_and_its_qr_decodes_to_a_dcc_that_verifies(
        personas: Any, sites: Any, settings: Any, tmp_path: Path) -> None:  # noqa: F811
    if shutil.which("pdftoppm") is None:
        pytest.fail("poppler-utils (pdftoppm) is required for this test")
    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    signing_keys_make(provinces=[personas.units.cao_bang])
    vaccinate(personas, sites.centre, personas.citizen.person, given_on=date(2021, 10, 1))
    certificate = certificate_issue_now(person=personas.citizen.person, kind="v")
    pdf = certificate_pdf(certificate)
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4
    assert b"/FontFile2" in pdf  # the TrueType font is embedded
    text = _text_of(pdf)
    for label in ("Họ và tên", "Name", "Ngày sinh", "Date of birth", "Quốc tịch",
                  "Nationality", "Bệnh được phòng", "Disease", "Số mũi trong liệu trình",
                  "Total doses", "Ngày tiêm", "Date of vaccination", "Mũi số", "Dose number",
                  "Loại vắc xin", "Vaccine or prophylaxis", "Tên vắc xin", "Vaccine product",
                  "Nhà sản xuất", "Manufacturer", "Mã chứng nhận", "certificate identifier"):
        assert label in text, label
    assert "Nguyễn Thị Hoa" in text and certificate.uvci in text
    assert "2021-10-01" in text and "Comirnaty" in text

    symbol = qr_code(certificate.hc1)
    assert symbol.error == "Q"
    assert QR_SIZE_CM >= 6.0

    subprocess.run(  # noqa: S603 - poppler on a file we made
        [shutil.which("pdftoppm") or "pdftoppm", "-r", str(DPI), "-png", "-singlefile",
         str(tmp_path / "certificate.pdf"), str(tmp_path / "page")], check=True, timeout=120)
    image = Image.open(tmp_path / "page.png")
    a4 = (21.0 / 2.54 * DPI, 29.7 / 2.54 * DPI)
    assert abs(image.size[0] - a4[0]) <= 1 and abs(image.size[1] - a4[1]) <= 1
    found = zxingcpp.read_barcodes(image.convert("L"))
    assert len(found) == 1 and found[0].text == certificate.hc1
    assert found[0].ec_level == "Q"
    # The symbol's size on the page, measured from the image: at least 6 cm.
    position = found[0].position
    side_px = abs(position.top_right.x - position.top_left.x)
    assert side_px / DPI * 2.54 >= 6.0
    result = credential_verify(found[0].text, trust=trust_store(), at=timezone.now())
    assert result.valid, result.codes
    assert not re.search(rb"/BaseFont /Helvetica", pdf)  # no unembedded core font


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "labels"), [
    ("t", ["Loại xét nghiệm", "Type of test", "Kết quả", "Test result", "Not detected"]),
    ("r", ["Ngày dương tính lần đầu", "Date of first positive test", "2022-03-01",
           "Valid until", "2022-08-28"]),
])
def test_test_and_recovery_certificates_have_their_own_fields(
        kind: str, labels: list[str], personas: Any, settings: Any, tmp_path: Path) -> None:
    from truyvet.certificates.tests.issuing_support import a_testing_site, pcr, recovered

    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    signing_keys_make(provinces=[personas.units.cao_bang])
    person = personas.citizen.person
    if kind == "t":
        pcr(person, a_testing_site(personas))
    else:
        recovered(person, first_positive=date(2022, 3, 1))
    text = _text_of(certificate_pdf(certificate_issue_now(person=person, kind=kind)))
    for label in [*labels, "Họ và tên", "Nguyễn Thị Hoa", "Mã chứng nhận"]:
        assert label in text, label
