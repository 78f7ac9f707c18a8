"""A4 check-in posters: one page per venue, Vietnamese first with an optional
English line under each text, the signed QR drawn as vectors at
``QR_SIZE_CM`` (BRIEF §5: at least 15 × 15 cm).

The text is Vietnamese msgids rendered twice: in Vietnamese (the source
language) and, for the English line, through the venues English catalogue, so
the wording lives in one place. DejaVu Sans from matplotlib's data directory
is embedded (subset) so every Vietnamese diacritic has a glyph. The venue's
name and street are drawn as plain text (a canvas reads no markup) after
``core.pdf.plain`` has removed the characters ``core.text`` refuses.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from truyvet.core import pdf
from truyvet.core.errors import ServiceError
from truyvet.core.pdf import FONT, FONT_BOLD
from truyvet.venues.models import Venue
from truyvet.venues.qr import venue_qr_code

# A little over 15 cm so rounding in a printer driver cannot take it under;
# the PDF also asks viewers to print at actual size.
QR_SIZE_CM = 15.2
QUIET_ZONE_MODULES = 4

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 1.3 * cm
MARGIN_TOP = 0.9 * cm
MARGIN_BOTTOM = 0.7 * cm
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

ACCENT = (0.72, 0.07, 0.07)  # the red of Vietnamese public notices
INK = (0.08, 0.08, 0.08)
GREY = (0.35, 0.35, 0.35)

TITLE = _("MÃ QR ĐỊA ĐIỂM")
CODE_LABEL = _("Mã địa điểm (để nhập tay)")
INSTRUCTIONS = (
    _("Quét mã QR để khai báo khi ra vào."),
    _("Không cần cài ứng dụng: mở camera của điện thoại hoặc bất kỳ ứng dụng quét mã QR nào."),
    _("Không có điện thoại thông minh?\nĐưa mã QR cá nhân, CCCD hoặc báo họ tên, "
      "số điện thoại cho người kiểm soát."),
)


def _privacy_line(days: int) -> str:
    return ngettext(
        "Dữ liệu chỉ dùng cho phòng, chống dịch và được xóa sau %(days)d ngày.",
        "Dữ liệu chỉ dùng cho phòng, chống dịch và được xóa sau %(days)d ngày.",
        days,
    ) % {"days": days}


@dataclass(frozen=True)
class _Line:
    text: str
    font: str
    size: float
    color: tuple[float, float, float]
    gap_before: float = 0.0
    # The venue code, drawn in large bold letters after ``text``.
    code: str = ""

    @property
    def size_used(self) -> float:
        return max(self.size, CODE_SIZE) if self.code else self.size

    @property
    def height(self) -> float:
        return self.gap_before + self.size_used * 1.22


CODE_SIZE = 19.0
CODE_CHAR_SPACE = 2.5


def _wrap(text: str, font: str, size: float, *, color: tuple[float, float, float] = INK,
          gap_before: float = 0.0, max_lines: int = 0) -> list[_Line]:
    # A line break in the text (a translator's choice) is kept.
    lines = [line for part in text.split("\n")
             for line in simpleSplit(part, font, size, TEXT_WIDTH)] or [""]
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip() + "…"
    return [
        _Line(line, font, size, color, gap_before if index == 0 else 0.0)
        for index, line in enumerate(lines)
    ]


def _in(language: str, render: Callable[[], str]) -> str:
    with translation.override(language):
        return render()


def _bilingual(message: str | Promise, english: bool, *, font: str, size: float,
               english_size: float, color: tuple[float, float, float] = INK,
               gap_before: float = 0.0) -> list[_Line]:
    lines = _wrap(_in("vi", lambda: str(message)), font, size, color=color,
                  gap_before=gap_before)
    if english:
        lines += _wrap(_in("en", lambda: str(message)), FONT, english_size, color=GREY)
    return lines


def _address(venue: Venue, size: float) -> list[_Line]:
    """Street and commune on at most two lines; a very long street is cut
    short, never the commune, district and province."""
    street, units = pdf.plain(venue.street).strip(" ,;"), venue.commune.full_name
    words = street.split()
    while True:
        text = ", ".join(part for part in (" ".join(words), units) if part)
        if len(words) < len(street.split()):
            text = " ".join(words).rstrip(" ,;") + "…, " + units
        lines = _wrap(text, FONT, size, color=GREY, gap_before=2)
        if len(lines) <= 2 or not words:
            return lines[:2]
        words.pop()


def _header(venue: Venue, english: bool, name_size: float, max_name_lines: int = 0
            ) -> list[_Line]:
    lines = _bilingual(TITLE, english, font=FONT_BOLD, size=23, english_size=10.5,
                       color=ACCENT)
    lines += _wrap(pdf.plain(venue.name), FONT_BOLD, name_size, gap_before=7,
                   max_lines=max_name_lines)
    lines += _address(venue, 11)
    return lines


def _footer(venue: Venue, english: bool) -> list[_Line]:
    lines: list[_Line] = []
    for index, message in enumerate(INSTRUCTIONS):
        lines += _bilingual(message, english, font=FONT_BOLD if index == 0 else FONT,
                            size=12.5 if index == 0 else 10, english_size=8.5,
                            gap_before=0 if index == 0 else 3)
    label = _in("vi", lambda: str(CODE_LABEL))
    if english:
        label += " / " + _in("en", lambda: str(CODE_LABEL))
    label += ":"
    lines.append(_Line(label, FONT, 10.5, INK, gap_before=4, code=venue.code))
    days = settings.CHECKIN_RETENTION_DAYS
    lines += _wrap(_in("vi", lambda: _privacy_line(days)), FONT, 8.5, color=GREY,
                   gap_before=3)
    if english:
        lines += _wrap(_in("en", lambda: _privacy_line(days)), FONT, 7.5, color=GREY)
    return lines


def _draw_lines(canvas: Canvas, lines: list[_Line], top: float) -> float:
    """Draws centred lines from ``top`` downwards; returns the new top."""
    y = top
    for line in lines:
        y -= line.height
        baseline = y + line.size_used * 0.25
        canvas.setFillColorRGB(*line.color)
        canvas.setFont(line.font, line.size)
        if not line.code:
            canvas.drawCentredString(PAGE_WIDTH / 2, baseline, line.text)
            continue
        label = line.text + " "
        label_width = pdfmetrics.stringWidth(label, line.font, line.size)
        code_width = (pdfmetrics.stringWidth(line.code, FONT_BOLD, CODE_SIZE)
                      + CODE_CHAR_SPACE * (len(line.code) - 1))
        x = (PAGE_WIDTH - label_width - code_width) / 2
        canvas.drawString(x, baseline, label)
        canvas.setFont(FONT_BOLD, CODE_SIZE)
        canvas.drawString(x + label_width, baseline, line.code, charSpace=CODE_CHAR_SPACE)
    return y


def _draw_qr(canvas: Canvas, matrix: Sequence[Sequence[int]], *, x: float, y: float,
             size: float) -> None:
    """Draws the symbol's dark modules as one filled path, ``size`` points
    wide, with its lower-left corner at (x, y). Runs of dark modules in a row
    become one rectangle, which keeps the page small and fast to rasterise."""
    modules = len(matrix)
    unit = size / modules
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - row_index * unit
        # Each run reaches a hair into the row below so rasterisers leave no
        # white seam between rows; the next row is drawn over the overlap.
        overlap = unit * 0.02 if row_index + 1 < modules else 0.0
        column = 0
        while column < modules:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < modules and row[column]:
                column += 1
            path.rect(x + start * unit, top - unit - overlap, (column - start) * unit,
                      unit + overlap)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def _height(lines: list[_Line]) -> float:
    return sum(line.height for line in lines)


def _draw_page(canvas: Canvas, venue: Venue, english: bool) -> None:
    symbol = venue_qr_code(venue)
    qr_size = QR_SIZE_CM * cm
    quiet = qr_size / len(symbol.matrix) * QUIET_ZONE_MODULES
    footer = _footer(venue, english)
    room = (PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM - _height(footer)
            - (qr_size + 2 * quiet))
    # A long venue name gets a smaller font, then is cut with an ellipsis: the
    # QR keeps its full size and the footer never moves.
    for name_size in (22.0, 19.0, 16.0, 14.0, 12.0):
        header = _header(venue, english, name_size)
        if _height(header) <= room:
            break
    else:
        for max_lines in (4, 3, 2, 1):
            header = _header(venue, english, 12.0, max_name_lines=max_lines)
            if _height(header) <= room:
                break
    canvas.setFillColorRGB(*ACCENT)
    canvas.rect(0, PAGE_HEIGHT - 0.4 * cm, PAGE_WIDTH, 0.4 * cm, stroke=0, fill=1)
    canvas.rect(0, 0, PAGE_WIDTH, 0.25 * cm, stroke=0, fill=1)
    header_bottom = _draw_lines(canvas, header, PAGE_HEIGHT - MARGIN_TOP)
    spare = header_bottom - MARGIN_BOTTOM - _height(footer) - (qr_size + 2 * quiet)
    qr_bottom = header_bottom - spare / 2 - quiet - qr_size
    _draw_qr(canvas, symbol.matrix, x=(PAGE_WIDTH - qr_size) / 2, y=qr_bottom, size=qr_size)
    _draw_lines(canvas, footer, qr_bottom - quiet - spare / 2)


def _venues(venues: Iterable[Venue]) -> Iterator[Venue]:
    if isinstance(venues, QuerySet):
        # full_name walks commune -> district -> province without a query each
        return venues.select_related("commune__parent__parent").iterator(chunk_size=500)
    return iter(venues)


def poster_pdf_write(venues: Iterable[Venue], out: BinaryIO, *, english: bool = True) -> int:
    """Writes one A4 page per venue to ``out`` and returns the number of pages.

    Pass a QuerySet for a commune's or district's venues: it is iterated in
    chunks with the commune's ancestors selected, and the pages are vectors
    (no images), so memory stays flat apart from the PDF being built. Raises
    ``ServiceError(code="no_venues")`` when there is nothing to print."""
    pdf.fonts_register()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, initialFontName=FONT)
    canvas.setTitle(_in("vi", lambda: str(TITLE)))
    canvas.setAuthor("truyvet")
    canvas.setCreator("truyvet")
    # Ask viewers to print at actual size so the QR stays >= 15 cm.
    canvas.setViewerPreference("PrintScaling", "None")
    pages = 0
    for venue in _venues(venues):
        _draw_page(canvas, venue, english)
        canvas.showPage()
        pages += 1
    if not pages:
        raise ServiceError(_("Không có địa điểm nào để in áp phích."), code="no_venues")
    canvas.save()
    return pages


def poster_pdf(venues: Iterable[Venue], *, english: bool = True) -> bytes:
    """The posters as one PDF in memory (see ``poster_pdf_write``)."""
    out = io.BytesIO()
    poster_pdf_write(venues, out, english=english)
    return out.getvalue()
