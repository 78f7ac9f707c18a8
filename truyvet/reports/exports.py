"""The dashboard as files: every table as XLSX (one sheet each) or CSV (one
table), and a printable PDF with the charts. Headers are Vietnamese in
every language (the files go to Vietnamese offices); each download is
audited as an export before a byte is served.

Every string cell goes through ``core.sheets`` (no formulas from names) and
every PDF paragraph through ``core.pdf`` (no markup from names).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import User
from truyvet.core import formats, pdf
from truyvet.core.errors import ErrorCollector, NotAllowed
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.core.sheets import csv_content, sheet_table
from truyvet.core.text import fold
from truyvet.reports import charts, permissions
from truyvet.reports.selectors import (
    Dashboard,
    Figures,
    InactiveVenue,
    Scope,
    dashboard_for,
    inactive_venues_all,
    period_clean,
    report_for,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
PDF_TYPE = "application/pdf"
CONTENT_TYPES = {"xlsx": XLSX_TYPE, "csv": CSV_TYPE, "pdf": PDF_TYPE}
# The tables, in the order of the workbook's sheets.
TABLES = ("summary", "units", "types", "days", "unit_days", "type_days", "inactive")
# The PDF lists at most this many inactive venues; the XLSX holds them all.
PDF_INACTIVE_ROWS = 300
# The tallest a chart is drawn in the PDF (points: 80 mm).
CHART_HEIGHT = 80 * 72 / 25.4


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def _when(moment: datetime | None) -> str:
    return f"{timezone.localtime(moment):%d/%m/%Y %H:%M}" if moment else ""


def _local(moment: datetime | None) -> datetime | None:
    """A time as the spreadsheet shows it: local, without a zone (a cell
    has none)."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def _owner_name(name: str) -> str:
    return name or _("(chưa có tài khoản)")


def _figure_cells(figures: Figures) -> list[Any]:
    return [
        figures.registered, figures.suspended, figures.active_1d, figures.active_7d,
        figures.inactive_7d,
        figures.share_active_7d if figures.share_active_7d is not None else "",
        figures.scans, figures.people_per_day,
    ]


def _figure_headers() -> list[str]:
    return [
        _("Số địa điểm đã đăng ký"), _("Đang tạm dừng"), _("Có lượt quét trong 1 ngày"),
        _("Có lượt quét trong 7 ngày"), _("Không có lượt quét trong 7 ngày"),
        _("Tỷ lệ có lượt quét 7 ngày (%)"), _("Lượt quét trong kỳ"),
        _("Số người mỗi ngày (trung bình)"),
    ]


def _level_label(level: int | None) -> str:
    return str(level) if level else _("Chưa xác định")


def period_text(dashboard: Dashboard) -> str:
    return _("từ %(since)s đến %(until)s") % {
        "since": f"{dashboard.since:%d/%m/%Y}", "until": f"{dashboard.until:%d/%m/%Y}"}


def dashboard_tables(dashboard: Dashboard, inactive: list[InactiveVenue] | None) -> list[Table]:
    """Every table of the dashboard (and the inactive venues, when given)."""
    totals = dashboard.totals
    summary = Table("summary", _("Tổng hợp"), [_("Chỉ tiêu"), _("Giá trị")], [
        [_("Đơn vị"), dashboard.scope.full_name],
        [_("Kỳ báo cáo"), period_text(dashboard)],
        [_("Số liệu hoạt động tính đến"), _local(dashboard.as_of)],
        *[[header, value] for header, value in zip(_figure_headers(), _figure_cells(totals),
                                                     strict=True)],
    ])
    units = Table(
        "units", _("Theo đơn vị"),
        [dashboard.scope.child_label(), _("Mã"), _("Cấp độ dịch"), *_figure_headers()],
        [[row.unit.name, row.unit.code, _level_label(row.epidemic_level),
          *_figure_cells(row.figures)] for row in dashboard.units],
    )
    types = Table(
        "types", _("Theo loại hình"), [_("Loại hình"), *_figure_headers()],
        [[row.label, *_figure_cells(row.figures)] for row in dashboard.types],
    )
    days = Table("days", _("Theo ngày"), [_("Ngày"), _("Lượt quét"), _("Số người")],
                 [[d.day, d.scans, d.people] for d in dashboard.days])
    unit_days = Table(
        "unit_days", _("Theo ngày và đơn vị"),
        [_("Ngày"), dashboard.scope.child_label(), _("Mã"), _("Lượt quét"), _("Số người")],
        [[d.day, row.unit.name, row.unit.code, d.scans, d.people]
         for row in dashboard.units for d in row.days],
    )
    type_days = Table(
        "type_days", _("Theo ngày và loại hình"),
        [_("Ngày"), _("Loại hình"), _("Lượt quét"), _("Số người")],
        [[d.day, row.label, d.scans, d.people] for row in dashboard.types for d in row.days],
    )
    tables = [summary, units, types, days, unit_days, type_days]
    if inactive is not None:
        tables.append(inactive_table(inactive))
    return tables


