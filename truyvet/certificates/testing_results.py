"""Reading a testing site's list of results (.xlsx or .csv) and writing the
template and the error report (issue 16).

The file is checked and streamed by ``core.spreadsheets`` (the shared
reader of the places and vaccination imports); the person columns have the
vaccination import's names (``vaccination.importing.ALIASES``), so a site
that keeps one list layout uses it for both. What a row *means* is checked
by ``status_services.tests_import``, all or nothing: with one bad row the
report names every bad cell and nothing is saved.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from truyvet.core import spreadsheets
from truyvet.core.sheets import sheet_append
from truyvet.vaccination.importing import ALIASES as PERSON_ALIASES

MAX_ROWS = 5000  # a day's list of one site, many times over
XLSX_TYPE = spreadsheets.XLSX_TYPE

COLUMNS: list[tuple[str, str]] = [
    ("full_name", "Họ và tên"), ("birth", "Ngày sinh"), ("sex", "Giới tính"),
    ("phone", "Số điện thoại"), ("id_number", "Số CMND/CCCD"),
    ("kind", "Loại xét nghiệm"), ("result", "Kết quả"), ("sampled_at", "Thời điểm lấy mẫu"),
    ("test_name", "Tên sinh phẩm"), ("device_id", "Mã thiết bị (EU)"),
]
REQUIRED = {"full_name": "Họ và tên", "birth": "Ngày sinh", "kind": "Loại xét nghiệm",
            "result": "Kết quả", "sampled_at": "Thời điểm lấy mẫu"}
ALIASES: dict[str, tuple[str, ...]] = {
    **{key: PERSON_ALIASES[key] for key in ("full_name", "birth", "sex", "phone", "id_number")},
    "kind": ("loai xet nghiem", "loai xn", "xet nghiem", "phuong phap", "test type", "kind"),
    "result": ("ket qua", "ket qua xet nghiem", "kq", "result"),
    "sampled_at": ("thoi diem lay mau", "thoi gian lay mau", "ngay lay mau", "ngay gio lay mau",
                   "sample time", "sampled at", "sampled_at"),
    "test_name": ("ten sinh pham", "sinh pham", "ten xet nghiem", "test name", "test_name"),
    "device_id": ("ma thiet bi", "ma thiet bi (eu)", "device id", "device_id"),
}


def read_rows(*, upload: IO[bytes], filename: str
              ) -> tuple[list[tuple[int, dict[str, Any]]], spreadsheets.Header]:
    """The rows of the file keyed by column, with the header found."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        spreadsheets.copy_upload(upload, path, max_bytes=limit)
        sheet = spreadsheets.open_sheet(path=path, filename=filename, max_bytes=limit,
                                        max_inflated=25 * limit)
        try:
            rows = sheet.rows()
            header = spreadsheets.find_header(rows, aliases=ALIASES, required=REQUIRED)
            found: list[tuple[int, dict[str, Any]]] = []
            for number, cells in rows:
                if not any(spreadsheets.cell_text(cell) for cell in cells):
                    continue
                found.append((number, {key: cells[index] if index < len(cells) else None
                                       for index, key in header.columns.items()}))
                if len(found) > MAX_ROWS:
                    raise spreadsheets.refuse(
                        _("Tệp có hơn %(max)s dòng: hãy chia thành nhiều tệp.")
                        % {"max": MAX_ROWS}, "too_many_rows")
        finally:
            sheet.close()
    if not found:
        raise spreadsheets.refuse(_("Tệp không có dòng nào dưới dòng tiêu đề."),
                                  "no_rows")
    return found, header


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Xét nghiệm")
    sheet_append(sheet, [header for _key, header in COLUMNS])
    sheet_append(sheet, ["Nguyễn Văn A", "01/02/1980", "Nam", "0912345678", "004080000123",
                         "PCR", "Âm tính", "05/12/2021 08:30", "", ""])
    return spreadsheets.workbook_bytes(workbook)


def report_xlsx(errors: list[tuple[int, str, str]]) -> bytes:
    """The error report: one line per bad cell, in the reader's language."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Lỗi")[:31])
    sheet_append(sheet, [_("Dòng"), _("Cột"), _("Lỗi")])
    for row in errors:
        sheet_append(sheet, list(row))
    return spreadsheets.workbook_bytes(workbook)
