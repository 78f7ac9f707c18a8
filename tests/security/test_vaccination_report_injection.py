"""A site's list is typed by anyone with a spreadsheet; the import's error
report hands the file's own cells back to the site's managers. A formula in
the list must come back as text (core.sheets), never as a formula cell."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from truyvet.vaccination.importing import error_file_path, import_run, import_start
from truyvet.vaccination.models import ImportStatus
from truyvet.vaccination.tests.conftest import sites  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

LOT = "@SUM(1+1)"
HYPERLINK = '=HYPERLINK("https://evil.example","Bấm vào đây")'
QUOTED = '"' + HYPERLINK.replace('"', '""') + '"'  # as a CSV cell


def test_a_formula_typed_into_a_sites_list_stays_text_in_the_error_report(
        personas: Any, sites: Any) -> None:  # noqa: F811
    # A CSV list: every cell is text, so formulas arrive as typed.
    text = ("Họ và tên;Ngày sinh;Số điện thoại;Tên vắc xin;Số lô;Ngày tiêm;Mũi tiêm\n"
            # A bad row (unknown vaccine): its cells come back styled.
            f"{QUOTED};1980;0912600001;Vắc xin lạ;"
            "NT0021;01/10/2021;1\n"
            # A good row whose lot number is a formula: plain values.
            f"Lục Thị Hiền;1995;0912600002;AstraZeneca;{LOT};01/10/2021;1\n")
    batch = import_start(actor=personas.venue_owner, site=sites.centre,
                         upload=io.BytesIO(text.encode("utf-8-sig")), filename="danh-sach.csv")
    batch = import_run(batch_id=batch.pk)
    assert batch.status == ImportStatus.REJECTED

    sheet = load_workbook(error_file_path(batch)).worksheets[0]
    formula_like = [cell for line in sheet.iter_rows() for cell in line
                    if isinstance(cell.value, str) and cell.value[:1] in "=@"]
    assert {cell.value for cell in formula_like} >= {HYPERLINK, LOT}
    for cell in formula_like:
        assert cell.data_type == "s", cell.coordinate
        assert cell.quotePrefix, cell.coordinate
