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
stays a number). Every string also loses the characters ``core.text``
refuses, which are either invisible or not allowed in an XLSX file at all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.utils.functional import Promise
from openpyxl.cell.cell import Cell

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
