"""Writes for reports: SMS reminders to inactive venues, report files (the
worker's daily and weekly ones, officers' ad-hoc ones), and the e-mail
addresses that receive them.

The rollups themselves are written by ``truyvet.reports.rollups``, called
from the check-in services.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import User
from truyvet.core.errors import ErrorCollector, NotAllowed, NotFound
from truyvet.core.models import AuditAction, OutboxChannel
from truyvet.core.outbox import Message, outbox_enqueue
from truyvet.core.services import audit_record
from truyvet.core.text import clean_line
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.reports import permissions
from truyvet.reports.exports import build_report, filename_for
from truyvet.reports.models import (
    GeneratedReport,
    ReminderTemplate,
    ReportFormat,
    ReportKind,
    ReportRecipient,
    VenueReminder,
)
from truyvet.reports.selectors import (
    INACTIVE_EXPORT_MAX,
    Scope,
    dashboard_build,
    inactive_venues_qs,
    period_clean,
    province_path,
)
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus

MAX_REMINDERS_AT_ONCE = 200
INVALID_INPUT = gettext_lazy("Thông tin chưa hợp lệ, vui lòng kiểm tra lại.")


# --- Reminders ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderOutcome:
    code: str
    name: str
    sent: bool
    reason: str = ""  # a stable code when not sent
    message: str | Promise = ""
    recipients: int = 0
    reminders: int = 0  # reminders since the venue's last scan, this one included


_SKIPPED: dict[str, Promise] = {
    "not_active": gettext_lazy("Địa điểm không ở trạng thái hoạt động."),
    "has_scans": gettext_lazy("Địa điểm đã có lượt quét trong 7 ngày qua."),
    "already_today": gettext_lazy("Địa điểm đã được nhắc hôm nay."),
}


REMINDER_PLACEHOLDERS = ("name", "code", "count", "unit")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def default_reminder_body() -> str:
    """The reminder of a province that has not written its own."""
    return _(
        "truyvet: Địa điểm {name} (mã {code}) chưa có lượt quét mã QR nào trong 7 "
        "ngày qua. Đề nghị treo mã QR ở lối vào và nhắc mọi người quét khi đến. Nhắc lần "
        "{count} - {unit}."
    )


def _reminder_text(venue: Venue, count: int, template: ReminderTemplate | None) -> str:
    """The SMS, in Vietnamese whatever the officer's language (owners read
    it): the province's own text when it has one, else the generic one."""
    with translation.override("vi"):
        body = template.body if template is not None else default_reminder_body()
    values = {"name": venue.name, "code": venue.code, "count": str(count),
              "unit": venue.commune.name}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def reminder_template_for(unit: AdministrativeUnit) -> ReminderTemplate | None:
    """The reminder template of the province ``unit`` lies in, if it has one."""
    return ReminderTemplate.objects.filter(province__path=province_path(unit)).first()


def reminder_template_save(
    *, actor: User, province: AdministrativeUnit, body: str, rule: str = "",
    request: HttpRequest | None = None,
) -> ReminderTemplate:
    """Sets a province's reminder SMS and its rule on inactive venues
    (province officers of that province). The text may use only the
    placeholders ``{name}``, ``{code}``, ``{count}`` and ``{unit}``."""
    if province.level != Level.PROVINCE or not permissions.can_edit_reminder_template(
            actor, province):
        raise NotAllowed(gettext_lazy("Chỉ cán bộ cấp tỉnh sửa được mẫu tin nhắc của tỉnh."))
    errors = ErrorCollector()
    text = clean_line(body, errors, "body")
    rule_text = clean_line(rule, errors, "rule")
    if not text:
        errors.add("body", gettext_lazy("Hãy nhập nội dung tin nhắn."), "required")
    elif len(text) > 480:
        errors.add("body", gettext_lazy("Tin nhắn dài quá 480 ký tự."), "too_long")
    unknown = [m for m in _PLACEHOLDER.findall(text) if m not in REMINDER_PLACEHOLDERS]
    if unknown:
        errors.add("body", gettext_lazy(
            "Chỉ dùng được {name}, {code}, {count} và {unit} trong nội dung."), "placeholder")
    if len(rule_text) > 300:
        errors.add("rule", gettext_lazy("Quy định dài quá 300 ký tự."), "too_long")
    errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        template, _created = ReminderTemplate.objects.update_or_create(
            province=province, defaults={"body": text, "rule": rule_text,
                                         "updated_at": timezone.now(), "updated_by": actor})
        audit_record(actor=actor, action=AuditAction.STATUS_CHANGE, request=request,
                     purpose=_("Sửa mẫu tin nhắc địa điểm của tỉnh"),
                     target=f"reports:reminder-template:{province.pk}", unit=province,
                     detail={"kind": "reports.reminder_template"})
    return template


