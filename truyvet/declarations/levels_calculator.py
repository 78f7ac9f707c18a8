"""Suggests a commune's epidemic level from Decision 4800/QĐ-BYT's three
criteria (issue 14 item 4, decision 0016):

1. new community cases per 100,000 people per week: confirmed cases
   (tracing) of people who live in the commune, by their test day (or the
   day the case was recorded) over the seven days ending on the day asked,
   minus the cases the officer says were found in quarantine (tracing does
   not tell them apart), divided by the commune's population (places);
2. the share of people aged 18 and over with at least one dose: from the
   vaccination records of the commune's residents when there are any,
   otherwise the share the officer enters;
3. the officer's adjustment for treatment capacity (Decision 4800 raises the
   level of a locality that cannot treat its cases): -1, 0 or +1.

The matrix that turns (1) and (2) into a level is ``LevelThreshold``, a
table the province edits. Only level 1 below 20 cases is seeded; without
the province's rows most communes get no suggestion, and the page says why.
A suggestion is never applied by itself: an official sets the level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.core.errors import ErrorCollector, NotAllowed, NotFound
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.core.text import clean_line
from truyvet.core.time import local_day, period_bounds
from truyvet.declarations import levels_permissions as permissions
from truyvet.declarations.level_thresholds import LevelThreshold
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.population import population_of
from truyvet.tracing.models import Case as TracingCase
from truyvet.tracing.models import CaseOutcome, Classification
from truyvet.vaccination.models import Measure
from truyvet.vaccination.selectors import coverage_for_unit

WEEK_DAYS = 7
ADJUSTMENTS = (-1, 0, 1)


@dataclass
class Suggestion:
    commune: AdministrativeUnit
    day: date
    cases: int = 0  # confirmed cases of residents in the week
    excluded: int = 0  # found in quarantine, as the officer said
    population: int | None = None
    adults: int | None = None
    cases_per_100k: float | None = None
    coverage: float | None = None  # % of 18+ with >= 1 dose
    coverage_source: str = ""  # "records", "entered" or ""
    base_level: int | None = None
    adjustment: int = 0
    level: int | None = None
    threshold: LevelThreshold | None = None
    province_table: bool = False  # the province's own rows, not the seed
    notes: list[str] = field(default_factory=list)


def _week_cases(commune: AdministrativeUnit, day: date) -> int:
    first = day - timedelta(days=WEEK_DAYS - 1)
    start, end = period_bounds(first, day)
    return (
        TracingCase.objects.filter(person__commune=commune,
                                   classification=Classification.CONFIRMED)
        .exclude(outcome=CaseOutcome.NOT_A_CASE)
        .filter(Q(test_date__range=(first, day))
                | Q(test_date__isnull=True, created_at__gte=start, created_at__lt=end))
        .count()
    )


def _coverage_from_records(commune: AdministrativeUnit, adults: int | None) -> float | None:
    if not adults:
        return None
    counted = coverage_for_unit(unit=commune).totals.adults.get(int(Measure.FIRST_DOSE), 0)
    return 100.0 * counted / adults if counted else None


def thresholds_for(province: AdministrativeUnit | None) -> tuple[list[LevelThreshold], bool]:
    """The province's own rows if it entered any, else the seed rows; and
    whether they are the province's."""
    if province is not None:
        own = list(LevelThreshold.objects.filter(province=province))
        if own:
            return own, True
    return list(LevelThreshold.objects.filter(province__isnull=True)), False


def _matches(row: LevelThreshold, cases: float, coverage: float | None) -> bool:
    if cases < float(row.min_cases):
        return False
    if row.max_cases is not None and cases >= float(row.max_cases):
        return False
    if row.min_coverage is None and row.max_coverage is None:
        return True
    if coverage is None:
        return False
    if row.min_coverage is not None and coverage < float(row.min_coverage):
        return False
    return row.max_coverage is None or coverage < float(row.max_coverage)


def _province_of(commune: AdministrativeUnit) -> AdministrativeUnit | None:
    code = commune.path.strip("/").split("/")[1:2]
    return (AdministrativeUnit.objects.filter(scheme=commune.scheme, code=code[0],
                                              level=Level.PROVINCE).first() if code else None)


def _number(raw: Any, errors: ErrorCollector, name: str, *, low: float, high: float | None,
            message: str) -> float | None:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(str(raw).strip().replace(",", "."))
    except ValueError:
        errors.add(name, message, code="invalid")
        return None
    if value != value or value < low or (high is not None and value > high):  # NaN too
        errors.add(name, message, code="out_of_range")
        return None
    return value


