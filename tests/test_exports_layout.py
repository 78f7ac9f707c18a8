"""Printed and spreadsheet exports are laid out by the shared helpers
(core.pdf.grid, core.sheets.sheet_table) so that no word, code or phone
number is cut across lines, spreadsheets hold real dates and times, and
their header row is frozen with filters (issue 19, item 15).

Each PDF is read back with ``pdftotext`` (poppler), as a person copying
from it or a screen reader would: every word of every cell must come out
whole, and every phone number on one line.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from truyvet.core import formats, pdf

PDFTOTEXT = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(PDFTOTEXT is None,
                                reason="pdftotext (poppler-utils) is needed to read PDFs back")
PHONE = re.compile(r"0\d{3} \d{3} \d{3}")


def pdf_text(content: bytes, tmp_path: Path) -> str:
    source = tmp_path / "export.pdf"
    source.write_bytes(content)
    assert PDFTOTEXT is not None
    out = subprocess.run(  # noqa: S603 - poppler's pdftotext on our own file
        [PDFTOTEXT, "-enc", "UTF-8", str(source), "-"], check=True, capture_output=True,
        timeout=60)
    return out.stdout.decode("utf-8").replace(formats.NBSP, " ")


def split_words(text: str, cells: list[str]) -> list[str]:
    """The words of ``cells`` that do not come out of the PDF whole, and
    the phone numbers that do not come out on one line."""
    lines = text.splitlines()
    found = set(text.split())
    missing = [word for cell in cells for word in re.split(r"[ \t\n]+", cell)
               if len(word) > 1 and word not in found]
    phones = [p for cell in cells for p in PHONE.findall(cell)
              if not any(p in line for line in lines)]
    return missing + phones


# --- The checker catches what it looks for ---------------------------------------------------


def test_the_checker_finds_a_word_that_reportlab_would_cut(tmp_path: Path) -> None:
    """Equal narrow columns and reportlab's own styles (splitLongWords on)
    print "Xã/phư ờng": the check must see it, or it checks nothing."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    pdf.fonts_register()
    style = ParagraphStyle("cut", fontName=pdf.FONT, fontSize=8)
    cells = ["Xã/phường/thị trấn", "0912 345 678", "QH-0001234567"]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4).build(
        [Table([[Paragraph(c, style) for c in cells]], colWidths=[30, 30, 30])])
    assert split_words(pdf_text(buffer.getvalue(), tmp_path), cells)


def test_the_shared_grid_keeps_every_word_and_phone_whole(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    headers = ["Mã địa điểm", "Tên địa điểm", "Xã/phường/thị trấn", "Lượt quét gần nhất",
               "Số lần đã nhắc", "Chủ địa điểm", "Số điện thoại", "Loại hình", "Ghi chú"]
    rows = [["HL-00012345", "Nhà Văn Hoá Xóm Bản Khuông Thượng Lũng Phia Đin",
             "Thị trấn Thanh Nhật", "06/12/2026 09:15", "12", "Nông Thị Hoàng Yến Nhi",
             "0912 345 678; 0987 654 321", "Nhà hàng/quán ăn", "Trường Trung học phổ thông"]] * 30
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4).build(
        [pdf.grid(headers, rows, width=A4[0] - 60)])
    cells = headers + [c for row in rows for c in row]
    assert split_words(pdf_text(buffer.getvalue(), tmp_path), cells) == []


# --- The district report --------------------------------------------------------------------


@pytest.fixture
def district(personas: Any) -> Any:
    """Hạ Lang with venues whose names, codes and owners' phones are long,
    none scanned in 7 days (all on the inactive list)."""
    from truyvet.venues.services import venue_register

    units = personas.units
    names = ["Nhà Văn Hoá Xóm Bản Khuông Thượng Lũng", "Hợp tác xã Nông nghiệp Thanh Nhật",
             "Trường Phổ thông Dân tộc Nội trú Trung học cơ sở Hạ Lang",
             "Tạp hoá Cô Thơm Phố Mới"]
    for number, name in enumerate(names):
        venue_register(actor=personas.district_officer, name=name, venue_type="shop",
                       commune=units.thanh_nhat if number % 2 else units.an_lac,
                       street="Xóm Bản Khuông", contact_phone=f"091234{number:04d}")
    return personas


def _district_export(personas: Any, fmt: str) -> bytes:
    from truyvet.reports.exports import dashboard_export
    from truyvet.reports.selectors import Scope

    return dashboard_export(viewer=personas.district_officer,
                            scope=Scope(unit=personas.units.ha_lang), since=None, until=None,
                            fmt=fmt).content


def test_the_district_pdf_cuts_no_word_code_or_phone(district: Any, tmp_path: Path) -> None:
    from truyvet.reports.exports import _cell, dashboard_tables
    from truyvet.reports.selectors import (
        Scope,
        dashboard_for,
        inactive_venues_all,
        period_clean,
    )

    text = pdf_text(_district_export(district, "pdf"), tmp_path)
    scope = Scope(unit=district.units.ha_lang)
    since, until = period_clean(since=None, until=None)
    board = dashboard_for(viewer=district.district_officer, scope=scope, since=since,
                          until=until)
    tables = dashboard_tables(board, inactive_venues_all(scope))
    printed = {"units": None, "types": None, "inactive": (0, 1, 3, 6, 7, 8, 9)}
    cells = [
        _cell(value) for t in tables if t.key in printed
        for row in [t.headers, *t.rows]
        for index, value in enumerate(row)
        if printed[t.key] is None or index in printed[t.key]  # type: ignore[operator]
    ]
    assert "Xã/phường/thị" in text
    assert split_words(text, cells) == []


