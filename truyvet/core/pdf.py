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
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, TableStyle

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
    text = ParagraphStyle("text", fontName=FONT, fontSize=size, leading=size * 1.25)
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
