"""Reading the spreadsheets officials upload (.xlsx and .csv), row by row.

Files are checked by what they contain, never by their name alone, before
anything parses them:

- an .xlsx must be a zip that holds a workbook (``[Content_Types].xml`` and
  ``xl/workbook.xml``), without macros, and that does not inflate beyond
  ``max_inflated`` bytes (a "zip bomb" renamed .xlsx); the sizes checked are
  the ones the archive declares, and Python's zip reader stops at those;
- a .csv must be text (UTF-8 with or without BOM, UTF-16 with BOM, or
  Windows-1258 as Excel writes it on a Vietnamese Windows);
- an old .xls (OLE2), a PDF, an image or anything else gets a message
  that says what it is and what to do.

Rows are streamed: an .xlsx is read with openpyxl's read-only mode, so a
100,000-row file never becomes 100,000 row objects at once. The header row
may follow a few title rows, as in the lists that sites print; headers are
matched without diacritics or case, in any order, through each caller's
aliases. Used by the population import (places) and the vaccination
import; the venue import has its own older reader (``venues.importing``).
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import IO, Any

from django.utils.translation import gettext as _

from truyvet.core.errors import ServiceError
from truyvet.core.text import fold

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How many rows may come before the header (a title, the site, the date...).
MAX_TITLE_ROWS = 15
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc: Office 97-2003
_SIGNATURES = (
    (b"%PDF-", "PDF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF8", "GIF"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"\x1f\x8b", "gzip"),
    (b"MZ", "EXE"),
)


def refuse(message: Any, code: str) -> ServiceError:
    """A file-level problem: the whole file is refused with this message."""
    return ServiceError(message, code=code, errors=[])


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f}".rstrip("0").rstrip(".") + " MB"
    return f"{max(1, size // 1024)} KB"


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without ".0" (Excel stores 0912345678
    and 001090123456 as numbers), dates as ISO, text NFC-normalised with
    spaces collapsed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return unicodedata.normalize("NFC", " ".join(str(value).split()))


def header_key(text: str) -> str:
    """A header folded for matching: no diacritics, case, "*", or anything
    in parentheses; "Số CMND/CCCD (*)" -> "so cmnd/cccd"."""
    folded = fold(text).replace("*", " ").replace(":", " ")
    while "(" in folded and ")" in folded.split("(", 1)[1]:
        before, rest = folded.split("(", 1)
        folded = before + " " + rest.split(")", 1)[1]
    return " ".join(folded.split())


def column_letter(index: int) -> str:
    """0 -> "A", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@dataclass
class Header:
    row: int  # 1-based row number of the header in the file
    columns: dict[int, str]  # cell index -> key
    labels: dict[str, str]  # key -> the header as written
    letters: dict[str, str]  # key -> column letter ("F")
    cells: list[Any] = field(default_factory=list)  # the header row as written
    title_rows: list[list[Any]] = field(default_factory=list)  # rows above it


@dataclass
class Sheet:
    """An open spreadsheet: ``rows()`` yields (row number, cells) once."""

    kind: str  # "xlsx" or "csv"
    size: int
    estimated_rows: int | None
    _rows: Iterator[tuple[int, list[Any]]]
    _close: Any = None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return self._rows

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


def _sniff(head: bytes, suffix: str) -> str:
    """"xlsx", "csv", or a refusal naming what the file really is."""
    if head.startswith(b"PK\x03\x04"):
        if suffix not in (".xlsx", ".csv", ""):
            raise refuse(_("Chỉ nhận tệp .xlsx hoặc .csv."), "unsupported_file")
        return "xlsx"
    if head.startswith(_OLE2):
        raise refuse(_("Tệp .xls (Excel 97-2003) không được hỗ trợ. Hãy mở tệp và lưu lại "
                       "dạng .xlsx hoặc CSV UTF-8."), "unsupported_file")
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            raise refuse(_("Tệp này là tệp %(kind)s, không phải bảng tính. Chỉ nhận tệp .xlsx "
                           "hoặc .csv.") % {"kind": name}, "unsupported_file")
    if suffix == ".xlsx":
        raise refuse(_("Tệp không phải là bảng tính .xlsx hợp lệ (có thể chỉ được đổi tên "
                       "thành .xlsx)."), "invalid_file")
    if suffix not in (".csv", ".txt"):
        raise refuse(_("Chỉ nhận tệp .xlsx hoặc .csv."), "unsupported_file")
    return "csv"