def inactive_table(entries: list[InactiveVenue]) -> Table:
    return Table(
        "inactive", _("Địa điểm chưa có lượt quét"),
        [_("Mã địa điểm"), _("Tên địa điểm"), _("Loại hình"), _("Xã/phường/thị trấn"),
         _("Địa chỉ"), _("Trạng thái"), _("Lượt quét gần nhất"), _("Số lần đã nhắc"),
         _("Chủ địa điểm"), _("Số điện thoại")],
        [[
            entry.venue.code, entry.venue.name, entry.venue.get_venue_type_display(),
            entry.venue.commune.name, entry.venue.street, entry.venue.get_status_display(),
            _local(entry.last_scan_at), entry.reminders,
            "; ".join(_owner_name(owner.name) for owner in entry.owners),
            "; ".join(formats.phone(owner.phone) for owner in entry.owners),
        ] for entry in entries],
    )


# --- Writers ----------------------------------------------------------------------------------


def tables_xlsx(tables: list[Table], *, title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for table in tables:
        sheet_table(book.create_sheet(table.title[:31]), table.headers, table.rows,
                    title=title)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def table_csv(table: Table) -> bytes:
    return csv_content([table.headers, *table.rows])


def _cell(value: Any) -> str:
    """A value as a PDF cell shows it (Vietnamese numbers, local times)."""
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, float):
        return formats.number(value, 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return formats.number(value)
    return "" if value is None else str(value)


def report_pdf(dashboard: Dashboard, tables: list[Table]) -> bytes:
    """A4 report: title, summary, both charts, then the tables (the long
    per-day-and-unit tables are left to the spreadsheet)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, Image, KeepTogether, SimpleDocTemplate, Spacer

    style = pdf.styles(size=8)
    title = _("Báo cáo tình hình quét mã QR tại địa điểm — %(scope)s") % {
        "scope": dashboard.scope.full_name}
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=pdf.plain(title), author="truyvet",
    )
    width = A4[0] - 24 * mm

    def grid(table: Table, limit: int | None = None) -> Any:
        rows = table.rows if limit is None else table.rows[:limit]
        return pdf.grid(table.headers, [[_cell(c) for c in row] for row in rows], width=width,
                        empty=_("Không có dữ liệu."))

    def picture(content: bytes) -> Any:
        # Both charts and the summary share the first page: each chart is
        # at most a third of the page high, so the second one does not
        # start a page of its own and leave the next almost blank.
        image = Image(io.BytesIO(content))
        scale = min(width / image.imageWidth, CHART_HEIGHT / image.imageHeight)
        image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
        return image

    by_key = {table.key: table for table in tables}
    story: list[Any] = [
        pdf.paragraph(title, style.heading),
        Spacer(1, 2 * mm),
        pdf.paragraph(_("Kỳ báo cáo: %(period)s. Số liệu hoạt động tính đến %(as_of)s. "
                        "Lập lúc %(now)s bởi truyvet.") % {
            "period": period_text(dashboard), "as_of": _when(dashboard.as_of),
            "now": _when(timezone.now())}, style.text),
        Spacer(1, 3 * mm),
        grid(by_key["summary"]),
        Spacer(1, 4 * mm),
        picture(charts.checkins_chart(dashboard, "png")),
        Spacer(1, 3 * mm),
        picture(charts.active_share_chart(dashboard, "png")),
    ]
    for key in ("units", "types", "days"):
        # A heading is never left alone at the foot of a page.
        story += [CondPageBreak(40 * mm), pdf.paragraph(by_key[key].title, style.subheading),
                  grid(by_key[key])]
    if "inactive" in by_key:
        inactive = by_key["inactive"]
        note = ""
        if len(inactive.rows) > PDF_INACTIVE_ROWS:
            note = _("Chỉ in %(shown)s trong %(total)s địa điểm; danh sách đầy đủ có trong tệp "
                     "Excel.") % {"shown": PDF_INACTIVE_ROWS, "total": len(inactive.rows)}
        narrow = Table(inactive.key, inactive.title,
                       [inactive.headers[i] for i in (0, 1, 3, 6, 7, 8, 9)],
                       [[row[i] for i in (0, 1, 3, 6, 7, 8, 9)] for row in inactive.rows])
        explanation = (
            _("Không có lượt quét trong 7 ngày tính đến lúc lập báo cáo (%(now)s).")
            % {"now": _when(timezone.now())} + " "
            + _("Tài liệu chứa số điện thoại của chủ địa điểm, chỉ dùng để đôn đốc thực hiện "
                "quét mã; lần xuất này đã được ghi nhật ký.") + (" " + note if note else "")
        )
        story += [
            CondPageBreak(60 * mm),
            KeepTogether([pdf.paragraph(inactive.title, style.subheading),
                          pdf.paragraph(explanation, style.text)]),
            Spacer(1, 2 * mm),
            grid(narrow, PDF_INACTIVE_ROWS),
        ]
    document.build(story)
    return buffer.getvalue()


# --- The audited download ----------------------------------------------------------------------


def filename_for(scope: Scope, since: date, until: date, extension: str, stem: str = "bao-cao"
                 ) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", fold(scope.name)).strip("-") or "don-vi"
    return f"{stem}-{name}-{since:%Y%m%d}-{until:%Y%m%d}.{extension}"


def build_report(
    *, dashboard: Dashboard, fmt: str, table: str = "", with_contacts: bool = True,
    now: datetime | None = None,
) -> ExportFile:
    """The file for a dashboard, in Vietnamese whatever the caller's language."""
    with translation.override("vi"):
        inactive = (inactive_venues_all(dashboard.scope, now=now)
                    if with_contacts and (fmt != "csv" or table == "inactive") else None)
        tables = dashboard_tables(dashboard, inactive)
        title = _("Báo cáo tình hình quét mã QR — %(scope)s, %(period)s") % {
            "scope": dashboard.scope.full_name, "period": period_text(dashboard)}
        if fmt == "xlsx":
            content = tables_xlsx(tables, title=title)
            stem = "bao-cao"
        elif fmt == "pdf":
            content = report_pdf(dashboard, tables)
            stem = "bao-cao"
        else:
            chosen = next(t for t in tables if t.key == table)
            content = table_csv(chosen)
            stem = f"bao-cao-{table.replace('_', '-')}"
    return ExportFile(content, CONTENT_TYPES[fmt],
                      filename_for(dashboard.scope, dashboard.since, dashboard.until, fmt, stem))


def export_check(*, fmt: str, table: str) -> None:
    errors = ErrorCollector()
    if fmt not in CONTENT_TYPES:
        errors.add("format", gettext_lazy("Định dạng phải là xlsx, csv hoặc pdf."), "invalid")
    elif fmt == "csv" and table not in TABLES:
        errors.add("table", gettext_lazy("Hãy chọn bảng cần xuất ra CSV."), "invalid")
    errors.raise_if_any(gettext_lazy("Yêu cầu xuất báo cáo không hợp lệ."))


def dashboard_export(
    *, viewer: User, scope: Scope, since: date | None, until: date | None, fmt: str,
    table: str = "", request: HttpRequest | None = None, now: datetime | None = None,
) -> ExportFile:
    """The scope's tables for a period as ``fmt`` (xlsx: every table; csv:
    the one named ``table``; pdf: the printable report with charts), with
    the inactive venues' owners' phones, audited as an export."""
    if not permissions.can_export_report(viewer, scope.unit):
        raise NotAllowed(_("Bạn chỉ xuất được báo cáo của địa bàn mình phụ trách."))
    export_check(fmt=fmt, table=table)
    since, until = period_clean(since=since, until=until)
    dashboard = dashboard_for(viewer=viewer, scope=scope, since=since, until=until, now=now)
    # Built before the audit's transaction, so that its reads may go to the
    # read replica (inside a transaction they stay on the primary); a failed
    # audit still keeps the file from being served.
    export = build_report(dashboard=dashboard, fmt=fmt, table=table, now=now)
    with transaction.atomic():
        audit_record(
            actor=viewer, action=AuditAction.EXPORT, request=request,
            purpose=_("Xuất báo cáo tình hình quét mã QR"), target=f"reports:{scope.slug}",
            unit=scope.unit,
            detail={"since": since.isoformat(), "until": until.isoformat(), "format": fmt,
                    "table": table or "all", "bytes": len(export.content)},
        )
    return export


def report_file_download(
    *, viewer: User, report_id: int, request: HttpRequest | None = None
) -> ExportFile:
    """A kept report file the viewer may download, audited as an export (it
    lists owners' phones); NotFound alike for unknown files and other units'."""
    report = report_for(viewer=viewer, report_id=report_id)
    with transaction.atomic():
        with report.file.open("rb") as handle:
            content = handle.read()
        audit_record(
            actor=viewer, action=AuditAction.EXPORT, request=request,
            purpose=_("Tải báo cáo đã lập"), target=f"reports:file:{report.pk}",
            unit=report.unit,
            detail={"kind": report.kind, "since": report.since.isoformat(),
                    "until": report.until.isoformat(), "format": report.file_format},
        )
    return ExportFile(content, CONTENT_TYPES[report.file_format],
                      (report.file.name or "").rsplit("/", 1)[-1])
