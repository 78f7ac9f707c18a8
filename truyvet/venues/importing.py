"""Reading venue lists from .xlsx and .csv files, and writing the template
and the error report.

This module knows about files only: what a row *means* is checked by
``services.venue_import``. A file is refused as a whole (ServiceError) when
it is not what it claims to be, too large, or lacks a required column.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from truyvet.core.errors import ServiceError
from truyvet.core.sheets import csv_content, sheet_append, sheet_table
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import VenueType

# A whole district's venues fit many times over; beyond this, split the file.
MAX_ROWS = 20_000
# An .xlsx is a zip: refuse one that would inflate to more than this many
# times the upload limit (a "zip bomb").
MAX_INFLATION = 20
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
EXAMPLE_MARK = "(Ví dụ)"

# The template's columns: (key used by the service, header, required).
COLUMNS: list[tuple[str, str, bool]] = [
    ("name", "Tên địa điểm", True),
    ("venue_type", "Loại hình", True),
    ("commune", "Mã xã", True),
    ("street", "Địa chỉ (số nhà/thôn)", True),
    ("contact_phone", "SĐT liên hệ", True),
    ("latitude", "Vĩ độ", False),
    ("longitude", "Kinh độ", False),
]

# Other headers people write for the same columns (folded, without "*" and
# without anything in parentheses).
_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("ten dia diem", "ten", "ten co so", "ten don vi", "name"),
    "venue_type": ("loai hinh", "loai", "loai hinh dia diem", "type", "venue_type"),
    "commune": ("ma xa", "xa", "ten xa", "ma xa/ten xa", "xa/phuong/thi tran",
                "xa/phuong", "commune", "commune_code"),
    "street": ("dia chi", "so nha/thon", "dia chi chi tiet", "street", "address"),
    "contact_phone": ("sdt lien he", "sdt", "so dien thoai", "dien thoai",
                      "so dien thoai lien he", "phone", "contact_phone"),
    "latitude": ("vi do", "latitude", "lat"),
    "longitude": ("kinh do", "longitude", "lon", "lng"),
}
_HEADER_KEYS = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}


@dataclass
class Row:
    number: int  # as the spreadsheet numbers it: the header is row 1
    values: dict[str, Any]


@dataclass
class Table:
    filename: str
    headers: dict[str, str] = field(default_factory=dict)  # key -> header as written
    rows: list[Row] = field(default_factory=list)


def _refuse(message: Any, code: str) -> ServiceError:
    return ServiceError(message, code=code, errors=[])


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without ".0" (Excel stores 01558 and
    0912345678 as numbers), dates as ISO, text NFC-normalised and trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return unicodedata.normalize("NFC", " ".join(str(value).split()))


def _header_key(header: str) -> str | None:
    text = fold(header).replace("*", " ")
    while "(" in text and ")" in text.split("(", 1)[1]:
        before, rest = text.split("(", 1)
        text = before + " " + rest.split(")", 1)[1]
    return _HEADER_KEYS.get(" ".join(text.split()))


@cache
def venue_type_lookup() -> dict[str, str]:
    """Folded labels (Vietnamese and English, each half of "Bệnh viện/trạm y
    tế" too) and keys -> the type's key."""
    lookup: dict[str, str] = {}
    for language in ("vi", "en"):
        with translation.override(language):
            for value, label in VenueType.choices:
                text = str(label)
                lookup.setdefault(fold(text), value)
                for part in text.split("/"):
                    lookup.setdefault(fold(part), value)
    for value in VenueType.values:
        lookup[value] = value
    return lookup


# --- Reading -------------------------------------------------------------------------------


def read_table(*, file: IO[bytes], filename: str) -> Table:
    """The rows of an uploaded .xlsx (first sheet) or .csv file, keyed by
    column. Blank rows and the template's example row are left out."""
    name = PurePath(filename or "").name
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xls":
        raise _refuse(_("Tệp .xls (Excel 97-2003) không được hỗ trợ. Hãy mở tệp và lưu lại "
                        "dạng .xlsx hoặc CSV UTF-8."), "unsupported_file")
    if suffix not in (".xlsx", ".csv"):
        raise _refuse(_("Chỉ nhận tệp .xlsx hoặc .csv."), "unsupported_file")
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    data = file.read(limit + 1)
    if len(data) > limit:
        raise _refuse(
            _("Tệp quá lớn: tối đa %(size)s MB. Hãy chia thành nhiều tệp nhỏ hơn.")
            % {"size": f"{limit / 1024 / 1024:.1f}".rstrip("0").rstrip(".")},
            "file_too_large",
        )
    if not data.strip():
        raise _refuse(_("Tệp trống."), "empty_file")
    table = Table(filename=name)
    raw_rows = _xlsx_rows(data) if suffix == ".xlsx" else _csv_rows(data)
    _fill(table, raw_rows)
    return table


def _fill(table: Table, raw_rows: Iterable[tuple[int, list[Any]]]) -> None:
    columns: dict[int, str] | None = None
    for number, cells in raw_rows:
        if not any(cell_text(cell) for cell in cells):
            continue
        if columns is None:
            columns = _read_header(table, number, cells)
            continue
        values = {key: cells[index] if index < len(cells) else None
                  for index, key in columns.items()}
        if fold(cell_text(values.get("name"))).startswith(fold(EXAMPLE_MARK)):
            continue
        table.rows.append(Row(number=number, values=values))
        if len(table.rows) > MAX_ROWS:
            raise _refuse(
                _("Tệp có quá nhiều dòng: tối đa %(max)s địa điểm mỗi lần nhập.")
                % {"max": f"{MAX_ROWS:,}".replace(",", ".")},
                "too_many_rows",
            )
    if columns is None:
        raise _refuse(_("Tệp trống."), "empty_file")
    if not table.rows:
        raise _refuse(_("Tệp không có dòng địa điểm nào dưới dòng tiêu đề."), "no_rows")


def _read_header(table: Table, number: int, cells: list[Any]) -> dict[int, str]:
    columns: dict[int, str] = {}
    for index, cell in enumerate(cells):
        header = cell_text(cell)
        key = _header_key(header) if header else None
        if key and key not in table.headers:
            columns[index] = key
            table.headers[key] = header
    missing = [header for key, header, required in COLUMNS
               if required and key not in table.headers]
    if missing:
        raise _refuse(
            _("Dòng tiêu đề (dòng %(row)s) thiếu cột: %(columns)s. Hãy dùng tệp mẫu.")
            % {"row": number, "columns": ", ".join(missing)},
            "missing_columns",
        )
    return columns


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    not_xlsx = _("Tệp không phải là bảng tính .xlsx hợp lệ.")
    if not data.startswith(b"PK\x03\x04"):
        raise _refuse(not_xlsx, "invalid_file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _refuse(not_xlsx, "invalid_file") from None
    if inflated > MAX_INFLATION * settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise _refuse(not_xlsx, "invalid_file")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise _refuse(not_xlsx, "invalid_file") from None
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    """UTF-8 with or without BOM (Excel's "CSV UTF-8"), UTF-16 with BOM
    (Excel's "Unicode text"), else Windows-1258 (Excel's plain "CSV" on a
    Vietnamese Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        if b"\x00" not in data:
            try:
                return unicodedata.normalize("NFC", data.decode("cp1258"))
            except UnicodeDecodeError:
                pass
    raise _refuse(_("Không đọc được tệp CSV. Hãy lưu tệp dạng “CSV UTF-8”."), "invalid_file")


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(data)
    if "\x00" in text:
        raise _refuse(_("Tệp không phải là tệp CSV."), "invalid_file")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error:
        raise _refuse(_("Tệp CSV bị lỗi định dạng."), "invalid_file") from None


# --- Writing: template and error report ------------------------------------------------------


def _example_row(commune: AdministrativeUnit | None) -> list[Any]:
    return [
        f"{EXAMPLE_MARK} Cửa hàng tạp hoá Thanh Hương",
        "Siêu thị/cửa hàng",
        commune.code if commune else "01558",
        "Tổ dân phố 2",
        "0912345678",
        22.7051,
        106.6802,
    ]


def _instructions() -> list[str]:
    return [
        _("Mỗi dòng của trang “Địa điểm” là một địa điểm; dòng 1 là tiêu đề, giữ nguyên."),
        _("Cột có dấu * là bắt buộc. Vĩ độ và kinh độ không bắt buộc, nhưng phải nhập cả hai."),
        _("Loại hình: ghi đúng một tên trong trang “Loại hình”."),
        _("Mã xã: mã 5 chữ số của Tổng cục Thống kê (xem trang “Mã xã”), hoặc tên xã."),
        _("SĐT liên hệ: số di động của chủ địa điểm; người này quản lý địa điểm khi đăng ký "
          "tài khoản bằng số đó."),
        _("Dòng bắt đầu bằng “(Ví dụ)” được bỏ qua."),
        _("Hệ thống kiểm tra mọi dòng trước khi lưu. Nếu có lỗi, không dòng nào được lưu và "
          "bạn nhận danh sách lỗi theo dòng."),
    ]


def template_xlsx(*, communes: list[AdministrativeUnit]) -> bytes:
    """The import template: the venue sheet with headers and an example row,
    the list of types (also offered as a drop-down), the communes the
    officer may import into, and instructions."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Địa điểm"
    sheet_append(sheet, [f"{header} *" if required else header
                         for _key, header, required in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0B6E4F")
    sheet_append(sheet, _example_row(communes[0] if communes else None))
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="5F6368")
    for letter, width in zip("ABCDEFG", (40, 22, 14, 30, 16, 12, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    # Codes and phone numbers as text, so Excel keeps their leading zeros.
    for letter in "CE":
        for row in range(2, 2001):
            sheet[f"{letter}{row}"].number_format = "@"

    types = workbook.create_sheet("Loại hình")
    sheet_append(types, [_("Loại hình"), _("Mã")])
    types["A1"].font = types["B1"].font = Font(bold=True)
    with translation.override("vi"):
        for value, label in VenueType.choices:
            sheet_append(types, [str(label), value])
    types.column_dimensions["A"].width = 28
    pick = DataValidation(
        type="list", formula1=f"='Loại hình'!$A$2:$A${len(VenueType.choices) + 1}",
        allow_blank=True, showErrorMessage=False,
    )
    sheet.add_data_validation(pick)
    pick.add("B2:B20000")

    units = workbook.create_sheet("Mã xã")
    sheet_append(units, [_("Mã xã"), _("Tên xã"), _("Quận/huyện")])
    for cell in units[1]:
        cell.font = Font(bold=True)
    for unit in communes:
        sheet_append(units, [unit.code, unit.name, unit.parent.name if unit.parent else ""])
    units.column_dimensions["B"].width = 28
    units.column_dimensions["C"].width = 28

    guide = workbook.create_sheet("Hướng dẫn")
    guide.column_dimensions["A"].width = 110
    for line in _instructions():
        sheet_append(guide, [line])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_csv(*, communes: list[AdministrativeUnit]) -> bytes:
    """The same columns as CSV UTF-8 with a BOM, which Excel opens with the
    right characters."""
    return csv_content([
        [header for _key, header, _required in COLUMNS],
        _example_row(communes[0] if communes else None),
    ])


def report_headers() -> list[str]:
    return [_("Dòng"), _("Cột"), _("Lỗi")]


def report_xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("Lỗi")
    sheet_append(sheet, report_headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet_append(sheet, row)
    sheet.column_dimensions["B"].width = 24
    sheet.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def report_csv(rows: list[list[Any]]) -> bytes:
    return csv_content([report_headers(), *rows])


@dataclass(frozen=True)
class ImportIssue:
    """One problem with one row of an imported file (``services.venue_import``
    finds them; the report lists them)."""

    row: int  # as numbered in the spreadsheet (the header is row 1)
    column: str  # the header as written in the file
    message: str | Promise
    code: str = "invalid"


def issues_as_rows(errors: list[ImportIssue]) -> list[list[Any]]:
    """The report as plain rows in the current language, for the session
    and for downloads."""
    return [[issue.row, issue.column, str(issue.message)] for issue in errors]


def table_xlsx(*, title: str, headers: list[str], rows: Iterable[list[Any]]) -> bytes:
    """A one-sheet workbook (exports such as the visitor log), laid out by
    ``core.sheets.sheet_table``."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet_table(sheet, headers, rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_csv(*, headers: list[str], rows: Iterable[list[Any]]) -> bytes:
    return csv_content([headers, *rows])