def test_the_district_pdf_has_no_almost_blank_page(district: Any, tmp_path: Path) -> None:
    pages = pdf_text(_district_export(district, "pdf"), tmp_path).split("\f")
    filled = [len(page.split()) for page in pages if page.strip()]
    assert all(words > 40 for words in filled[:-1]), filled


def test_the_inactive_sheet_names_every_owner_and_holds_real_times(district: Any) -> None:
    book = load_workbook(io.BytesIO(_district_export(district, "xlsx")))
    sheet = book["Địa điểm chưa có lượt quét"]
    headers = [c.value for c in sheet[2]]
    owner, phone = headers.index("Chủ địa điểm"), headers.index("Số điện thoại")
    rows = [r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0]]
    assert rows and all(row[owner] for row in rows)
    assert all(PHONE.fullmatch(row[phone].split("; ")[0]) for row in rows)
    summary = book["Tổng hợp"]
    as_of = next(r[1] for r in summary.iter_rows(min_row=3, values_only=True)
                 if r[0] == "Số liệu hoạt động tính đến")
    assert isinstance(as_of, datetime)


def test_every_sheet_of_the_workbook_has_a_frozen_filtered_header(district: Any) -> None:
    book = load_workbook(io.BytesIO(_district_export(district, "xlsx")))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A3", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A2:"), sheet.title
        widths = [sheet.column_dimensions[c].width for c in "AB"]
        assert all(w and w >= 6 for w in widths), sheet.title
    days = book["Theo ngày"]
    first = next(days.iter_rows(min_row=3, max_row=3))
    assert first[0].is_date and first[0].number_format == "dd/mm/yyyy"
    assert isinstance(first[1].value, int) and first[1].number_format == "#,##0"


# --- The case timeline ------------------------------------------------------------------------


def _case_and_entries() -> tuple[Any, list[Any]]:
    from truyvet.tracing.selectors import TimelineEntry

    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    case = SimpleNamespace(
        pk=17, window_start=start, window_end=None, unit=SimpleNamespace(full_name="Huyện Hạ Lang"),
        person=SimpleNamespace(full_name="Nông Văn Thắng"),
        get_classification_display=lambda: "F0",
    )
    entries = [TimelineEntry(
        checkin_id=n, venue_id=n, venue_name="Nhà Văn Hoá Xóm Bản Khuông Thượng Lũng",
        venue_code=f"HL-{n:08d}", venue_type="other", address="Xóm Bản Khuông, Tổ 12",
        commune="Xã An Lạc, Huyện Hạ Lang, Tỉnh Cao Bằng", venue_phone="+84912345678",
        arrived_at=start + timedelta(hours=n), departed_at=start + timedelta(hours=n, minutes=45),
        departure_real=bool(n % 2), departure_label="", method_label="") for n in range(1, 25)]
    return case, entries


def test_the_timeline_pdf_cuts_no_word_code_or_phone(tmp_path: Path) -> None:
    from truyvet.tracing.exports import _headers, _row, timeline_pdf

    case, entries = _case_and_entries()
    text = pdf_text(timeline_pdf(case, entries), tmp_path)
    cells = _headers() + [c for n, e in enumerate(entries, 1) for c in _row(n, e)]
    assert "0912 345 678" in text
    assert split_words(text, cells) == []


def test_the_timeline_sheet_has_real_times_and_a_frozen_filtered_header() -> None:
    from truyvet.tracing.exports import timeline_xlsx

    case, entries = _case_and_entries()
    sheet = load_workbook(io.BytesIO(timeline_xlsx(case, entries))).active
    assert sheet is not None
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:I28"
    arrived = sheet.cell(row=5, column=7)
    assert isinstance(arrived.value, datetime) and arrived.number_format == "dd/mm/yyyy hh:mm"
    assert arrived.value == timezone.localtime(entries[0].arrived_at).replace(tzinfo=None)
    assert sheet.cell(row=5, column=6).value == "0912 345 678"


def test_a_word_too_long_for_any_column_is_broken_not_lost(tmp_path: Path) -> None:
    """200 letters typed without a space cannot be kept whole: they are
    broken across lines inside their cell, never run off the page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    word = "Ựơéẵỷớýtềẹếẽăẫặạủýúỗằìỏặịểũĩứỹỵêừắlỳộndằũủrọầẩểạẫibgaắịeớặỉơờắáợẳỳâõấuợệí" * 3
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4).build([pdf.grid(
        ["Mã", "Tên địa điểm", "Xã/phường/thị trấn"],
        [["HL-00012345", word, "Thị trấn Thanh Nhật"]], width=A4[0] - 60)])
    text = pdf_text(buffer.getvalue(), tmp_path)
    assert word in "".join(text.split())
    assert split_words(text, ["HL-00012345", "Xã/phường/thị trấn", "Thị trấn Thanh Nhật"]) == []
