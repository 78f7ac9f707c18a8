"""The reports step of the Hạ Lang demo (``truyvet.site.demo.DEMO_STEPS``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db.models import Min
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.places.models import AdministrativeUnit
from truyvet.reports.models import GeneratedReport, ReminderTemplate, ReportKind
from truyvet.reports.rollups import rollups_reload
from truyvet.reports.selectors import Scope
from truyvet.reports.services import report_generate, report_period

HA_LANG_PATH = "2021/04/048/"


def demo_reminder_template(say: Callable[[str], None]) -> None:
    """Cao Bằng's own reminder to inactive venues, once."""
    ha_lang = AdministrativeUnit.objects.filter(path=HA_LANG_PATH).first()
    if ha_lang is None:
        return
    province = ha_lang.parent
    if province is not None and not ReminderTemplate.objects.filter(province=province).exists():
        say("Writing Cao Bằng's reminder to inactive venues")
        ReminderTemplate.objects.create(
            province=province,
            body="Cao Bằng: Địa điểm {name} (mã {code}) chưa có lượt quét mã QR trong 7 ngày. "
                 "Đề nghị treo mã QR ở lối vào và nhắc mọi người quét khi đến. Nhắc lần "
                 "{count} - {unit}.",
            rule="Địa điểm được nhắc nhiều lần mà vẫn không quét mã sẽ được UBND xã "
                 "kiểm tra trực tiếp.",
        )


def demo_reports(say: Callable[[str], None]) -> None:
    """Cao Bằng's reminder text; rebuilds the daily rollups over every demo
    check-in (the demo loads them in bulk), then makes Hạ Lang's daily
    report for yesterday once."""
    demo_reminder_template(say)
    first = CheckIn.objects.aggregate(first=Min("arrived_at"))["first"]
    if first is None:
        return
    now = timezone.now()
    say("Rebuilding the daily report figures from the check-ins")
    # Through the fold: the demo's scans made through the services are
    # noted too, and must not be counted on top (decision 0022).
    rollups_reload(since=first, until=now + timedelta(minutes=10))
    ha_lang = AdministrativeUnit.objects.filter(path=HA_LANG_PATH).first()
    if ha_lang is None:
        return
    since, until = report_period(ReportKind.DAILY, timezone.localdate())
    if not GeneratedReport.objects.filter(scope_key=ha_lang.pk, kind=ReportKind.DAILY,
                                          since=since).exists():
        say("Making Hạ Lang's daily report for yesterday")
        report_generate(scope=Scope(unit=ha_lang), kind=ReportKind.DAILY, since=since,
                        until=until)
