"""API input and output for reports.

Inputs forbid unknown fields and check only shape; the services and
selectors check meaning, so the API and the pages give the same messages.
Dashboards carry counts only; the inactive-venue list carries owners'
phones in full (officers call them) and every read of it is audited.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- Inputs ---------------------------------------------------------------------------------


class RemindersIn(StrictIn):
    venue_codes: list[str] = Field(max_length=1000,
                                   description="Codes of inactive venues to remind (≤ 200)")


class RemindersMatchingIn(StrictIn):
    commune: int | None = Field(None, description="A commune (unit id) of the scope")
    venue_type: str = Field("", max_length=20, description="Only venues of this type")


class ReportCreate(StrictIn):
    since: date | None = Field(None, description="First day (local); default 14 days back")
    until: date | None = Field(None, description="Last day (local), inclusive; default today")
    file_format: str = Field("pdf", max_length=4, description="`pdf` or `xlsx`")


# --- Outputs --------------------------------------------------------------------------------


class ScopeRead(Schema):
    scope: str = Field(description="`nation` or the unit's id: the {scope} of the other paths")
    unit_id: int | None
    code: str
    name: str
    full_name: str
    level: int = Field(description="0 the country, 1 province, 2 district, 3 commune")

    @staticmethod
    def resolve_scope(scope: Any) -> str:
        return str(scope.slug)

    @staticmethod
    def resolve_unit_id(scope: Any) -> int | None:
        return scope.unit.pk if scope.unit is not None else None

    @staticmethod
    def resolve_code(scope: Any) -> str:
        return scope.unit.code if scope.unit is not None else ""


class FiguresRead(Schema):
    registered: int = Field(description="Venues on record, closed ones excepted")
    suspended: int
    pending: int
    active_1d: int = Field(description="With a visit in the day before `as_of`")
    active_7d: int = Field(description="With a visit in the 7 days before `as_of`")
    inactive_7d: int = Field(description="registered - active_7d")
    share_active_7d: float | None = Field(description="Percent; null without venues")
    scans: int = Field(description="Visits in the period")
    people_per_day: float = Field(description="Distinct people per day, averaged")


class DayRead(Schema):
    day: date
    scans: int
    people: int = Field(description="Distinct people that day")


class UnitRowRead(Schema):
    unit_id: int = Field(alias="unit.pk")
    code: str = Field(alias="unit.code")
    name: str = Field(alias="unit.name")
    epidemic_level: int | None = Field(description="1–4 (green…red); null until set")
    figures: FiguresRead
    days: list[DayRead]


class TypeRowRead(Schema):
    venue_type: str
    label: str
    figures: FiguresRead
    days: list[DayRead]


class DashboardRead(Schema):
    scope: ScopeRead
    since: date
    until: date
    as_of: datetime = Field(description="Activity windows end here: now, or the period's end")
    live: bool
    counted_until: datetime | None = Field(
        description="Scans written before this are counted; later ones are still being "
                    "added (a few seconds). Null: every scan written is counted")
    totals: FiguresRead
    units: list[UnitRowRead] = Field(description="The scope's communes, districts or provinces")
    types: list[TypeRowRead]
    days: list[DayRead]


class OwnerRead(Schema):
    name: str
    phone: str


class InactiveVenueRead(Schema):
    """An inactive venue, read from its activity row (``entry.venue``)."""

    code: str = Field(alias="venue.code")
    name: str = Field(alias="venue.name")
    venue_type: str = Field(alias="venue.venue_type")
    commune: str = Field(alias="venue.commune.name")
    street: str = Field(alias="venue.street")
    status: str = Field(alias="venue.status")
    last_scan_at: datetime | None
    reminders: int = Field(description="SMS reminders since the last scan")
    last_reminded_on: date | None
    suggest_suspension: bool
    owners: list[OwnerRead]


class InactivePageRead(Schema):
    total: int
    offset: int
    limit: int
    venues: list[InactiveVenueRead]


class ReminderRead(Schema):
    code: str
    name: str
    sent: bool
    reason: str = Field(description="`not_active`, `has_scans` or `already_today` when not sent")
    message: str
    recipients: int
    reminders: int = Field(description="Reminders since the last scan, this one included")

    @staticmethod
    def resolve_message(outcome: Any) -> str:
        return str(outcome.message)


class ReportRead(Schema):
    id: int
    scope: str
    kind: str
    since: date
    until: date
    file_format: str
    size: int
    created_at: datetime
    download: str

    @staticmethod
    def resolve_scope(report: Any) -> str:
        return str(report.unit_id) if report.unit_id else "nation"

    @staticmethod
    def resolve_download(report: Any) -> str:
        return f"/api/v1/reports/files/{report.pk}"