def _check_archive(path: Path, size: int, max_inflated: int) -> None:
    not_xlsx = _("Tệp không phải là bảng tính .xlsx hợp lệ.")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise refuse(not_xlsx, "invalid_file") from None
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise refuse(_("Tệp nén này không phải là bảng tính Excel (.xlsx)."), "invalid_file")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise refuse(_("Tệp có macro (VBA). Hãy lưu lại dạng .xlsx thông thường, không có "
                       "macro."), "macro_file")
    inflated = sum(member.file_size for member in members)
    if inflated > max_inflated:
        raise refuse(
            _("Tệp giải nén ra %(inflated)s, quá giới hạn %(limit)s: có thể là tệp nén độc hại "
              "(zip bomb). Hãy kiểm tra lại tệp.")
            % {"inflated": human_size(inflated), "limit": human_size(max_inflated)},
            "zip_bomb",
        )


def _xlsx_rows(path: Path) -> tuple[Iterator[tuple[int, list[Any]]], int | None, Any]:
    from openpyxl import load_workbook

    # A file object rather than the path: openpyxl refuses paths whose
    # name does not end in .xlsx, and uploads are stored under random names.
    handle = open(path, "rb")  # closed with the workbook, by Sheet.close
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # openpyxl raises many kinds for a broken file
        handle.close()
        raise refuse(_("Tệp không phải là bảng tính .xlsx hợp lệ."), "invalid_file") from None
    estimated = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 0 else None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
        except ServiceError:
            raise
        except Exception:  # a damaged sheet part, a CRC error half-way
            raise refuse(_("Tệp bảng tính bị hỏng, không đọc hết được. Hãy mở bằng Excel và "
                           "lưu lại."), "invalid_file") from None

    def close() -> None:
        workbook.close()
        handle.close()

    return rows(), estimated, close


def _csv_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if error.start < len(head) - 4:
            return "cp1258"
    return "utf-8-sig"


def _csv_rows(path: Path, head: bytes) -> tuple[Iterator[tuple[int, list[Any]]], Any]:
    encoding = _csv_encoding(head)
    if encoding != "utf-16" and b"\x00" in head:
        raise refuse(_("Tệp không phải là tệp CSV."), "invalid_file")
    handle = open(path, encoding=encoding, newline="")  # closed by Sheet.close
    try:
        sample = handle.read(8192)
        handle.seek(0)
    except UnicodeDecodeError:
        handle.close()
        raise refuse(_("Không đọc được tệp CSV. Hãy lưu tệp dạng “CSV UTF-8”."),
                     "invalid_file") from None
    first_line = sample.lstrip("\r\n\ufeff").split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for number, cells in enumerate(reader, start=1):
                if any("\x00" in cell for cell in cells):
                    raise refuse(_("Tệp không phải là tệp CSV."), "invalid_file")
                yield number, [unicodedata.normalize("NFC", cell.lstrip("\ufeff"))
                               for cell in cells]
        except UnicodeDecodeError:
            raise refuse(_("Không đọc được tệp CSV. Hãy lưu tệp dạng “CSV UTF-8”."),
                         "invalid_file") from None
        except csv.Error:
            raise refuse(_("Tệp CSV bị lỗi định dạng."), "invalid_file") from None

    return rows(), handle.close


