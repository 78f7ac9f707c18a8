"""The case timeline (mốc dịch tễ) as a printable PDF and as an XLSX sheet.

Both are built from ``selectors.case_timeline`` with ``export`` set, so every
download is audited as an export before a byte is served. Times are shown
in TIME_ZONE (Asia/Ho_Chi_Minh). Venue names, addresses and the person's
name are typed by people: the PDF puts them in paragraphs through
``core.pdf`` (escaped, never read as markup) and the sheet through
``core.sheets`` (text cells, never formulas).
"""

from __future__ import annotations

import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.accounts.models import User
from truyvet.core import formats, pdf
from truyvet.core.sheets import sheet_table
from truyvet.tracing.models import Case
from truyvet.tracing.selectors import TimelineEntry, case_timeline

FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


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
        formats.phone(entry.venue_phone), _when(entry.arrived_at), _when(entry.departed_at),
        _("thực tế") if entry.departure_real else _("ước tính"),
    ]


def _title(case: Case) -> str:
    return _("Mốc dịch tễ ca bệnh #%(id)s") % {"id": case.pk}


def _window_line(case: Case) -> str:
    end = _when(case.window_end) if case.window_end else _("nay (chưa cách ly)")
    return _("Giai đoạn lây nhiễm: %(start)s – %(end)s") % {
        "start": _when(case.window_start), "end": end}


def timeline_pdf(case: Case, entries: list[TimelineEntry]) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    style = pdf.styles(size=9)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
        topMargin=12 * mm, bottomMargin=12 * mm, title=_title(case), author="truyvet",
    )
    person = case.person
    story: list[Any] = [
        pdf.paragraph(_title(case), style.heading),
        Spacer(1, 3 * mm),
        pdf.paragraph(
            _("Người bệnh: %(name)s — %(class)s — %(unit)s") % {
                "name": person.full_name, "class": case.get_classification_display(),
                "unit": case.unit.full_name},
            style.text,
        ),
        pdf.paragraph(_window_line(case), style.text),
        pdf.paragraph(
            _("Xuất lúc %(at)s. Tài liệu chứa dữ liệu cá nhân, chỉ dùng cho phòng chống dịch; "
              "lần xuất này đã được ghi nhật ký.") % {"at": _when(timezone.now())},
            style.text,
        ),
        Spacer(1, 4 * mm),
    ]
    story.append(pdf.grid(
        _headers(), [_row(i, e) for i, e in enumerate(entries, 1)],
        width=landscape(A4)[0] - 24 * mm, size=9,
        empty=_("Không có lượt đến nào trong giai đoạn lây nhiễm.")))
    document.build(story)
    return buffer.getvalue()


def timeline_xlsx(case: Case, entries: list[TimelineEntry]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Mốc dịch tễ")[:31]
    rows = []
    for number, entry in enumerate(entries, 1):
        row: list[Any] = _row(number, entry)
        # Times as real spreadsheet dates (core.sheets writes them local).
        rows.append([number, *row[1:6], entry.arrived_at, entry.departed_at, row[8]])
    sheet_table(sheet, _headers(), rows, title=_title(case), notes=[_window_line(case)])
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