def level_suggest(
    *,
    commune: AdministrativeUnit,
    day: date | None = None,
    coverage_entered: Any = None,
    quarantine_cases: Any = None,
    capacity_adjustment: Any = None,
) -> Suggestion:
    """The suggested level of ``commune`` for the week ending ``day``
    (today by default). Bad figures are refused with every problem named."""
    errors = ErrorCollector()
    if commune.level != Level.COMMUNE:
        raise NotFound(_("Không tìm thấy xã này."), code="unknown_commune")
    entered = _number(coverage_entered, errors, "coverage", low=0, high=100,
                      message=_("Tỷ lệ tiêm phải là số phần trăm từ 0 đến 100."))
    excluded = _number(quarantine_cases, errors, "quarantine_cases", low=0, high=None,
                       message=_("Số ca trong khu cách ly phải là số nguyên không âm."))
    if excluded is not None and excluded != int(excluded):
        errors.add("quarantine_cases", _("Số ca trong khu cách ly phải là số nguyên không âm."),
                   code="invalid")
    adjustment = _number(capacity_adjustment, errors, "capacity_adjustment", low=-1, high=1,
                         message=_("Điều chỉnh theo năng lực điều trị chỉ là -1, 0 hoặc +1."))
    if adjustment is not None and adjustment not in ADJUSTMENTS:
        errors.add("capacity_adjustment",
                   _("Điều chỉnh theo năng lực điều trị chỉ là -1, 0 hoặc +1."), code="invalid")
    errors.raise_if_any(_("Chưa tính được cấp độ gợi ý."))
    day = day or local_day(timezone.now())
    found = Suggestion(commune=commune, day=day, adjustment=int(adjustment or 0))
    found.cases = _week_cases(commune, day)
    found.excluded = min(int(excluded or 0), found.cases)
    head = population_of([commune]).get(commune.pk)
    if head is not None and head.communes:
        found.population, found.adults = head.total, head.adults
    if not found.population:
        found.notes.append(_("Chưa có dân số của xã: hãy nhập dân số trước."))
    else:
        community = found.cases - found.excluded
        found.cases_per_100k = round(community * 100_000 / found.population, 1)
    recorded = _coverage_from_records(commune, found.adults)
    if recorded is not None:
        found.coverage, found.coverage_source = round(recorded, 1), "records"
    elif entered is not None:
        found.coverage, found.coverage_source = entered, "entered"
    rows, found.province_table = thresholds_for(_province_of(commune))
    if found.cases_per_100k is not None:
        matching = [r for r in rows if _matches(r, found.cases_per_100k, found.coverage)]
        if matching:
            # A well-formed matrix has one cell per pair; if the province's
            # rows overlap, the stricter level is the safer suggestion.
            found.threshold = max(matching, key=lambda r: r.level)
            found.base_level = found.threshold.level
            found.level = min(4, max(1, found.base_level + found.adjustment))
        else:
            found.notes.append(_("Bảng ngưỡng chưa có ô cho số ca và tỷ lệ tiêm này: tỉnh cần "
                                 "nhập đầy đủ ma trận của Quyết định 4800."))
    return found


# --- The province's table -----------------------------------------------------------


def level_threshold_add(*, actor: Any, province: AdministrativeUnit, level: Any, min_cases: Any,
                        max_cases: Any = None, min_coverage: Any = None,
                        max_coverage: Any = None, source: str = "") -> LevelThreshold:
    """Adds a row to ``province``'s table; refused unless ``actor`` is a
    province official of it (or an administrator)."""
    if not permissions.can_edit_thresholds(actor, province):
        raise NotAllowed(_("Chỉ cán bộ tỉnh được sửa bảng ngưỡng của tỉnh."))
    errors = ErrorCollector()
    number = _number(level, errors, "level", low=1, high=4,
                     message=_("Cấp độ dịch phải là 1, 2, 3 hoặc 4."))
    if level in (None, "") or (number is not None and number != int(number)):
        errors.add("level", _("Cấp độ dịch phải là 1, 2, 3 hoặc 4."), code="level_out_of_range")
    low = _number(min_cases, errors, "min_cases", low=0, high=None,
                  message=_("Số ca phải là số không âm."))
    high = _number(max_cases, errors, "max_cases", low=0, high=None,
                   message=_("Số ca phải là số không âm."))
    if low is not None and high is not None and high <= low:
        errors.add("max_cases", _("Cận trên số ca phải lớn hơn cận dưới."), code="invalid")
    cov_low = _number(min_coverage, errors, "min_coverage", low=0, high=100,
                      message=_("Tỷ lệ tiêm phải là số phần trăm từ 0 đến 100."))
    cov_high = _number(max_coverage, errors, "max_coverage", low=0, high=100,
                       message=_("Tỷ lệ tiêm phải là số phần trăm từ 0 đến 100."))
    if cov_low is not None and cov_high is not None and cov_high <= cov_low:
        errors.add("max_coverage", _("Cận trên tỷ lệ tiêm phải lớn hơn cận dưới."),
                   code="invalid")
    source = clean_line(source, errors, "source")[:300]
    errors.raise_if_any(_("Chưa thêm được ngưỡng."))
    assert number is not None
    with transaction.atomic():
        row = LevelThreshold.objects.create(
            province=province, level=int(number), min_cases=Decimal(str(low or 0)),
            max_cases=Decimal(str(high)) if high is not None else None,
            min_coverage=Decimal(str(cov_low)) if cov_low is not None else None,
            max_coverage=Decimal(str(cov_high)) if cov_high is not None else None,
            source=source, updated_by=actor, updated_at=timezone.now())
        _audit_row(actor, row, "added")
        return row


def _audit_row(actor: Any, row: LevelThreshold, change: str) -> None:
    audit_record(actor=actor, action=AuditAction.STATUS_CHANGE,
                 purpose=_("Sửa bảng ngưỡng cấp độ dịch"), target=f"level_threshold:{row.pk}",
                 unit=row.province, detail={"change": change, "level": row.level,
                                            "min_cases": str(row.min_cases),
                                            "max_cases": str(row.max_cases),
                                            "min_coverage": str(row.min_coverage),
                                            "max_coverage": str(row.max_coverage)})


def level_threshold_delete(*, actor: Any, threshold_id: int) -> None:
    row = LevelThreshold.objects.filter(pk=threshold_id, province__isnull=False).first()
    if row is None:
        raise NotFound(_("Không tìm thấy ngưỡng này."))
    if not permissions.can_edit_thresholds(actor, row.province):
        raise NotAllowed(_("Chỉ cán bộ tỉnh được sửa bảng ngưỡng của tỉnh."))
    with transaction.atomic():
        _audit_row(actor, row, "removed")
        row.delete()
