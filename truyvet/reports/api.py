"""JSON endpoints for reports, mounted under /api/v1/reports/.

``{scope}`` is ``nation`` or an administrative unit's id (``GET /scopes``
lists yours). Each endpoint finds the scope through ``selectors.scope_for``
(403 outside your units, 404 for an unknown one), then calls the same
selector or service as the pages.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from truyvet.accounts.models import User
from truyvet.core.api_auth import logged_in
from truyvet.core.errors import NotAllowed
from truyvet.core.pagination import page_window
from truyvet.reports import exports, selectors, services
from truyvet.reports.models import GeneratedReport, ReportKind
from truyvet.reports.schemas import (
    DashboardRead,
    InactivePageRead,
    ReminderRead,
    RemindersIn,
    RemindersMatchingIn,
    ReportCreate,
    ReportRead,
    ScopeRead,
)

router = Router(tags=["reports"])


def _caller(request: HttpRequest) -> User:
    """The account the endpoint's ``auth`` (``logged_in``) accepted."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _scope(request: HttpRequest, scope: str) -> selectors.Scope:
    return selectors.scope_for(viewer=_caller(request), slug=scope)


def file_response(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/scopes", response=list[ScopeRead], auth=logged_in,
            summary="The units whose reports you may see")
def scopes(request: HttpRequest) -> list[selectors.Scope]:
    """Officers: their units; system admins: the whole country. Anyone else
    gets 403."""
    found = selectors.scopes_for(_caller(request))
    if not found:
        raise NotAllowed(selectors.SCOPE_NOT_FOUND)
    return found


@router.get("/{scope}/dashboard", response=DashboardRead, auth=logged_in,
            summary="Venues, activity, scans and people for a unit and period")
def dashboard(
    request: HttpRequest, scope: str, since: date | None = None, until: date | None = None
) -> selectors.Dashboard:
    """From the daily rollups: venues registered and with a scan in the last
    1 and 7 days, scans and distinct people per day, by child unit and by
    venue type. The period defaults to the last 14 days."""
    where = _scope(request, scope)
    first, last = selectors.period_clean(since=since, until=until)
    return selectors.dashboard_for(viewer=_caller(request), scope=where, since=first, until=last)


@router.get("/{scope}/inactive", response=InactivePageRead, auth=logged_in,
            summary="Venues without a scan in 7 days, with owners' phones (audited)")
def inactive(
    request: HttpRequest, scope: str, offset: int = 0, limit: int = 50,
    commune: int | None = None, venue_type: str = "",
) -> Any:
    """Filtered by `commune` (a unit id in the scope) and `venue_type`."""
    return selectors.inactive_venues_for(
        viewer=_caller(request), scope=_scope(request, scope), offset=offset, limit=limit,
        request=request, commune=commune, venue_type=venue_type[:20],
    )


@router.post("/reminders", response=list[ReminderRead], auth=logged_in,
             summary="SMS reminders to inactive venues' owners")
def reminders(request: HttpRequest, payload: RemindersIn) -> list[services.ReminderOutcome]:
    """At most one reminder per venue and day; venues with recent scans or
    not active are skipped with a reason. Delivered by the worker."""
    return services.venue_reminders_send(
        actor=_caller(request), venue_codes=payload.venue_codes, request=request
    )


@router.post("/{scope}/reminders", response=list[ReminderRead], auth=logged_in,
             summary="SMS reminders to every inactive venue the filters find")
def reminders_matching(
    request: HttpRequest, scope: str, payload: RemindersMatchingIn
) -> list[services.ReminderOutcome]:
    """Every active venue of the scope's inactive list that `commune` and
    `venue_type` find, on all pages, as `/reminders` does for chosen ones."""
    return services.venue_reminders_send_matching(
        actor=_caller(request), scope=_scope(request, scope), commune=payload.commune,
        venue_type=payload.venue_type, request=request,
    )


@router.get("/{scope}/export.{file_format}", auth=logged_in,
            summary="The tables as XLSX, one table as CSV, or the PDF report (audited)")
def export(
    request: HttpRequest, scope: str, file_format: str, since: date | None = None,
    until: date | None = None, table: str = "",
) -> HttpResponse:
    """`file_format` is `xlsx` (every table), `csv` (the `table` named:
    summary, units, types, days, unit_days, type_days, inactive) or `pdf`."""
    export = exports.dashboard_export(
        viewer=_caller(request), scope=_scope(request, scope), since=since, until=until,
        fmt=file_format, table=table, request=request,
    )
    return file_response(export.content, export.content_type, export.filename)


@router.get("/{scope}/files", response=list[ReportRead], auth=logged_in,
            summary="Daily, weekly and ad-hoc report files kept for the unit")
def files(request: HttpRequest, scope: str, limit: int = 50, offset: int = 0
          ) -> list[GeneratedReport]:
    reports = selectors.reports_of(viewer=_caller(request), scope=_scope(request, scope))
    limit, offset = page_window(limit=limit, offset=offset, max_limit=200)
    return list(reports[offset:offset + limit])


@router.post("/{scope}/files", response={201: ReportRead}, auth=logged_in,
             summary="Make an ad-hoc report file for any period")
def file_create(request: HttpRequest, scope: str, payload: ReportCreate
                ) -> Status[GeneratedReport]:
    first, last = selectors.period_clean(since=payload.since, until=payload.until)
    report = services.report_generate(
        scope=_scope(request, scope), kind=ReportKind.ADHOC, since=first, until=last,
        file_format=payload.file_format, actor=_caller(request),
    )
    return Status(201, report)


@router.get("/files/{report_id}", auth=logged_in, summary="Download a report file (audited)")
def file_download(request: HttpRequest, report_id: int) -> HttpResponse:
    export = exports.report_file_download(viewer=_caller(request), report_id=report_id,
                                          request=request)
    return file_response(export.content, export.content_type, export.filename)
