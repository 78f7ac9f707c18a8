"""The printable personal QR card: 5 × 5 cm (the Hanoi rule), for people
without a smartphone. One A4 page with the card at its exact size in the
top-left corner and a dashed cutting line, so it prints true at 100 %."""

from __future__ import annotations

import io

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from truyvet.core import pdf
from truyvet.core.masking import mask_name
from truyvet.core.pdf import FONT, FONT_BOLD

CARD_SIZE = 50 * mm
QR_SIZE = 38 * mm  # quiet zone included
MARGIN = 15 * mm


def _draw_qr(canvas: Canvas, token: str, *, x: float, y: float, size: float) -> None:
    code = segno.make(token, error="m", micro=False)
    matrix = [list(row) for row in code.matrix_iter(scale=1, border=4)]
    module = size / len(matrix)
    canvas.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        column = 0
        # One rectangle per run of dark modules: smaller file, no hairline gaps.
        while column < len(row):
            if row[column]:
                start = column
                while column < len(row) and row[column]:
                    column += 1
                canvas.rect(x + start * module, top, (column - start) * module, module,
                            stroke=0, fill=1)
            else:
                column += 1


def _fit(text: str, font: str, size: float, width: float) -> float:
    while size > 5 and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def personal_card_pdf(*, token: str, full_name: str, title: str, note: str) -> bytes:
    """The card for ``token`` with the short form of ``full_name`` (never
    the ID number or birth date: the card may be lost)."""
    pdf.fonts_register()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle(title)
    page_height = A4[1]
    left, bottom = MARGIN, page_height - MARGIN - CARD_SIZE
    canvas.setDash(3, 3)
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.setLineWidth(0.5)
    canvas.rect(left, bottom, CARD_SIZE, CARD_SIZE, stroke=1, fill=0)
    canvas.setDash()

    inner = CARD_SIZE - 4 * mm
    size = _fit(title, FONT_BOLD, 7, inner)
    canvas.setFont(FONT_BOLD, size)
    canvas.setFillColorRGB(0.04, 0.43, 0.31)
    canvas.drawCentredString(left + CARD_SIZE / 2, bottom + CARD_SIZE - 4.5 * mm, title)

    _draw_qr(canvas, token, x=left + (CARD_SIZE - QR_SIZE) / 2, y=bottom + 6 * mm,
             size=QR_SIZE)

    name = mask_name(pdf.plain(full_name))
    size = _fit(name, FONT_BOLD, 9, inner)
    canvas.setFont(FONT_BOLD, size)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawCentredString(left + CARD_SIZE / 2, bottom + 2.5 * mm, name)

    canvas.setFont(FONT, 9)
    canvas.setFillColorRGB(0.3, 0.3, 0.3)
    note_left = left + CARD_SIZE + 6 * mm
    note_top = bottom + CARD_SIZE - 5 * mm
    for index, line in enumerate(simpleSplit(note, FONT, 9, A4[0] - MARGIN - note_left)):
        canvas.drawString(note_left, note_top - index * 12, line)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