def open_sheet(*, path: Path, filename: str, max_bytes: int, max_inflated: int) -> Sheet:
    """Opens the first sheet of the .xlsx or .csv at ``path`` (uploaded as
    ``filename``) after checking it is what it claims and within the limits.
    Raises ServiceError (``code`` says which problem) with a message for the
    user."""
    size = path.stat().st_size
    if size > max_bytes:
        raise too_large(size, max_bytes)
    if size == 0:
        raise refuse(_("Tệp trống."), "empty_file")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    kind = _sniff(head, PurePath(filename or "").suffix.lower())
    if kind == "xlsx":
        _check_archive(path, size, max_inflated)
        rows, estimated, close = _xlsx_rows(path)
        return Sheet(kind=kind, size=size, estimated_rows=estimated, _rows=rows, _close=close)
    csv_rows, close = _csv_rows(path, head)
    return Sheet(kind=kind, size=size, estimated_rows=None, _rows=csv_rows, _close=close)


def find_header(
    rows: Iterator[tuple[int, list[Any]]],
    *,
    aliases: Mapping[str, tuple[str, ...]],
    required: Mapping[str, str],
) -> Header:
    """Reads rows until the header: the first row, among the first
    MAX_TITLE_ROWS non-blank ones, in which at least two cells name known
    columns. ``aliases`` maps each column key to its folded names;
    ``required`` maps the keys that must be there to the name shown when one
    is missing. Raises ServiceError when no header or a required column is
    missing."""
    lookup = {alias: key for key, names in aliases.items() for alias in names}
    titles: list[list[Any]] = []
    seen = 0
    for number, cells in rows:
        if not any(cell_text(cell) for cell in cells):
            titles.append(cells)
            continue
        seen += 1
        columns: dict[int, str] = {}
        labels: dict[str, str] = {}
        letters: dict[str, str] = {}
        for index, cell in enumerate(cells):
            text = cell_text(cell)
            key = lookup.get(header_key(text)) if text else None
            if key and key not in labels:
                columns[index], labels[key], letters[key] = key, text, column_letter(index)
        if len(columns) >= 2:
            missing = [name for key, name in required.items() if key not in labels]
            if missing:
                raise refuse(
                    _("Dòng tiêu đề (dòng %(row)s) thiếu cột: %(columns)s.")
                    % {"row": number, "columns": ", ".join(missing)},
                    "missing_columns",
                )
            return Header(row=number, columns=columns, labels=labels, letters=letters,
                          cells=cells, title_rows=titles)
        titles.append(cells)
        if seen >= MAX_TITLE_ROWS:
            break
    raise refuse(
        _("Không tìm thấy dòng tiêu đề trong %(rows)s dòng đầu. Cần có các cột: %(columns)s.")
        % {"rows": MAX_TITLE_ROWS, "columns": ", ".join(required.values())},
        "missing_header",
    )


def too_large(size: int, limit: int) -> ServiceError:
    return refuse(
        _("Tệp quá lớn (%(size)s): tối đa %(limit)s. Hãy chia thành nhiều tệp nhỏ hơn.")
        % {"size": human_size(size), "limit": human_size(limit)},
        "file_too_large",
    )


def copy_upload(upload: IO[bytes], destination: Path, *, max_bytes: int) -> int:
    """Streams an uploaded file to ``destination`` in chunks and returns its
    size; refuses it (and removes what was written) past ``max_bytes``."""
    written = 0
    with open(destination, "wb") as out:
        while True:
            chunk = upload.read(1024 * 1024)
            if not chunk:
                break
            written += len(chunk)
            if written > max_bytes:
                break
            out.write(chunk)
    if written > max_bytes:
        destination.unlink(missing_ok=True)
        raise refuse(
            _("Tệp quá lớn: tối đa %(limit)s. Hãy chia thành nhiều tệp nhỏ hơn.")
            % {"limit": human_size(max_bytes)},
            "file_too_large",
        )
    return written


def workbook_bytes(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
