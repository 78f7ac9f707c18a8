"""HTML pages for reports: the same selectors and services as ``api.py``.

A scope outside the viewer's units is 403 (units are public, their figures
are not); an unknown one 404. The dashboard shows counts only and writes
nothing, so its figures are read from the read replica when there is one;
the inactive-venue list shows owners' phones, audits every view and reads
the primary (it is shown right after reminders are sent).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from truyvet.accounts.models import AuthenticatedHttpRequest
from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.core.pagination import page_number
from truyvet.reports import charts, exports, permissions, selectors, services
from truyvet.reports.api import file_response
from truyvet.reports.forms import (
    InactiveFilterForm,
    PeriodForm,
    RecipientForm,
    ReminderTemplateForm,
    ReportCreateForm,
)
from truyvet.reports.models import ReportKind


def _scope(request: AuthenticatedHttpRequest, slug: str) -> selectors.Scope:
    try:
        return selectors.scope_for(viewer=request.user, slug=slug)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc


def _period(request: HttpRequest) -> tuple[PeriodForm, date, date]:
    """The period asked for in the query string, or the default one; a bad
    period is shown on the form and the default is used."""
    form = PeriodForm(request.GET if {"since", "until"} & set(request.GET) else None)
    since, until = selectors.default_period()
    if form.is_bound and form.is_valid():
        try:
            since, until = selectors.period_clean(
                since=form.cleaned_data["since"], until=form.cleaned_data["until"])
        except ServiceError as exc:
            form.add_service_error(exc)
            since, until = selectors.default_period()
    if not form.is_bound:
        form = PeriodForm(initial={"since": since, "until": until})
    return form, since, until


def _query(since: date, until: date, **extra: str) -> str:
    return urlencode({"since": since.isoformat(), "until": until.isoformat(), **extra})


@login_required
def index_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Straight to the officer's own unit, or a choice when they have several."""
    scopes = selectors.scopes_for(request.user)
    if not scopes:
        raise PermissionDenied
    if len(scopes) == 1:
        return redirect("reports:dashboard", scope=scopes[0].slug)
    return render(request, "reports/index.html", {"scopes": scopes})


@login_required
@require_GET
def dashboard_view(request: AuthenticatedHttpRequest, scope: str) -> HttpResponse:
    where = _scope(request, scope)
    form, since, until = _period(request)
    dashboard = selectors.dashboard_cached(viewer=request.user, scope=where, since=since,
                                           until=until)
    query = _query(since, until)
    return render(request, "reports/dashboard.html", {
        "dashboard": dashboard,
        "form": form,
        "query": query,
        "breadcrumbs": selectors.breadcrumbs_for(request.user, where),
        "csv_tables": _csv_tables(),
        "can_drill": not where.is_commune,
        "can_contact": permissions.can_view_venue_contacts(request.user, where.unit),
        "day_bars": charts.day_bars(dashboard),
        "share_bars": [] if where.is_commune else charts.share_bars(dashboard),
    })


def _csv_tables() -> list[tuple[str, str]]:
    return [
        ("summary", _("Tổng hợp")), ("units", _("Theo đơn vị")), ("types", _("Theo loại hình")),
        ("days", _("Theo ngày")), ("unit_days", _("Theo ngày và đơn vị")),
        ("type_days", _("Theo ngày và loại hình")), ("inactive", _("Địa điểm chưa có lượt quét")),
    ]


