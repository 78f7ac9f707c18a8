"""The documents of a certificate: the A4 PDF (bilingual, the 11 fields of
QĐ 5772/QĐ-BYT, the QR at 7 × 7 cm at error correction Q so that a phone
reads it at arm's length) and the QR's SVG for the wallet view."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import segno
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas

from truyvet.certificates import dccschema
from truyvet.certificates.models import IssuedCertificate
from truyvet.core.pdf import FONT, FONT_BOLD, fonts_register, plain

QR_SIZE_CM = 7.0  # at least 6 × 6 cm (issue 16); the quiet zone is extra
QR_ERROR = "q"
QUIET_MODULES = 4


def qr_code(hc1: str) -> segno.QRCode:
    """The certificate's QR at level Q exactly (no boost: the level is
    the one the DCC guidelines recommend; more would only grow it)."""
    return segno.make(hc1, error=QR_ERROR, boost_error=False, micro=False)


def qr_svg(hc1: str) -> str:
    """Inline SVG scaled to its container (the wallet view's full width)."""
    out = io.BytesIO()
    qr_code(hc1).save(out, kind="svg", scale=4, border=QUIET_MODULES, xmldecl=False,
                      svgns=True, omitsize=True, svgclass="wallet-qr")
    return out.getvalue().decode("utf-8")


def _shown(set_name: str, code: Any) -> str:
    return str(dccschema.display(set_name, code) or "")


def fields_of(certificate: IssuedCertificate) -> list[tuple[str, str, str]]:
    """(Vietnamese label, English label, value) in the order of 5772."""
    dcc = certificate.dcc
    name = dcc.get("nam", {})
    full = " ".join(p for p in (name.get("fn", ""), name.get("gn", "")) if p)
    kind = certificate.kind
    entry = dcc[kind][0]
    rows = [
        ("Họ và tên", "Name", f"{full} ({name.get('fnt', '')} {name.get('gnt', '')})".strip()),
        ("Ngày sinh", "Date of birth", dcc.get("dob", "")),
        ("Quốc tịch", "Nationality", "Việt Nam / Viet Nam"),
        ("Bệnh được phòng", "Disease or agent targeted",
         _shown("disease-agent-targeted", entry.get("tg"))),
    ]
    if kind == "v":
        rows += [
            ("Số mũi trong liệu trình", "Total doses in the series", str(entry.get("sd", ""))),
            ("Ngày tiêm", "Date of vaccination", entry.get("dt", "")),
            ("Mũi số", "Dose number", str(entry.get("dn", ""))),
            ("Loại vắc xin", "Vaccine or prophylaxis",
             _shown("vaccine-prophylaxis", entry.get("vp"))),
            ("Tên vắc xin", "Vaccine product",
             _shown("vaccine-medicinal-product", entry.get("mp"))),
            ("Nhà sản xuất", "Manufacturer", _shown("vaccine-mah-manf", entry.get("ma"))),
        ]
    elif kind == "t":
        rows += [
            ("Loại xét nghiệm", "Type of test", _shown("test-type", entry.get("tt"))),
            ("Thời điểm lấy mẫu", "Date and time of sample collection", entry.get("sc", "")),
            ("Kết quả", "Test result", _shown("test-result", entry.get("tr"))),
            ("Nơi xét nghiệm", "Testing centre", entry.get("tc", "")),
        ]
    else:
        rows += [
            ("Ngày dương tính lần đầu", "Date of first positive test", entry.get("fr", "")),
            ("Có giá trị từ", "Valid from", entry.get("df", "")),
            ("Có giá trị đến", "Valid until", entry.get("du", "")),
        ]
    rows += [
        ("Mã chứng nhận", "Unique certificate identifier", certificate.uvci),
        ("Đơn vị cấp", "Certificate issuer", entry.get("is", "")),
    ]
    return rows


def _draw_qr(canvas: Canvas, matrix: Sequence[Sequence[int]], *, x: float, y: float,
             size: float) -> None:
    unit = size / len(matrix)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - row_index * unit
        overlap = unit * 0.02 if row_index + 1 < len(matrix) else 0.0
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            path.rect(x + start * unit, top - unit - overlap, (column - start) * unit,
                      unit + overlap)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


TITLES = {
    "v": ("GIẤY CHỨNG NHẬN TIÊM CHỦNG COVID-19", "COVID-19 VACCINATION CERTIFICATE"),
    "t": ("GIẤY CHỨNG NHẬN XÉT NGHIỆM COVID-19", "COVID-19 TEST CERTIFICATE"),
    "r": ("GIẤY CHỨNG NHẬN KHỎI BỆNH COVID-19", "COVID-19 RECOVERY CERTIFICATE"),
}


def certificate_pdf(certificate: IssuedCertificate) -> bytes:
    """One A4 page; fonts embedded (DejaVu Sans, subset)."""
    fonts_register()
    out = io.BytesIO()
    width, height = A4
    canvas = Canvas(out, pagesize=A4, pageCompression=1, initialFontName=FONT)
    canvas.setTitle(f"{TITLES[certificate.kind][1]} {certificate.uvci}")
    canvas.setFont(FONT_BOLD, 10)
    canvas.drawCentredString(width / 2, height - 1.6 * cm,
                             "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / SOCIALIST REPUBLIC OF VIET NAM")
    canvas.setFont(FONT_BOLD, 16)
    vietnamese, english = TITLES[certificate.kind]
    canvas.drawCentredString(width / 2, height - 2.7 * cm, vietnamese)
    canvas.setFont(FONT, 12)
    canvas.drawCentredString(width / 2, height - 3.4 * cm, english)
    canvas.setFont(FONT, 8.5)
    canvas.drawCentredString(width / 2, height - 4.0 * cm,
                             "EU Digital COVID Certificate (QĐ 5772/QĐ-BYT)")
    symbol = qr_code(certificate.hc1)
    size = QR_SIZE_CM * cm
    quiet = size / len(symbol.matrix) * QUIET_MODULES
    qr_top = height - 4.6 * cm
    canvas.setFillColor(HexColor("#ffffff"))
    canvas.rect((width - size) / 2 - quiet, qr_top - size - 2 * quiet, size + 2 * quiet,
                size + 2 * quiet, stroke=0, fill=1)
    _draw_qr(canvas, symbol.matrix, x=(width - size) / 2, y=qr_top - size - quiet, size=size)
    y = qr_top - size - 2 * quiet - 0.9 * cm
    left, middle = 2.0 * cm, 8.2 * cm
    for vietnamese_label, english_label, value in fields_of(certificate):
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(FONT_BOLD, 9.5)
        canvas.drawString(left, y, plain(vietnamese_label))
        canvas.setFont(FONT, 8)
        canvas.setFillColorRGB(0.35, 0.35, 0.35)
        canvas.drawString(left, y - 0.38 * cm, plain(english_label))
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(FONT, 10)
        text = plain(value)
        canvas.drawString(middle, y, text[:70])
        y -= 0.95 * cm
    canvas.setFont(FONT, 8.5)
    issued = certificate.issued_at.date().isoformat() if certificate.issued_at else ""
    until = certificate.expires_at.date().isoformat() if certificate.expires_at else ""
    canvas.drawString(left, 1.8 * cm, plain(
        f"Ngày cấp / Issued: {issued}    Hết hạn / Expires: {until}"))
    canvas.drawString(left, 1.3 * cm, plain(
        "Quét mã QR để kiểm tra / Scan the QR code to verify."))
    canvas.showPage()
    canvas.save()
    return out.getvalue()
