"""The one way rows go into an exported spreadsheet (XLSX) or CSV file.

A venue or person name is typed by anyone, and a spreadsheet program runs
a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula:
``=HYPERLINK(...)`` sends whoever clicks it anywhere, ``=cmd|...`` asks to
run a program (DDE). Following OWASP's CSV-injection guidance, every
string cell of every export goes through here:

- XLSX (``sheet_append``): strings are always stored as text cells, never
  as formulas (openpyxl would store one starting with ``=`` as a formula)
  nor as error values (``#N/A``); one that starts like a formula also gets
  Excel's "quote prefix" style, so editing the cell keeps it text. The text
  itself is unchanged.
- CSV (``csv_content``): the file has no types, so a string that starts
  like a formula, or with a tab or carriage return, gets a leading ``'``.
  Every string is quoted, and a formula start right after a ``,`` or ``;``
  inside a string gets a ``'`` too: Excel set to Vietnamese splits CSV on
  ``;``, and a program whose quoting rules differ from ours could start a
  new cell there.

Numbers, dates and times keep their type in both (a real negative number
stays a number). ``sheet_table`` lays a table out the same way in every
export: an optional bold title row, a bold header row that stays in view
(frozen) and carries filters, dates and times as real dates shown
day-first, numbers grouped, and each column as wide as its text. Every
string also loses the characters ``core.text`` refuses, which are either
invisible or not allowed in an XLSX file at all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from truyvet.core.text import strip_unsafe

# What a spreadsheet may read as the start of a formula, ASCII and the
# full-width forms some versions of Excel accept in their place.
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# Cells that start with these are neutralised whatever follows (OWASP).
RISKY_FIRST = frozenset("\t\r\n")
# A formula start after a separator inside a string (spaces and double
# quotes between them skipped); the ``'`` goes just before it.
_AFTER_SEPARATOR = re.compile(r'([,;\t\r\n][\s"]*)(?=[=+\-@\uff1d\uff0b\uff0d\uff20])')


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula: it starts
    with a tab or line break, or its first character after any whitespace
    is one of ``= + - @``."""
    return bool(text) and (text[0] in RISKY_FIRST or text.lstrip()[:1] in FORMULA_STARTS)


def _text(value: Any) -> Any:
    """Strings (and lazy translations) without unsafe characters; anything
    else as it is."""
    if isinstance(value, Promise):
        value = str(value)
    return strip_unsafe(value) if isinstance(value, str) else value


# --- XLSX ------------------------------------------------------------------------------------


def sheet_cells(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append``: strings as text cells (see the module's
    docstring), other values as they are."""
    row: list[Any] = []
    for raw in values:
        value = _text(raw)
        if not isinstance(value, str):
            row.append(value)
            continue
        cell = Cell(sheet, row=1, column=1, value=value)
        cell.data_type = "s"  # never "f" (formula) or "e" (error), whatever the text
        if formula_like(value):
            cell.quotePrefix = True
        row.append(cell)
    return row


def sheet_append(sheet: Any, values: Iterable[Any]) -> None:
    """Appends one row to an openpyxl worksheet (normal or write-only)."""
    sheet.append(sheet_cells(sheet, values))


# How a typed cell is shown (the file keeps the value; Excel and LibreOffice
# show it in these formats, day first as Vietnam writes dates).
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
TIME_FORMAT = "hh:mm"
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0"
# Column widths, in characters.
MIN_WIDTH = 6
MAX_WIDTH = 60
WIDTH_SAMPLE = 200  # rows read to size the columns


def _naive_local(value: Any) -> Any:
    """An aware datetime in local time without its zone (a spreadsheet cell
    has none); anything else as it is."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def number_format(value: Any) -> str | None:
    """The display format for a typed value, or None for text."""
    if isinstance(value, datetime):
        return DATETIME_FORMAT
    if isinstance(value, date):
        return DATE_FORMAT
    if isinstance(value, time):
        return TIME_FORMAT
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return INTEGER_FORMAT
    if isinstance(value, float):
        return DECIMAL_FORMAT
    return None


def _shown_length(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if value is None:
        return 0
    text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def sheet_table(sheet: Any, headers: Sequence[Any], rows: Iterable[Sequence[Any]], *,
                title: str = "", notes: Sequence[str] = ()) -> None:
    """Writes a table on a new (not write-only) worksheet: ``title`` in bold
    on the first row when given, a row for each of ``notes`` and an empty
    one after them, then the header row (bold, frozen, with
    filters), then ``rows`` with their types kept (see the module's
    docstring); columns as wide as their first ``WIDTH_SAMPLE`` rows."""
    if title:
        sheet_append(sheet, [title])
        sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    for note in notes:
        sheet_append(sheet, [note])
    if notes:
        sheet_append(sheet, [])
    sheet_append(sheet, list(headers))
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    widths = [_shown_length(_text(h)) for h in headers]
    count = 0
    for row in rows:
        values = [_naive_local(v) for v in row]
        sheet_append(sheet, values)
        count += 1
        for index, value in enumerate(values, start=1):
            shown = number_format(value)
            if shown:
                sheet.cell(row=sheet.max_row, column=index).number_format = shown
            if count <= WIDTH_SAMPLE and index <= len(widths):
                widths[index - 1] = max(widths[index - 1], _shown_length(value))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, width + 2))
    last = get_column_letter(max(1, len(headers)))
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    sheet.auto_filter.ref = f"A{header_row}:{last}{header_row + count}"


# --- CSV -------------------------------------------------------------------------------------


def csv_cell(value: Any) -> Any:
    """One value as the CSV writer should get it: dates as ISO dates,
    times to the minute, None empty, formula-like strings behind a ``'``."""
    value = _text(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if value is None:
        return ""
    if isinstance(value, str):
        value = _AFTER_SEPARATOR.sub(r"\1'", value)
        return "'" + value if formula_like(value) else value
    return value


def csv_content(rows: Iterable[Sequence[Any]]) -> bytes:
    """The rows as CSV, UTF-8 with a byte-order mark so that Excel reads the
    Vietnamese right; strings quoted, numbers not."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
