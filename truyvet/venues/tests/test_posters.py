"""A4 posters: checked the way a person would, by rendering the PDF and
scanning it (pdftoppm + zxing-cpp) and by reading its text (pdftotext)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
import zxingcpp
from reportlab.pdfbase import pdfmetrics

from truyvet.core.errors import ServiceError
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import Venue, VenueType
from truyvet.venues.posters import FONT, FONT_BOLD, poster_pdf
from truyvet.venues.qr import venue_qr_code, venue_qr_payload, venue_qr_resolve
from truyvet.venues.services import venue_register

PDFTOPPM = "/usr/bin/pdftoppm"
PDFTOTEXT = "/usr/bin/pdftotext"
PDFINFO = "/usr/bin/pdfinfo"
PDFFONTS = "/usr/bin/pdffonts"
DPI = 100
A4_POINTS = (595.28, 841.89)
HEALTH_STATION = "Trạm Y tế xã Đức Quang"
PEOPLES_COMMITTEE = "Ủy ban nhân dân huyện Hạ Lang"

pytestmark = pytest.mark.django_db


def a_venue(officer: Any, commune: AdministrativeUnit, name: str, *,
            street: str = "Xóm Bản Piạt", venue_type: str = VenueType.HEALTH) -> Venue:
    """A venue an officer registers in their area for the contact phone's owner."""
    return venue_register(
        actor=officer, name=name, venue_type=venue_type, commune=commune, street=street,
        contact_phone="0912000005",
    )


