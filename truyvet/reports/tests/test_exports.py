"""Exports: XLSX of every table and CSV of one, with Vietnamese headers, and
a printable PDF with the charts; each one audited. Report files made by the
worker (daily, weekly) and by officers (any period), kept for download and
optionally e-mailed."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from openpyxl import load_workbook

from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditAction, AuditEvent, OutboxMessage
from truyvet.reports.exports import TABLES, dashboard_export
from truyvet.reports.models import GeneratedReport, ReportKind, ReportRecipient
from truyvet.reports.selectors import Scope
from truyvet.reports.services import (
    report_generate,
    report_period,
    report_recipient_add,
    reports_generate_scheduled,
    scheduled_scopes,
)
from truyvet.reports.tasks import schedule_reports
from truyvet.reports.tests.conftest import Place, visit


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tmp_path}}}
    return tmp_path


@pytest.fixture
def scanned(places: Place) -> Place:
    now = timezone.now()
    visit(places["market"], places.people[0], now - timedelta(hours=1))
    visit(places["clinic"], places.people[1], now - timedelta(days=2))
    return places


def _export(personas: Any, fmt: str, table: str = "", user: Any = None) -> Any:
    return dashboard_export(viewer=user or personas.district_officer,
                            scope=Scope(unit=personas.units.ha_lang), since=None, until=None,
                            fmt=fmt, table=table)


def test_the_workbook_has_every_table_with_vietnamese_headers_even_in_english(
    personas: Any, scanned: Place
) -> None:
    with translation.override("en"):
        export = _export(personas, "xlsx")
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["Tổng hợp", "Theo đơn vị", "Theo loại hình", "Theo ngày",
                               "Theo ngày và đơn vị", "Theo ngày và loại hình",
                               "Địa điểm chưa có lượt quét"]
    units = book["Theo đơn vị"]
    assert [c.value for c in units[2]][:4] == ["Xã/phường/thị trấn", "Mã", "Cấp độ dịch",
                                               "Số địa điểm đã đăng ký"]
    rows = {row[0]: row for row in units.iter_rows(min_row=3, values_only=True)}
    assert rows["Thị trấn Thanh Nhật"][3:7] == (2, 0, 1, 1)
    inactive = [row for row in book["Địa điểm chưa có lượt quét"].iter_rows(min_row=3,
                                                                           values_only=True)]
    assert [(row[1], row[9]) for row in inactive] == [("Tạp hoá Hồng Nhung", "0912 345 002")]
    assert export.filename.startswith("bao-cao-huyen-ha-lang-")


def test_each_table_downloads_as_csv_that_excel_reads(personas: Any, scanned: Place) -> None:
    for table in TABLES:
        export = _export(personas, "csv", table)
        assert export.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert rows[0] and all(rows[0])
    days = list(csv.reader(io.StringIO(_export(personas, "csv", "days").content
                                       .decode("utf-8-sig"))))
    assert days[0] == ["Ngày", "Lượt quét", "Số người"]
    assert sum(int(row[1]) for row in days[1:]) == 2


def test_the_pdf_report_includes_the_charts(personas: Any, scanned: Place) -> None:
    export = _export(personas, "pdf")
    assert export.content.startswith(b"%PDF")
    assert export.content.count(b"/Subtype /Image") >= 2
    assert b"DejaVuSans" in export.content


def test_every_export_is_audited(personas: Any, scanned: Place) -> None:
    for fmt, table in (("xlsx", ""), ("pdf", ""), ("csv", "units")):
        _export(personas, fmt, table)
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT,
                                       target=f"reports:{personas.units.ha_lang.pk}")
    assert sorted(e.detail["format"] for e in events) == ["csv", "pdf", "xlsx"]
    assert all(e.actor == personas.district_officer and e.unit == personas.units.ha_lang
               for e in events)


def test_bad_export_requests_are_refused_and_leave_no_audit(personas: Any, scanned: Place
                                                            ) -> None:
    for fmt, table in (("docx", ""), ("csv", ""), ("csv", "people")):
        with pytest.raises(ServiceError):
            _export(personas, fmt, table)
    with pytest.raises(NotAllowed):
        _export(personas, "xlsx", user=personas.commune_officer)
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_export_page_serves_the_file_and_explains_a_bad_request(
    client: Client, personas: Any, scanned: Place
) -> None:
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/export"
    response = client.get(f"{url}.xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="bao-cao-')
    refused = client.get(f"{url}.csv", {"table": "people"}, follow=True)
    assert "Hãy chọn bảng cần xuất ra CSV." in refused.content.decode()
    api = client.get(f"/api/v1/reports/{personas.units.ha_lang.pk}/export.csv",
                     {"table": "days", "since": "2021-11-01", "until": "2021-11-07"})
    assert api.status_code == 200 and api["Content-Type"].startswith("text/csv")


# --- Report files ----------------------------------------------------------------------------


def test_the_daily_report_is_made_once_and_kept(media: Any, personas: Any, scanned: Place
                                                ) -> None:
    since, until = report_period(ReportKind.DAILY, timezone.localdate())
    scope = Scope(unit=personas.units.ha_lang)
    first = report_generate(scope=scope, kind=ReportKind.DAILY, since=since, until=until)
    again = report_generate(scope=scope, kind=ReportKind.DAILY, since=since, until=until)
    assert first.pk == again.pk and GeneratedReport.objects.count() == 1
    assert first.file.read().startswith(b"%PDF") and first.size > 1000
    assert (first.since, first.until) == (until, until) == (timezone.localdate()
                                                            - timedelta(days=1),) * 2


def test_the_weekly_report_covers_last_monday_to_sunday() -> None:
    wednesday = timezone.localdate().replace(year=2021, month=11, day=17)
    since, until = report_period(ReportKind.WEEKLY, wednesday)
    assert (since.isoformat(), until.isoformat()) == ("2021-11-08", "2021-11-14")


def test_the_worker_reports_on_each_district_and_province_with_venues_and_mails_links(
    settings: Any, media: Any, personas: Any, scanned: Place
) -> None:
    settings.REPORTS_SCHEDULED_LEVELS = ["district", "province"]
    settings.REPORTS_EMAIL = True
    report_recipient_add(actor=personas.district_officer,
                         scope=Scope(unit=personas.units.ha_lang),
                         email="VanHoa@HaLang.example.vn")
    assert {s.unit for s in scheduled_scopes()} == {
        personas.units.ha_lang, personas.units.quang_hoa, personas.units.cao_bang}

    made = reports_generate_scheduled(kind=ReportKind.DAILY)
    reports_generate_scheduled(kind=ReportKind.DAILY)

    assert len(made) == 3 == GeneratedReport.objects.count()
    mails = OutboxMessage.objects.filter(kind="reports.email")
    assert [m.email for m in mails] == ["vanhoa@halang.example.vn"]
    ha_lang_report = GeneratedReport.objects.get(scope_key=personas.units.ha_lang.pk)
    assert mails[0].body.endswith(f"/reports/files/{ha_lang_report.pk}/")


def test_the_schedules_are_created_once(db: Any) -> None:
    from django_q.models import Schedule

    schedule_reports()
    schedule_reports()
    names = list(Schedule.objects.filter(name__startswith="reports:")
                 .values_list("name", flat=True))
    assert sorted(names) == ["reports: daily reports", "reports: fold check-ins into rollups",
                             "reports: purge expired presence", "reports: weekly reports"]


def test_an_officer_makes_a_report_for_any_period_and_downloads_it_audited(
    client: Client, media: Any, personas: Any, scanned: Place
) -> None:
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/files/"
    response = client.post(url, {"action": "generate", "since": "2021-11-01",
                                 "until": "2021-11-30", "file_format": "xlsx"})
    assert response.status_code == 302
    report = GeneratedReport.objects.get()
    assert (report.kind, report.created_by) == (ReportKind.ADHOC, personas.district_officer)
    download = client.get(f"/reports/files/{report.pk}/")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT,
                                     target=f"reports:file:{report.pk}").count() == 1
    client.force_login(personas.commune_officer)
    assert client.get(f"/reports/files/{report.pk}/").status_code == 404
    refused = client.post(url.replace(str(personas.units.ha_lang.pk),
                                      str(personas.units.thanh_nhat.pk)),
                          {"action": "generate", "since": "2021-11-30", "until": "2021-11-01",
                           "file_format": "pdf"})
    assert "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc." in refused.content.decode()


def test_recipients_are_managed_on_the_files_page(client: Client, personas: Any) -> None:
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/files/"
    client.post(url, {"action": "add_recipient", "email": "vanhoa@halang.example.vn"})
    bad = client.post(url, {"action": "add_recipient", "email": "khong-phai-email"})
    assert "Địa chỉ thư điện tử không hợp lệ." in bad.content.decode()
    recipient = ReportRecipient.objects.get()
    client.post(url, {"action": "remove_recipient", "recipient": recipient.pk})
    assert not ReportRecipient.objects.exists()


def test_the_api_makes_and_lists_report_files(client: Client, media: Any, personas: Any
                                              ) -> None:
    client.force_login(personas.district_officer)
    base = f"/api/v1/reports/{personas.units.ha_lang.pk}/files"
    made = client.post(base, {"since": "2021-11-01", "until": "2021-11-07",
                              "file_format": "pdf"}, content_type="application/json")
    assert made.status_code == 201
    listed = client.get(base).json()
    assert [r["id"] for r in listed] == [made.json()["id"]]
    download = client.get(made.json()["download"])
    assert download.status_code == 200 and download.content.startswith(b"%PDF")


def test_the_daily_job_queues_one_task_per_unit_and_each_makes_its_report(
    settings: Any, media: Any, personas: Any, scanned: Place
) -> None:
    from django_q.models import OrmQ

    from truyvet.reports.tasks import report_for_scope, reports_daily

    settings.REPORTS_SCHEDULED_LEVELS = ["district"]
    assert reports_daily() == 2  # Hạ Lang and Quảng Hòa have venues
    assert OrmQ.objects.count() == 2
    made = report_for_scope("daily", str(personas.units.ha_lang.pk))
    report = GeneratedReport.objects.get(pk=made["report"])
    assert (report.unit, report.kind, report.file_format) == (
        personas.units.ha_lang, ReportKind.DAILY, "pdf")