@login_required
@require_GET
def chart_view(request: AuthenticatedHttpRequest, scope: str, name: str) -> HttpResponse:
    if name not in charts.CHARTS:
        raise Http404
    where = _scope(request, scope)
    _form, since, until = _period(request)
    dashboard = selectors.dashboard_for(viewer=request.user, scope=where, since=since,
                                        until=until)
    response = HttpResponse(charts.chart(name, dashboard, "svg"), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
def inactive_view(request: AuthenticatedHttpRequest, scope: str) -> HttpResponse:
    """The inactive venues with their owners' phones (audited), filtered by
    commune and type, and the form that sends them reminders: the ticked
    ones, or every venue the filters find on all pages. A province's
    officers also set the province's reminder text here."""
    where = _scope(request, scope)
    if not permissions.can_view_venue_contacts(request.user, where.unit):
        raise PermissionDenied
    number = page_number(request.GET.get("page"))
    form = InactiveFilterForm(request.GET or None, communes=selectors.inactive_communes(
        viewer=request.user, scope=where))
    filters = form.filters()
    here = reverse("reports:inactive", args=[where.slug]) + f"?{form.querystring()}"
    province = selectors.scope_province(where)
    template = services.reminder_template_for(province) if province else None
    can_edit = province is not None and permissions.can_edit_reminder_template(
        request.user, province)
    template_form = ReminderTemplateForm(
        request.POST if request.POST.get("action") == "template" else None,
        initial={"body": template.body if template else services.default_reminder_body(),
                 "rule": template.rule if template else ""})
    if request.method == "POST" and request.POST.get("action") == "template":
        if province is None or not can_edit:
            raise PermissionDenied
        if template_form.is_valid():
            try:
                services.reminder_template_save(
                    actor=request.user, province=province, request=request,
                    **template_form.cleaned_data)
            except ServiceError as exc:
                template_form.add_service_error(exc)
            else:
                messages.success(request, _("Đã lưu mẫu tin nhắn nhắc của tỉnh."))
                return redirect(here)
    elif request.method == "POST":
        try:
            if request.POST.get("matching"):
                outcomes = services.venue_reminders_send_matching(
                    actor=request.user, scope=where, request=request, **filters)
            else:
                outcomes = services.venue_reminders_send(
                    actor=request.user, venue_codes=request.POST.getlist("venue"),
                    request=request)
        except ServiceError as exc:
            messages.error(request, str(exc.errors[0].message if exc.errors else exc.message))
        else:
            sent = [o for o in outcomes if o.sent]
            if sent:
                messages.success(request, ngettext(
                    "Đã gửi tin nhắn nhắc %(count)s địa điểm.",
                    "Đã gửi tin nhắn nhắc %(count)s địa điểm.", len(sent)) % {"count": len(sent)})
            skipped = [o for o in outcomes if not o.sent]
            for outcome in skipped[:10]:
                messages.warning(request, f"{outcome.name}: {outcome.message}")
            if len(skipped) > 10:
                messages.warning(request, ngettext(
                    "và %(count)s địa điểm khác không được nhắc.",
                    "và %(count)s địa điểm khác không được nhắc.", len(skipped) - 10,
                ) % {"count": len(skipped) - 10})
        return redirect(f"{here}&page={number}")
    size = selectors.INACTIVE_PAGE_SIZE
    page = selectors.inactive_venues_for(
        viewer=request.user, scope=where, offset=(number - 1) * size, limit=size,
        request=request, **filters,
    )
    pages = max(1, -(-page.total // size))
    return render(request, "reports/inactive.html", {
        "scope": where, "page": page, "number": number, "pages": pages,
        "previous": number - 1 if number > 1 else None,
        "next": number + 1 if number < pages else None,
        "threshold": settings.REPORTS_REMINDERS_BEFORE_SUSPENSION,
        "breadcrumbs": selectors.breadcrumbs_for(request.user, where),
        "form": form, "querystring": form.querystring(), "here": here,
        "template": template, "template_form": template_form if can_edit else None,
        "province": province,
    })


@login_required
@require_GET
def export_view(request: AuthenticatedHttpRequest, scope: str, fmt: str) -> HttpResponse:
    where = _scope(request, scope)
    form = PeriodForm(request.GET)
    back = reverse("reports:dashboard", args=[where.slug])
    if not form.is_valid():
        messages.error(request, _("Khoảng thời gian không hợp lệ."))
        return redirect(back)
    try:
        export = exports.dashboard_export(
            viewer=request.user, scope=where, since=form.cleaned_data["since"],
            until=form.cleaned_data["until"], fmt=fmt, table=request.GET.get("table", ""),
            request=request,
        )
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc.errors[0].message if exc.errors else exc.message))
        return redirect(back)
    return file_response(export.content, export.content_type, export.filename)


@login_required
def files_view(request: AuthenticatedHttpRequest, scope: str) -> HttpResponse:
    """Kept report files, the ad-hoc report form and the e-mail recipients."""
    where = _scope(request, scope)
    if not permissions.can_export_report(request.user, where.unit):
        raise PermissionDenied
    since, until = selectors.default_period()
    create = ReportCreateForm(initial={"since": since, "until": until, "file_format": "pdf"})
    recipient = RecipientForm()
    here = reverse("reports:files", args=[where.slug])
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "generate":
        create = ReportCreateForm(request.POST)
        if create.is_valid():
            data = create.cleaned_data
            try:
                services.report_generate(
                    scope=where, kind=ReportKind.ADHOC, since=data["since"],
                    until=data["until"], file_format=data["file_format"], actor=request.user,
                )
            except ServiceError as exc:
                create.add_service_error(exc)
            else:
                messages.success(request, _("Đã lập báo cáo."))
                return redirect(here)
    elif request.method == "POST" and action == "add_recipient":
        recipient = RecipientForm(request.POST)
        if recipient.is_valid():
            try:
                services.report_recipient_add(actor=request.user, scope=where,
                                              email=recipient.cleaned_data["email"])
            except ServiceError as exc:
                recipient.add_service_error(exc)
            else:
                messages.success(request, _("Đã thêm địa chỉ nhận báo cáo."))
                return redirect(here)
    elif request.method == "POST" and action == "remove_recipient":
        try:
            services.report_recipient_remove(
                actor=request.user, scope=where,
                recipient_id=int(request.POST.get("recipient") or 0))
        except (ValueError, NotFound) as exc:
            raise Http404 from exc
        messages.success(request, _("Đã bỏ địa chỉ nhận báo cáo."))
        return redirect(here)
    elif request.method == "POST":
        raise Http404
    return render(request, "reports/files.html", {
        "scope": where,
        "reports": selectors.reports_of(viewer=request.user, scope=where)[:100],
        "recipients": selectors.recipients_of(viewer=request.user, scope=where),
        "create": create, "recipient": recipient,
        "email_on": settings.REPORTS_EMAIL,
        "breadcrumbs": selectors.breadcrumbs_for(request.user, where),
    })


@login_required
@require_GET
def file_view(request: AuthenticatedHttpRequest, report_id: int) -> HttpResponse:
    try:
        export = exports.report_file_download(viewer=request.user, report_id=report_id,
                                              request=request)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return file_response(export.content, export.content_type, export.filename)