@pytest.fixture(autouse=True)
def _deployment(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://truyvet.caobang.gov.vn"
    settings.QR_SIGNING_KEYS = ""


@pytest.fixture
def duc_quang(units: Any) -> AdministrativeUnit:
    return AdministrativeUnit.objects.get(name="Xã Đức Quang", parent=units.ha_lang)


@pytest.fixture
def officer(personas: Any) -> Any:
    return personas.district_officer  # Hạ Lang


def run(*command: str) -> str:
    done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    return done.stdout


def saved(pdf: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "posters.pdf"
    path.write_bytes(pdf)
    return path


def rendered_page(pdf: Path, page: int = 1) -> PIL.Image.Image:
    out = pdf.with_name(f"page{page}")
    run(PDFTOPPM, "-r", str(DPI), "-png", "-f", str(page), "-l", str(page), "-singlefile",
        str(pdf), str(out))
    return PIL.Image.open(out.with_suffix(".png")).convert("L")


def page_text(pdf: Path, page: int = 1) -> str:
    return run(PDFTOTEXT, "-f", str(page), "-l", str(page), str(pdf), "-")


def qr_box(image: PIL.Image.Image) -> tuple[str, tuple[int, int, int, int]]:
    """The decoded text and the symbol's exact pixel box (left, top, right,
    bottom, inclusive): zxing locates it, then the dark pixels inside the
    located area, which the white quiet zone surrounds, give its edges."""
    (found,) = zxingcpp.read_barcodes(image)
    corners = [found.position.top_left, found.position.top_right,
               found.position.bottom_left, found.position.bottom_right]
    pad = 8  # a few pixels: well inside the 4-module quiet zone
    area = (min(p.x for p in corners) - pad, min(p.y for p in corners) - pad,
            max(p.x for p in corners) + pad, max(p.y for p in corners) + pad)
    dark = image.crop(area).point(lambda value: 255 if value < 128 else 0)
    left, top, right, bottom = dark.getbbox() or (0, 0, 0, 0)
    return found.text, (area[0] + left, area[1] + top, area[0] + right - 1,
                        area[1] + bottom - 1)


def words(pdf: Path, page: int = 1) -> list[tuple[str, float, float, float, float]]:
    """Every word on the page with its box in points from the top left."""
    html = run(PDFTOTEXT, "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-")
    return [
        (text, float(x0), float(y0), float(x1), float(y1))
        for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            html,
        )
    ]


def test_the_poster_qr_scans_to_the_venue_url_which_resolves_to_that_venue(
    officer: Any, duc_quang: AdministrativeUnit, tmp_path: Path,
) -> None:
    venue = a_venue(officer, duc_quang, HEALTH_STATION)
    a_venue(officer, duc_quang, "Chợ Đức Quang")  # another venue that must not come back

    pdf = saved(poster_pdf([venue]), tmp_path)
    text, _box = qr_box(rendered_page(pdf))

    assert text == venue_qr_payload(venue)
    assert text.startswith("https://truyvet.caobang.gov.vn/v/")
    assert venue_qr_resolve(text) == venue


def test_the_qr_on_the_poster_measures_at_least_15_cm_with_a_clear_quiet_zone(
    officer: Any, duc_quang: AdministrativeUnit, tmp_path: Path,
) -> None:
    venue = a_venue(officer, duc_quang, HEALTH_STATION)
    pdf = saved(poster_pdf([venue]), tmp_path)
    image = rendered_page(pdf)

    _text, (left, top, right, bottom) = qr_box(image)

    width_cm = (right - left + 1) / DPI * 2.54
    height_cm = (bottom - top + 1) / DPI * 2.54
    assert width_cm >= 15.0, width_cm
    assert height_cm >= 15.0, height_cm
    assert abs(width_cm - height_cm) < 0.1
    module = (right - left + 1) / len(venue_qr_code(venue).matrix)
    quiet = round(4 * module)
    around = image.crop((left - quiet, top - quiet, right + quiet + 1, bottom + quiet + 1))
    inside = image.crop((left, top, right + 1, bottom + 1))
    dark_pixels = sum(1 for value in around.tobytes() if value < 128)
    assert dark_pixels == sum(1 for value in inside.tobytes() if value < 128)


def test_the_poster_text_shows_the_name_address_instructions_code_and_privacy_line(
    officer: Any, duc_quang: AdministrativeUnit, units: Any, tmp_path: Path, settings: Any,
) -> None:
    settings.CHECKIN_RETENTION_DAYS = 25
    venue = a_venue(officer, units.thanh_nhat, PEOPLES_COMMITTEE, street="Khu 1",
                    venue_type=VenueType.GOVERNMENT)
    pdf = saved(poster_pdf([venue]), tmp_path)

    text = " ".join(page_text(pdf).split())

    assert "MÃ QR ĐỊA ĐIỂM" in text
    assert PEOPLES_COMMITTEE in text
    assert "Khu 1, Thị trấn Thanh Nhật, Huyện Hạ Lang, Tỉnh Cao Bằng" in text
    assert "Quét mã QR để khai báo khi ra vào" in text
    assert "Không cần cài ứng dụng" in text
    assert "CCCD" in text
    assert venue.code in text
    assert "xóa sau 25 ngày" in text
    # the English line under each
    assert "Venue check-in QR code" in text
    assert "25 days" in text


def test_the_english_lines_can_be_left_out(
    officer: Any, duc_quang: AdministrativeUnit, tmp_path: Path,
) -> None:
    venue = a_venue(officer, duc_quang, HEALTH_STATION)

    text = page_text(saved(poster_pdf([venue], english=False), tmp_path))

    assert HEALTH_STATION in " ".join(text.split())
    assert "Venue check-in QR code" not in text
    assert "days" not in text


def test_the_fonts_are_embedded_and_have_a_glyph_for_every_character(
    officer: Any, duc_quang: AdministrativeUnit, tmp_path: Path,
) -> None:
    name = "Nhà thờ Giáo xứ Đức Quang — Quán Phở Bò Ưởng, Ỷ, Ỹ, Ữ, Ặ, ỡ"
    venue = a_venue(officer, duc_quang, name, street="Lũng Ỏm, Bản Nưa")
    pdf = saved(poster_pdf([venue]), tmp_path)

    fonts = run(PDFFONTS, str(pdf)).splitlines()[2:]
    text = page_text(pdf)

    assert len(fonts) == 2
    assert all(" yes " in line and "DejaVuSans" in line for line in fonts)
    assert name in " ".join(text.split())
    for font in (FONT, FONT_BOLD):
        covered = pdfmetrics.getFont(font).face.charToGlyph
        missing = {c for c in text if not c.isspace() and ord(c) not in covered}
        assert not missing, (font, missing)


@pytest.mark.parametrize("name", [
    HEALTH_STATION,
    "Công ty Trách nhiệm Hữu hạn Một thành viên Thương mại Dịch vụ và Xây dựng Tổng hợp "
    "Miền núi phía Bắc Cao Bằng – Chi nhánh Hạ Lang (Nhà máy chế biến nông sản, khu B)",
    "Đ" * 30 + " " + "Nhàhàngkháchsạnnhànghỉ" * 8,  # one very long word, 200 characters in all
])
def test_the_text_never_runs_off_the_page_or_into_the_qr(
    officer: Any, duc_quang: AdministrativeUnit, tmp_path: Path, name: str,
) -> None:
    venue = a_venue(officer, duc_quang, name[:200], street="Xóm " + "Bản Piạt, " * 12)
    pdf = saved(poster_pdf([venue]), tmp_path)
    image = rendered_page(pdf)
    _text, (left, top, right, bottom) = qr_box(image)
    to_points = 72 / DPI
    quiet = (right - left + 1) / len(venue_qr_code(venue).matrix) * 4
    qr_zone = ((left - quiet) * to_points, (top - quiet) * to_points,
               (right + 1 + quiet) * to_points, (bottom + 1 + quiet) * to_points)
    boxes = words(pdf)

    assert boxes
    for text, x0, y0, x1, y1 in boxes:
        assert 14 <= x0 and x1 <= A4_POINTS[0] - 14, text  # 0.5 cm side margins
        assert 14 <= y0 and y1 <= A4_POINTS[1] - 14, text
        overlaps_qr = (x0 < qr_zone[2] and x1 > qr_zone[0]
                       and y0 < qr_zone[3] and y1 > qr_zone[1])
        assert not overlaps_qr, text
    for index, (text, x0, y0, x1, y1) in enumerate(boxes):  # no two words overlap
        for other, ox0, oy0, ox1, oy1 in boxes[index + 1:]:
            overlap_x = min(x1, ox1) - max(x0, ox0)
            overlap_y = min(y1, oy1) - max(y0, oy0)
            assert overlap_x <= 0.5 or overlap_y <= 0.5, (text, other)


def test_a_district_gets_one_page_per_venue_from_one_query(
    personas: Any, officer: Any, duc_quang: AdministrativeUnit, units: Any, tmp_path: Path,
    django_assert_num_queries: Any,
) -> None:
    made = [
        a_venue(officer, duc_quang, HEALTH_STATION),
        a_venue(officer, units.thanh_nhat, PEOPLES_COMMITTEE, venue_type=VenueType.GOVERNMENT),
        a_venue(officer, units.an_lac, "Chợ phiên An Lạc", venue_type=VenueType.MARKET),
    ]
    a_venue(personas.neighbour_officer, units.quang_hoa_commune, "Chợ Quảng Hòa",
            venue_type=VenueType.MARKET)
    in_ha_lang = Venue.objects.filter(commune__path__startswith=units.ha_lang.path)

    with django_assert_num_queries(1):
        pdf = saved(poster_pdf(in_ha_lang.order_by("pk")), tmp_path)

    assert re.search(r"^Pages:\s+3$", run(PDFINFO, str(pdf)), re.MULTILINE)
    for page, venue in enumerate(made, start=1):
        assert venue.name in " ".join(page_text(pdf, page).split())
        text, _box = qr_box(rendered_page(pdf, page))
        assert venue_qr_resolve(text) == venue


def test_printing_no_venues_is_a_clear_error() -> None:
    with pytest.raises(ServiceError) as caught:
        poster_pdf(Venue.objects.none())
    assert caught.value.code == "no_venues"
