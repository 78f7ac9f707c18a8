"""The one place PDFs are set up: the font, the shared paragraph styles, and
the only way text goes into a paragraph.

reportlab reads a ``Paragraph``'s text as markup: ``<b>`` opens bold,
``<img src="...">`` embeds a file from the server's disk, ``<a href>`` adds
a link, and an unbalanced tag is an exception, so a venue called "<b>Quán"
made every report that listed it fail. ``paragraph`` therefore escapes
every string it is given (which also strips the characters
``core.text`` refuses), and no other module builds a ``Paragraph``:
tests/security/test_pdf_markup.py checks both. Producers that draw on a
canvas (posters, QR cards) pass user text through ``plain``; a canvas draws
text as it is and reads no markup.

DejaVu Sans from matplotlib's data directory covers every Vietnamese
letter; it is embedded (subset) in each PDF.

Tables go through ``grid``: it sizes each column so that its longest word
fits (a word, a code or a phone number is never cut across lines: the
styles set ``splitLongWords`` off, and a phone number's groups are joined
with no-break spaces), shares what is left by how much
text each column holds, and only when the words alone are wider than the
page makes the table's type smaller.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, Table, TableStyle

from truyvet.core import formats
from truyvet.core.text import strip_unsafe

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
HEADER_GREEN = colors.HexColor("#e7f4ee")
_register_lock = threading.Lock()


def fonts_register() -> None:
    """Registers the fonts with reportlab once per process (thread-safe:
    two first exports at once must not half-register them)."""
    registered = pdfmetrics.getRegisteredFontNames()
    if FONT in registered and FONT_BOLD in registered:
        return
    import matplotlib  # only for the path of its bundled fonts

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    with _register_lock:
        registered = pdfmetrics.getRegisteredFontNames()
        if FONT not in registered:
            pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
        if FONT_BOLD not in registered:
            pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "DejaVuSans-Bold.ttf")))


@dataclass(frozen=True)
class Styles:
    heading: ParagraphStyle
    subheading: ParagraphStyle
    text: ParagraphStyle
    bold: ParagraphStyle


def styles(*, size: float = 8) -> Styles:
    """The report styles, body text at ``size`` points (registers the fonts)."""
    fonts_register()
    # splitLongWords off: a word wider than its cell overflows rather than
    # being cut in two ("Xã/phư ờng"); ``grid`` sizes columns so none does.
    text = ParagraphStyle("text", fontName=FONT, fontSize=size, leading=size * 1.25,
                          splitLongWords=0)
    return Styles(
        heading=ParagraphStyle("heading", fontName=FONT_BOLD, fontSize=14, leading=18),
        subheading=ParagraphStyle("subheading", fontName=FONT_BOLD, fontSize=11, leading=14,
                                  spaceBefore=8, spaceAfter=4),
        text=text,
        bold=ParagraphStyle("bold", parent=text, fontName=FONT_BOLD),
    )


def plain(value: Any) -> str:
    """Any value as text a PDF may show: the unsafe characters of
    ``core.text`` removed (whitespace ones become spaces)."""
    return strip_unsafe("" if value is None else str(value))


def paragraph(value: Any, style: ParagraphStyle) -> Paragraph:
    """``value`` as a paragraph that shows exactly its text: markup
    characters are escaped, never interpreted."""
    return Paragraph(escape(plain(value)), style)


def grid_style() -> TableStyle:
    """Thin grey lines, a green header row, cells aligned at the top."""
    return TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_GREEN),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])


# reportlab's default cell padding (left + right), and the smallest type a
# table may shrink to before its words are allowed to overflow.
CELL_PADDING = 12.5  # and half a point for rounding
# The widest share of the table one column's longest word may claim.
LONGEST_WORD = 0.45
# Where reportlab may break a line: plain whitespace, never a no-break
# space (str.split() would split there too).
_BREAKS = re.compile(r"[ \t\r\n]+")
MIN_SIZE = 5.5


def _widths(texts: list[list[str]], fonts: list[str], size: float) -> tuple[list[float],
                                                                          list[float]]:
    """Per column: the widest word (the least the column may have) and the
    widest whole text (what it would like), at ``size`` points."""
    columns = len(texts[0])
    least = [0.0] * columns
    wanted = [0.0] * columns
    for row, font in zip(texts, fonts, strict=True):
        for index, text in enumerate(row):
            words = _BREAKS.split(text) or [""]
            least[index] = max(least[index], *(stringWidth(w, font, size) for w in words))
            wanted[index] = max(wanted[index], stringWidth(text, font, size))
    return ([w + CELL_PADDING for w in least], [w + CELL_PADDING for w in wanted])


def column_widths(texts: list[list[str]], fonts: list[str], *, width: float, size: float
                  ) -> tuple[list[float], float, bool]:
    """Widths that add up to ``width`` in which every column holds its
    longest word, the type size that allows it (``size`` unless the words
    alone are wider than ``width``), and whether every word fits. A word
    longer than ``LONGEST_WORD`` of the width (200 letters typed without a
    space) does not get its column that wide: it is the one thing left to
    break."""
    cap = width * LONGEST_WORD
    least, wanted = _widths(texts, fonts, size)
    while sum(min(m, cap) for m in least) > width and size > MIN_SIZE:
        size = max(MIN_SIZE, size - 0.5)
        least, wanted = _widths(texts, fonts, size)
    fits = max(least, default=0.0) <= cap
    least = [min(m, cap) for m in least]
    spare = width - sum(least)
    if spare <= 0:  # too many columns even in the smallest type
        return [m * width / sum(least) for m in least], size, False
    # What each column would still like, capped so that one long address
    # does not take every point of the spare width.
    extra = [min(max(0.0, w - m), width / 2) for w, m in zip(wanted, least, strict=True)]
    total = sum(extra)
    if total == 0:
        return [m + spare / len(least) for m in least], size, fits
    if total <= spare:  # everything fits on one line: the rest goes evenly
        rest = (spare - total) / len(least)
        return [m + e + rest for m, e in zip(least, extra, strict=True)], size, fits
    return [m + spare * e / total for m, e in zip(least, extra, strict=True)], size, fits


def _together(text: str) -> str:
    """Phone numbers with their groups held together (no-break spaces)."""
    return formats.PHONE_IN_TEXT.sub(f"\\1{formats.NBSP}\\2{formats.NBSP}\\3", text)


def grid(headers: list[Any], rows: list[list[Any]], *, width: float, size: float = 8,
         empty: str = "") -> Table:
    """A table of escaped paragraphs (header row repeated on every page)
    whose columns fit ``width`` without cutting a word: see the module's
    docstring. ``empty`` is shown in one row when there are none."""
    fonts_register()  # measured before any style is made
    header_texts = [plain(h) for h in headers]
    body = [[_together(plain(c)) for c in row] for row in rows]
    if not body and empty:
        body = [[plain(empty)] + [""] * (len(headers) - 1)]
    texts = [header_texts, *body]
    fonts = [FONT_BOLD] + [FONT] * len(body)
    widths, fitted, fits = column_widths(texts, fonts, width=width, size=size)
    style = styles(size=fitted)
    bold, text_style = style.bold, style.text
    if not fits:
        # Some word is wider than any column may be: reportlab breaks that
        # word (only words wider than their cell) rather than letting it run
        # off the page.
        bold = ParagraphStyle("bold-split", parent=bold, splitLongWords=1)
        text_style = ParagraphStyle("text-split", parent=text_style, splitLongWords=1)
    data = [[paragraph(text, bold) for text in header_texts]]
    data += [[paragraph(text, text_style) for text in row] for row in body]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(grid_style())
    if not rows and empty:
        table.setStyle(TableStyle([("SPAN", (0, 1), (-1, 1))]))
    return table