def venue_reminders_send(
    *, actor: User, venue_codes: Sequence[str], request: HttpRequest | None = None,
    now: datetime | None = None,
) -> list[ReminderOutcome]:
    """Reminds the owners of the given inactive venues by SMS, through the
    outbox: one message per owner phone (and the venue's contact phone),
    at most one reminder per venue and day, in the text of the venue's
    province (``ReminderTemplate``).

    Every venue must exist and be in the actor's scope (otherwise nothing is
    sent); venues that are not active, had a visit in the last 7 days or
    were reminded today are skipped with a reason.
    """
    codes = list(dict.fromkeys(code.strip().upper() for code in venue_codes if code.strip()))
    errors = ErrorCollector()
    if not codes:
        errors.add("venue_codes", gettext_lazy("Hãy chọn ít nhất một địa điểm."), "required")
    elif len(codes) > MAX_REMINDERS_AT_ONCE:
        errors.add("venue_codes", gettext_lazy("Mỗi lần nhắc tối đa 200 địa điểm."), "too_many")
    errors.raise_if_any(INVALID_INPUT)
    return _reminders_send(actor=actor, codes=codes, now=now or timezone.now())


def venue_reminders_send_matching(
    *, actor: User, scope: Scope, commune: int | None = None, venue_type: str = "",
    request: HttpRequest | None = None, now: datetime | None = None,
) -> list[ReminderOutcome]:
    """Reminds every inactive venue of the scope that the filters find (all
    pages of the list, at most ``INACTIVE_EXPORT_MAX``), as
    ``venue_reminders_send`` does for chosen ones."""
    if not permissions.can_view_venue_contacts(actor, scope.unit):
        raise NotAllowed(gettext_lazy("Bạn chỉ nhắc được địa điểm của địa bàn mình phụ trách."))
    now = now or timezone.now()
    codes = list(
        inactive_venues_qs(scope, now=now, commune=commune, venue_type=venue_type)
        .filter(status=VenueStatus.ACTIVE).values_list("code", flat=True)[:INACTIVE_EXPORT_MAX]
    )
    if not codes:
        errors = ErrorCollector()
        errors.add("venue_codes", gettext_lazy("Không có địa điểm nào để nhắc."), "required")
        errors.raise_if_any(INVALID_INPUT)
    return _reminders_send(actor=actor, codes=codes, now=now)


def _reminders_send(*, actor: User, codes: list[str], now: datetime) -> list[ReminderOutcome]:
    today = timezone.localdate(now)
    venues = {v.code: v for v in Venue.objects.select_related("commune").filter(code__in=codes)}
    refused = [c for c in codes if c not in venues
               or not permissions.can_send_reminder(actor, venues[c])]
    if refused:
        raise NotFound(_("Không tìm thấy địa điểm: %(codes)s.") % {"codes": ", ".join(refused)})
    ordered = [venues[code] for code in codes]
    provinces = {province_path(v.commune) for v in ordered}
    templates = {t.province.path: t for t in ReminderTemplate.objects.filter(
        province__path__in=provinces).select_related("province")}
    outcomes: list[ReminderOutcome] = []
    with transaction.atomic():
        candidates: Any = inactive_venues_qs(Scope(unit=None), now=now)
        inactive = dict(
            candidates.filter(pk__in=[v.pk for v in ordered]).values_list("pk", "reminders")
        )
        reminded_today = set(VenueReminder.objects.filter(
            venue__in=ordered, day=today).values_list("venue_id", flat=True))
        phones: dict[int, list[str]] = {v.pk: [] for v in ordered}
        for venue_id, phone in (
            VenueStaff.objects.filter(venue__in=ordered, role=StaffRole.OWNER)
            .order_by("added_at", "pk").values_list("venue_id", "phone")
        ):
            phones[venue_id].append(phone)
        messages: list[Message] = []
        for venue in ordered:
            reason = ""
            if venue.status != VenueStatus.ACTIVE:
                reason = "not_active"
            elif venue.pk not in inactive:
                reason = "has_scans"
            elif venue.pk in reminded_today:
                reason = "already_today"
            if reason:
                outcomes.append(ReminderOutcome(code=venue.code, name=venue.name, sent=False,
                                                reason=reason, message=_SKIPPED[reason]))
                continue
            count = (inactive[venue.pk] or 0) + 1
            recipients = list(dict.fromkeys([*phones[venue.pk], venue.contact_phone]))
            try:
                with transaction.atomic():
                    VenueReminder.objects.create(venue=venue, day=today, sent_at=now,
                                                 sent_by=actor, recipients=len(recipients))
            except IntegrityError:  # another officer's click got there first
                outcomes.append(ReminderOutcome(
                    code=venue.code, name=venue.name, sent=False, reason="already_today",
                    message=_SKIPPED["already_today"]))
                continue
            body = _reminder_text(venue, count,
                                  templates.get(province_path(venue.commune)))
            messages += [
                Message(channel=OutboxChannel.SMS, phone=phone, body=body,
                        kind="reports.reminder",
                        dedupe_key=f"reports.reminder:{venue.pk}:{today:%Y%m%d}:{phone}")
                for phone in recipients if phone
            ]
            outcomes.append(ReminderOutcome(code=venue.code, name=venue.name, sent=True,
                                            recipients=len(recipients), reminders=count))
        outbox_enqueue(messages=messages)
    return outcomes


