"""The coverage workbook (.xlsx): the scope's totals with percentages of
the population, the breakdown by child unit and by age group, and the
daily trend. Counts only, no personal data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _

from truyvet.core.sheets import sheet_table
from truyvet.core.spreadsheets import XLSX_TYPE, workbook_bytes
from truyvet.vaccination.models import Measure

if TYPE_CHECKING:
    from truyvet.vaccination.selectors import Coverage, CoverageRow

__all__ = ["XLSX_TYPE", "coverage_xlsx", "filename_for", "report_path"]


def _percent(value: float | None) -> Any:
    return round(value, 2) if value is not None else None


def _row_cells(row: CoverageRow) -> list[Any]:
    cells: list[Any] = [row.population.total or None, row.population.adults or None]
    for _measure, people, share, adults, adult_share in row.cells():
        cells += [people, _percent(share), adults, _percent(adult_share)]
    return cells


def _row_headers() -> list[str]:
    headers = [_("Dân số"), _("Dân số từ 18 tuổi")]
    for _value, label in Measure.choices:
        headers += [str(label), _("% dân số"), _("Từ 18 tuổi"), _("% dân số từ 18 tuổi")]
    return headers


def coverage_xlsx(coverage: Coverage) -> bytes:
    """Laid out by ``core.sheets.sheet_table``: frozen, filtered headers,
    real dates, sized columns."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    scope = coverage.scope
    sheet_table(
        book.create_sheet(_("Tổng hợp")), [_("Đơn vị"), *_row_headers()],
        [[scope.name, *_row_cells(coverage.totals)]],
        title=_("Độ bao phủ tiêm chủng COVID-19 — %(scope)s") % {"scope": scope.full_name},
        notes=[_("Số liệu đến ngày %(day)s") % {"day": f"{coverage.until:%d/%m/%Y}"}],
    )
    units = []
    for row in coverage.children:
        assert row.unit is not None
        units.append([row.unit.name, row.unit.code, *_row_cells(row)])
    sheet_table(book.create_sheet(_("Theo đơn vị")),
                [coverage.child_label, _("Mã"), *_row_headers()], units)
    sheet_table(book.create_sheet(_("Theo nhóm tuổi")),
                [_("Nhóm tuổi"), *[str(label) for _v, label in Measure.choices]],
                [[age.label, *[age.counts[int(value)] for value, _l in Measure.choices]]
                 for age in coverage.ages])
    sheet_table(
        book.create_sheet(_("Theo ngày")),
        [_("Ngày"), *[_("%(measure)s — trong ngày") % {"measure": label}
                      for _v, label in Measure.choices],
         *[_("%(measure)s — cộng dồn") % {"measure": label} for _v, label in Measure.choices]],
        [[day.day, *[day.new[int(v)] for v, _l in Measure.choices],
          *[day.total[int(v)] for v, _l in Measure.choices]] for day in coverage.trend],
    )
    return workbook_bytes(book)


def filename_for(coverage: Coverage) -> str:
    unit = coverage.scope.unit
    return f"bao-phu-tiem-chung-{unit.code if unit else 'toan-quoc'}-{coverage.until:%Y%m%d}.xlsx"


def reports_dir() -> Path:
    folder = Path(settings.VACCINATION_PRIVATE_DIR) / "coverage"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report_path(stored_name: str) -> Path | None:
    name = Path(stored_name or "").name
    if not name.endswith(".xlsx"):
        return None
    return reports_dir() / name
