"""Epidemic levels over JSON, mounted at /api/v1/levels/ by truyvet/api.py:
the public feed and a commune's history (no login), setting a level, the
calculator and the thresholds (officials), and the residents of level-4
communes (their commune and district officials)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from truyvet.core.api_auth import logged_in
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.declarations import levels_calculator as calculator
from truyvet.declarations import levels_permissions as permissions
from truyvet.declarations import levels_selectors as selectors
from truyvet.declarations import residents
from truyvet.declarations.level_thresholds import LevelThreshold
from truyvet.places.levels import (
    commune_for_level,
    commune_levels_set,
    entry_badge,
    level_badge,
)
from truyvet.places.models import AdministrativeUnit, Level, Scheme

router = Router(tags=["levels"])
Day = date  # a field named "date" hides the type inside a schema's body


def _caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class LevelOut(Schema):
    level: int
    label: str = Field(description="The level in words, in the request's language")
    colour: str = Field(description="green, yellow, orange or red")
    colour_name: str
    effective_from: date | None


class AreaOut(Schema):
    code: str
    name: str
    communes_by_level: dict[str, int] = Field(
        description='Communes at each level on the day; "none": no level set yet')


class CommuneOut(Schema):
    code: str
    name: str
    level: LevelOut | None


class FeedOut(Schema):
    as_of: date
    last_change: Any = Field(description="When a level below this unit was last set (ISO time)")
    unit: str | None
    areas: list[AreaOut]
    communes: list[CommuneOut]
    level: LevelOut | None = Field(description="For a commune: its level on the day")
    note: str


class FeedFilter(Schema):
    unit: str | None = Field(None, description="A province, district or commune code; none "
                             "for every province")
    date: Day | None = Field(None, description="The day to read (default today)")


def _level(badge: Any) -> dict[str, Any] | None:
    return badge.as_dict() if badge is not None else None


@router.get("/", response=FeedOut, url_name="levels_feed",
            summary="Epidemic levels: provinces, a province's districts or a district's communes")
def feed(request: HttpRequest, filters: Query[FeedFilter]) -> dict[str, Any]:
    """Public. Counts of communes per level for provinces and districts, each
    commune's level for a district, one commune's level for a commune."""
    overview = selectors.levels_overview(code=filters.unit, day=filters.date)
    return {
        "as_of": overview.day,
        "last_change": overview.last_change.isoformat() if overview.last_change else None,
        "unit": overview.unit.code if overview.unit else None,
        "areas": [{"code": a.unit.code, "name": a.unit.name, "communes_by_level": a.counts}
                  for a in overview.areas],
        "communes": [{"code": c.unit.code, "name": c.unit.name, "level": _level(c.badge)}
                     for c in overview.communes],
        "level": _level(overview.badge),
        "note": _("Cấp độ dịch theo Nghị quyết 128/NQ-CP do huyện, tỉnh công bố."),
    }


class HistoryOut(Schema):
    level: LevelOut
    reason: str
    set_at: Any


@router.get("/communes/{code}/history", response=list[HistoryOut], url_name="levels_history",
            summary="Every level a commune was given, the latest effective first")
def history(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    overview = selectors.levels_overview(code=code)
    if overview.unit is None or overview.unit.level != Level.COMMUNE:
        raise NotFound(_("Không tìm thấy xã này."), code="unknown_commune")
    return [{"level": _level(entry_badge(e)), "reason": e.reason,
             "set_at": e.created_at.isoformat()} for e in overview.history]


class LevelSetIn(Schema):
    unit: str = Field(description="A commune code, or a district code for all its communes")
    level: int
    effective_from: date
    reason: str = ""


class LevelChangeOut(Schema):
    commune: str
    previous: int | None
    level: LevelOut


def _target(code: str) -> AdministrativeUnit:
    unit = AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, code=code.strip()).first()
    return commune_for_level(unit.pk if unit else None)


@router.post("/", response={201: list[LevelChangeOut]}, auth=logged_in, url_name="levels_set",
             summary="Set the level of a commune, or of every commune of a district")
def set_level(request: HttpRequest, payload: LevelSetIn) -> Any:
    """District and province officers, in their area. A level outside 1–4,
    or an effective date before a commune's latest one without a reason,
    answers 400 and nothing is saved."""
    user = _caller(request)
    unit = _target(payload.unit)
    if not permissions.can_set_level(user, unit):
        raise NotAllowed(_("Chỉ cán bộ huyện, tỉnh phụ trách địa bàn được đặt cấp độ dịch."))
    changes = commune_levels_set(actor=user, unit=unit, level=payload.level,
                                 effective_from=payload.effective_from, reason=payload.reason,
                                 request=request)
    return Status(201, [{"commune": c.commune.code,
                         "previous": c.previous.level if c.previous else None,
                         "level": _level(entry_badge(c.entry))} for c in changes])


class SuggestFilter(Schema):
    commune: str
    date: Day | None = None
    coverage: str | None = Field(None, description="% of 18+ with ≥ 1 dose, used when there "
                                 "are no vaccination records")
    quarantine_cases: str | None = None
    capacity_adjustment: str | None = Field(None, description="-1, 0 or +1")


class SuggestOut(Schema):
    commune: str
    day: date
    cases: int
    quarantine_cases: int
    population: int | None
    cases_per_100k: float | None
    coverage: float | None
    coverage_source: str
    base_level: int | None
    capacity_adjustment: int
    suggested: LevelOut | None
    province_table: bool
    notes: list[str]


@router.get("/suggest", response=SuggestOut, auth=logged_in, url_name="levels_suggest",
            summary="The level Decision 4800's criteria suggest for a commune")
def suggest(request: HttpRequest, filters: Query[SuggestFilter]) -> dict[str, Any]:
    user = _caller(request)
    commune = _target(filters.commune)
    if not permissions.can_set_level(user, commune):
        raise NotAllowed(_("Chỉ cán bộ huyện, tỉnh phụ trách địa bàn được đặt cấp độ dịch."))
    found = calculator.level_suggest(
        commune=commune, day=filters.date, coverage_entered=filters.coverage,
        quarantine_cases=filters.quarantine_cases,
        capacity_adjustment=filters.capacity_adjustment)
    return {
        "commune": commune.code, "day": found.day, "cases": found.cases,
        "quarantine_cases": found.excluded, "population": found.population,
        "cases_per_100k": found.cases_per_100k, "coverage": found.coverage,
        "coverage_source": found.coverage_source, "base_level": found.base_level,
        "capacity_adjustment": found.adjustment,
        "suggested": _level(level_badge(found.level)) if found.level else None,
        "province_table": found.province_table, "notes": [str(n) for n in found.notes],
    }


class ThresholdOut(Schema):
    id: int
    province: str | None
    min_cases: float
    max_cases: float | None
    min_coverage: float | None
    max_coverage: float | None
    level: int
    source: str

    @staticmethod
    def resolve_province(obj: LevelThreshold) -> str | None:
        return obj.province.code if obj.province else None


class ThresholdsOut(Schema):
    province_table: bool
    rows: list[ThresholdOut]
    note: str


@router.get("/thresholds", response=ThresholdsOut, url_name="levels_thresholds",
            summary="The thresholds the calculator uses for a province")
def thresholds(request: HttpRequest, province: str | None = None) -> dict[str, Any]:
    """Public: the criteria are published. Without the province's own rows,
    the seed rows (only level 1 below 20 cases per 100,000 per week)."""
    unit = (AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, code=province.strip(),
                                              level=Level.PROVINCE).first()
            if province else None)
    if province and unit is None:
        raise NotFound(_("Không tìm thấy tỉnh này."), code="unknown_province")
    rows, own = calculator.thresholds_for(unit)
    return {"province_table": own, "rows": rows, "note": _(
        "Chỉ ô cấp 1 (dưới 20 ca/100.000 dân/tuần) được điền sẵn; tỉnh phải nhập đầy đủ ma "
        "trận của Quyết định 4800/QĐ-BYT.")}


class ThresholdIn(Schema):
    province: str
    level: int
    min_cases: float = 0
    max_cases: float | None = None
    min_coverage: float | None = None
    max_coverage: float | None = None
    source: str = ""


@router.post("/thresholds", response={201: ThresholdOut}, auth=logged_in,
             url_name="levels_threshold_add", summary="Add a row to a province's thresholds")
def threshold_add(request: HttpRequest, payload: ThresholdIn) -> Any:
    unit = AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, code=payload.province.strip(),
                                             level=Level.PROVINCE).first()
    if unit is None:
        raise NotFound(_("Không tìm thấy tỉnh này."), code="unknown_province")
    row = calculator.level_threshold_add(
        actor=_caller(request), province=unit, level=payload.level,
        min_cases=payload.min_cases, max_cases=payload.max_cases,
        min_coverage=payload.min_coverage, max_coverage=payload.max_coverage,
        source=payload.source)
    return Status(201, row)


@router.delete("/thresholds/{threshold_id}", response={204: None}, auth=logged_in,
               url_name="levels_threshold_delete", summary="Remove a row of a province's table")
def threshold_delete(request: HttpRequest, threshold_id: int) -> Any:
    calculator.level_threshold_delete(actor=_caller(request), threshold_id=threshold_id)
    return Status(204, None)


class ResidentOut(Schema):
    name: str = Field(description="Masked")
    birth_year: int | None
    sex: str
    masked_id: str
    masked_phone: str
    street: str = Field(description="House numbers removed")


class ResidentsOut(Schema):
    commune: str
    level: LevelOut
    total: int
    page: int
    pages: int
    items: list[ResidentOut]


@router.get("/residents/{code}", response=ResidentsOut, auth=logged_in,
            url_name="levels_residents", summary="Residents of a commune at level 4 (masked)")
def residents_list(request: HttpRequest, code: str, page: int = 1) -> dict[str, Any]:
    """The commune's and its district's officers, while the commune is at
    level 4 today. Every call is audited, with each person listed."""
    found = residents.residents_of(viewer=_caller(request), code=code, page=page,
                                   request=request)
    return {"commune": found.commune.code, "level": found.badge.as_dict(), "total": found.total,
            "page": found.page.number, "pages": found.page.paginator.num_pages,
            "items": [r.__dict__ for r in found.rows]}


@router.get("/residents/{code}/export", auth=logged_in, url_name="levels_residents_export",
            summary="Residents of a commune at level 4 as XLSX (masked)",
            response={200: None})
def residents_export(request: HttpRequest, code: str) -> HttpResponse:
    name, content = residents.residents_xlsx(viewer=_caller(request), code=code,
                                             request=request)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