# --- Report files ---------------------------------------------------------------------------


def _report_name(report: GeneratedReport, scope: Scope) -> str:
    stem = {"daily": "bao-cao-ngay", "weekly": "bao-cao-tuan"}.get(report.kind, "bao-cao")
    return filename_for(scope, report.since, report.until, report.file_format, stem)


def report_generate(
    *, scope: Scope, kind: str, since: date, until: date, file_format: str = ReportFormat.PDF,
    actor: User | None = None, now: datetime | None = None,
) -> GeneratedReport:
    """Makes and keeps a report file for the scope and period.

    Daily and weekly reports (``actor`` None: the worker) are made once per
    scope, period and format; asking again returns the one made before.
    An officer's ad-hoc report is checked against their scope and always
    made anew.
    """
    errors = ErrorCollector()
    if kind not in ReportKind.values:
        errors.add("kind", gettext_lazy("Loại báo cáo không hợp lệ."), "invalid")
    if file_format not in ReportFormat.values:
        errors.add("file_format", gettext_lazy("Định dạng phải là pdf hoặc xlsx."), "invalid")
    errors.raise_if_any(INVALID_INPUT)
    if actor is not None and not permissions.can_export_report(actor, scope.unit):
        raise NotAllowed(_("Bạn chỉ lập được báo cáo của địa bàn mình phụ trách."))
    since, until = period_clean(since=since, until=until,
                               today=timezone.localdate(now) if now else None)
    if kind != ReportKind.ADHOC:
        earlier = GeneratedReport.objects.filter(
            scope_key=scope.key, kind=kind, since=since, until=until, file_format=file_format,
        ).first()
        if earlier is not None:
            return earlier
    # Checked above for an officer; the worker makes every unit's reports.
    dashboard = dashboard_build(scope=scope, since=since, until=until, now=now)
    export = build_report(dashboard=dashboard, fmt=file_format, now=now)
    report = GeneratedReport(
        unit=scope.unit, scope_key=scope.key, kind=kind, since=since, until=until,
        file_format=file_format, size=len(export.content), created_by=actor,
    )
    report.file.save(_report_name(report, scope), ContentFile(export.content), save=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:  # a concurrent run of the same job made it first
        report.file.delete(save=False)
        return GeneratedReport.objects.get(
            scope_key=scope.key, kind=kind, since=since, until=until, file_format=file_format)
    return report


def report_period(kind: str, today: date) -> tuple[date, date]:
    """Daily: yesterday. Weekly: the last full week, Monday to Sunday."""
    if kind == ReportKind.DAILY:
        return today - timedelta(days=1), today - timedelta(days=1)
    last_sunday = today - timedelta(days=today.isoweekday())
    return last_sunday - timedelta(days=6), last_sunday


def scheduled_scopes() -> list[Scope]:
    """The units at REPORTS_SCHEDULED_LEVELS that have at least one venue
    (and the country when "nation" is listed)."""
    levels = set(settings.REPORTS_SCHEDULED_LEVELS)
    wanted = {name: value for name, value in (
        ("commune", Level.COMMUNE), ("district", Level.DISTRICT), ("province", Level.PROVINCE),
    ) if name in levels}
    scopes: list[Scope] = [Scope(unit=None)] if "nation" in levels else []
    if wanted:
        paths = set(
            AdministrativeUnit.objects.filter(
                pk__in=Venue.objects.exclude(status=VenueStatus.CLOSED).values("commune_id")
            ).values_list("path", flat=True)
        )
        prefixes: set[str] = set()
        for path in paths:
            parts = path.strip("/").split("/")
            prefixes |= {"/".join(parts[:n]) + "/" for n in range(2, len(parts) + 1)}
        scopes += [
            Scope(unit=unit) for unit in
            AdministrativeUnit.objects.filter(path__in=prefixes, level__in=wanted.values())
            .select_related("parent", "parent__parent").order_by("path")
        ]
    return scopes


def report_email(*, report: GeneratedReport) -> int:
    """Enqueues the report's link to the scope's recipients, once each;
    returns how many were queued. The file stays behind the login."""
    recipients = list(ReportRecipient.objects.filter(scope_key=report.scope_key)
                      .values_list("email", flat=True))
    if not recipients:
        return 0
    scope = Scope(unit=report.unit)
    link = settings.PUBLIC_BASE_URL + reverse("reports:file", args=[report.pk])
    with translation.override("vi"):
        subject = _("Báo cáo %(kind)s tình hình quét mã QR — %(scope)s, %(since)s–%(until)s") % {
            "kind": report.get_kind_display().lower(), "scope": scope.name,
            "since": f"{report.since:%d/%m/%Y}", "until": f"{report.until:%d/%m/%Y}"}
        body = _("Báo cáo đã sẵn sàng. Đăng nhập để tải về: %(link)s") % {"link": link}
    queued = outbox_enqueue(messages=[
        Message(channel=OutboxChannel.EMAIL, email=email, subject=subject, body=body,
                kind="reports.email", link=reverse("reports:file", args=[report.pk]),
                dedupe_key=f"reports.email:{report.pk}:{email.lower()}")
        for email in recipients
    ])
    return len(queued)


def reports_generate_scheduled(*, kind: str, now: datetime | None = None) -> list[GeneratedReport]:
    """Makes the daily or weekly PDF of every scheduled scope (see
    ``scheduled_scopes``) and, with REPORTS_EMAIL, mails their links."""
    today = timezone.localdate(now) if now else timezone.localdate()
    since, until = report_period(kind, today)
    made = []
    for scope in scheduled_scopes():
        report = report_generate(scope=scope, kind=kind, since=since, until=until, now=now)
        if settings.REPORTS_EMAIL:
            report_email(report=report)
        made.append(report)
    return made


# --- Recipients ---------------------------------------------------------------------------------


def report_recipient_add(*, actor: User, scope: Scope, email: str) -> ReportRecipient:
    """Adds an address that gets the scope's scheduled reports (adding it
    again changes nothing)."""
    if not permissions.can_manage_report_recipients(actor, scope.unit):
        raise NotAllowed(_("Bạn chỉ quản lý được báo cáo của địa bàn mình phụ trách."))
    cleaned = (email or "").strip().lower()
    errors = ErrorCollector()
    try:
        validate_email(cleaned)
    except ValidationError:
        errors.add("email", gettext_lazy("Địa chỉ thư điện tử không hợp lệ."), "invalid")
    errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        recipient, _created = ReportRecipient.objects.get_or_create(
            scope_key=scope.key, email=cleaned,
            defaults={"unit": scope.unit, "added_by": actor},
        )
    return recipient


def report_recipient_remove(*, actor: User, scope: Scope, recipient_id: int) -> None:
    if not permissions.can_manage_report_recipients(actor, scope.unit):
        raise NotAllowed(_("Bạn chỉ quản lý được báo cáo của địa bàn mình phụ trách."))
    deleted, _by_model = ReportRecipient.objects.filter(
        Q(scope_key=scope.key), pk=recipient_id).delete()
    if not deleted:
        raise NotFound(_("Không tìm thấy địa chỉ này."))
