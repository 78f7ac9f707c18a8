"""The case timeline (mốc dịch tễ) as a printable PDF and as an XLSX sheet.

Both are built from ``selectors.case_timeline`` with ``export`` set, so every
download is audited as an export before a byte is served. Times are shown
in TIME_ZONE (Asia/Ho_Chi_Minh). The PDF uses DejaVu Sans from matplotlib's
data directory, which covers every Vietnamese letter.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.accounts.models import User
from truyvet.tracing.models import Case
from truyvet.tracing.selectors import TimelineEntry, case_timeline

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    if FONT in registered and FONT_BOLD in registered:
        return
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "DejaVuSans-Bold.ttf")))


def _when(moment: Any) -> str:
    return f"{timezone.localtime(moment):%H:%M %d/%m/%Y}"


def _headers() -> list[str]:
    return [
        _("STT"), _("Địa điểm"), _("Mã"), _("Địa chỉ"), _("Xã/phường, huyện, tỉnh"),
        _("SĐT địa điểm"), _("Đến"), _("Rời đi"), _("Thời điểm rời đi"),
    ]


def _row(number: int, entry: TimelineEntry) -> list[str]:
    return [
        str(number), entry.venue_name, entry.venue_code, entry.address, entry.commune,
        entry.venue_phone, _when(entry.arrived_at), _when(entry.departed_at),
        _("thực tế") if entry.departure_real else _("ước tính"),
    ]


def _title(case: Case) -> str:
    return _("Mốc dịch tễ ca bệnh #%(id)s") % {"id": case.pk}


def _window_line(case: Case) -> str:
    end = _when(case.window_end) if case.window_end else _("nay (chưa cách ly)")
    return _("Giai đoạn lây nhiễm: %(start)s – %(end)s") % {
        "start": _when(case.window_start), "end": end}


def timeline_pdf(case: Case, entries: list[TimelineEntry]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
        topMargin=12 * mm, bottomMargin=12 * mm, title=_title(case), author="truyvet",
    )
    heading = ParagraphStyle("h", fontName=FONT_BOLD, fontSize=14, leading=18)
    text = ParagraphStyle("t", fontName=FONT, fontSize=9, leading=11)
    bold = ParagraphStyle("b", parent=text, fontName=FONT_BOLD)
    person = case.person
    story: list[Any] = [
        Paragraph(_title(case), heading),
        Spacer(1, 3 * mm),
        Paragraph(
            _("Người bệnh: %(name)s — %(class)s — %(unit)s") % {
                "name": person.full_name, "class": case.get_classification_display(),
                "unit": case.unit.full_name},
            text,
        ),
        Paragraph(_window_line(case), text),
        Paragraph(
            _("Xuất lúc %(at)s. Tài liệu chứa dữ liệu cá nhân, chỉ dùng cho phòng chống dịch; "
              "lần xuất này đã được ghi nhật ký.") % {"at": _when(timezone.now())},
            text,
        ),
        Spacer(1, 4 * mm),
    ]
    rows = [[Paragraph(h, bold) for h in _headers()]]
    rows += [[Paragraph(cell, text) for cell in _row(i, e)] for i, e in enumerate(entries, 1)]
    if not entries:
        rows.append([Paragraph(_("Không có lượt đến nào trong giai đoạn lây nhiễm."), text)]
                    + [""] * (len(_headers()) - 1))
    widths = [10, 48, 20, 35, 60, 25, 27, 27, 20]
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e7f4ee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    document.build(story)
    return buffer.getvalue()


def timeline_xlsx(case: Case, entries: list[TimelineEntry]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Mốc dịch tễ")[:31]
    sheet.append([_title(case)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_window_line(case)])
    sheet.append([])
    sheet.append(_headers())
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for number, entry in enumerate(entries, 1):
        row = _row(number, entry)
        # Times as real spreadsheet dates (local, without zone: Excel has none).
        row_values: list[Any] = row[:6] + [
            timezone.localtime(entry.arrived_at).replace(tzinfo=None),
            timezone.localtime(entry.departed_at).replace(tzinfo=None),
            row[8],
        ]
        sheet.append(row_values)
        for column in (7, 8):
            sheet.cell(row=sheet.max_row, column=column).number_format = "hh:mm dd/mm/yyyy"
    for letter, width in zip("ABCDEFGHI", (6, 36, 12, 28, 48, 14, 18, 18, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A5"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def timeline_download(
    *, viewer: User, case: Case, file_format: str, request: HttpRequest | None = None
) -> HttpResponse:
    """The timeline file, audited as an export; 404 for an unknown format."""
    if file_format not in FORMATS:
        raise Http404
    entries = case_timeline(viewer=viewer, case=case, request=request, export=file_format)
    content = (timeline_pdf if file_format == "pdf" else timeline_xlsx)(case, entries)
    response = HttpResponse(content, content_type=FORMATS[file_format])
    response["Content-Disposition"] = (
        f'attachment; filename="moc-dich-te-ca-{case.pk}.{file_format}"'
    )
    response["Cache-Control"] = "no-store"
    return response
