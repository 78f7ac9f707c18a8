"""Population per commune, in total and aged 18 and over: imported from a
spreadsheet (.xlsx or .csv: commune code and the two numbers), each import
kept with its figures. Coverage pages (vaccination) and the declarations
work divide by these numbers.

Who may load figures for a commune is decided by roles, which live above
places (accounts); the app that owns roles registers the rule at start-up
with ``population_scope_register`` (a hook, so that places imports nothing
above it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.core import spreadsheets
from truyvet.core.errors import NotAllowed
from truyvet.places.models import (
    AdministrativeUnit,
    Level,
    Population,
    PopulationFigure,
    PopulationImport,
    Scheme,
)

# The units a user may load figures for, or None for everywhere (a system
# admin); an empty list for no one. Registered by the roles' owner.
ScopeRule = Callable[[Any], "list[AdministrativeUnit] | None"]
_scope_rules: list[ScopeRule] = []

COLUMNS: dict[str, str] = {
    "commune": "Mã xã",
    "total": "Dân số",
    "adults": "Dân số từ 18 tuổi",
}
ALIASES: dict[str, tuple[str, ...]] = {
    "commune": ("ma xa", "ma xa/phuong", "ma xa/phuong/thi tran", "ma don vi", "ma dvhc",
                "commune", "commune code", "commune_code", "code"),
    "name": ("ten xa", "xa", "xa/phuong/thi tran", "ten don vi", "name"),
    "total": ("dan so", "tong dan so", "tong so dan", "so dan", "population", "total"),
    "adults": ("dan so tu 18 tuoi", "dan so tu 18 tuoi tro len", "tu 18 tuoi tro len",
               "dan so 18+", "18+", "tren 18 tuoi", "nguoi tu 18 tuoi tro len", "adults",
               "population 18+", "aged 18 and over"),
}
MAX_COMMUNES = 20_000  # the country has about 10,600


def population_scope_register(rule: ScopeRule) -> None:
    """Adds the rule that says where a user may load populations."""
    if rule not in _scope_rules:
        _scope_rules.append(rule)


def population_scope(user: Any) -> list[AdministrativeUnit] | None:
    """The units whose communes ``user`` may load figures for (None: all)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    units: list[AdministrativeUnit] = []
    for rule in _scope_rules:
        found = rule(user)
        if found is None:
            return None
        units.extend(found)
    return units


def can_load_population(user: Any, commune: AdministrativeUnit | None = None) -> bool:
    """Opens the population page at all (``commune`` None), or loads the
    figure of ``commune``."""
    scope = population_scope(user)
    if scope is None:
        return True
    if commune is None:
        return bool(scope)
    return any(unit.contains(commune) for unit in scope)


@dataclass(frozen=True)
class PopulationIssue:
    row: int
    column: str
    message: str | Promise
    code: str = "invalid"


@dataclass
class PopulationReport:
    filename: str
    rows: int = 0
    errors: list[PopulationIssue] = field(default_factory=list)
    batch: PopulationImport | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _whole_number(raw: Any) -> int | None:
    text = spreadsheets.cell_text(raw).replace(".", "").replace(",", "").replace(" ", "")
    if not text.isdigit():
        return None
    return int(text)


def population_import(
    *, actor: Any, file: IO[bytes], filename: str, scheme: str = Scheme.Y2021,
) -> PopulationReport:
    """Loads the communes' populations from a file. Every row is checked
    first (a known commune code in the official's area, whole numbers, the
    18+ figure not above the total, each commune once); with any error
    nothing is written and the report lists every one. ``actor`` None is
    the operator at the console (``truyvet load-population``)."""
    if actor is not None and not can_load_population(actor):
        raise NotAllowed(_("Chỉ cán bộ quản lý địa bàn được nhập dân số."))
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    with tempfile.TemporaryDirectory(prefix="truyvet-population-") as folder:
        path = Path(folder) / "upload"
        spreadsheets.copy_upload(file, path, max_bytes=limit)
        sheet = spreadsheets.open_sheet(path=path, filename=filename, max_bytes=limit,
                                        max_inflated=20 * limit)
        try:
            rows = sheet.rows()
            header = spreadsheets.find_header(rows, aliases=ALIASES, required=COLUMNS)
            parsed = list(_parse(rows, header))
        finally:
            sheet.close()
    report = PopulationReport(filename=Path(filename or "").name[:200])
    wanted = _check(parsed, header, report, scheme=scheme, actor=actor)
    if report.errors:
        return report
    if not wanted:
        report.errors.append(PopulationIssue(row=header.row, column="", code="no_rows",
                                             message=gettext_lazy("Tệp không có dòng số liệu "
                                                                  "nào dưới dòng tiêu đề.")))
        return report
    report.batch = _write(wanted, filename=report.filename, actor=actor)
    return report


@dataclass
class _Row:
    number: int
    values: dict[str, Any]


def _parse(rows: Iterable[tuple[int, list[Any]]], header: spreadsheets.Header
           ) -> Iterable[_Row]:
    count = 0
    for number, cells in rows:
        if not any(spreadsheets.cell_text(cell) for cell in cells):
            continue
        count += 1
        if count > MAX_COMMUNES:
            raise spreadsheets.refuse(
                _("Tệp có quá nhiều dòng: tối đa %(max)s xã mỗi lần nhập.")
                % {"max": f"{MAX_COMMUNES:,}".replace(",", ".")}, "too_many_rows")
        yield _Row(number, {key: cells[index] if index < len(cells) else None
                            for index, key in header.columns.items()})


def _check(rows: list[_Row], header: spreadsheets.Header, report: PopulationReport, *,
           scheme: str, actor: Any) -> list[tuple[AdministrativeUnit, int, int]]:
    codes = {spreadsheets.cell_text(row.values.get("commune")).zfill(5) for row in rows}
    communes: dict[str, AdministrativeUnit] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):
        for found in AdministrativeUnit.objects.filter(
            scheme=scheme, level=Level.COMMUNE, code__in=ordered[start:start + 500]
        ):
            communes[found.code] = found
    scope = population_scope(actor) if actor is not None else None
    label = header.labels.get
    seen: dict[int, int] = {}
    wanted = []
    for row in rows:
        report.rows += 1

        def issue(key: str, message: Any, code: str = "invalid", row: _Row = row) -> None:
            report.errors.append(PopulationIssue(row=row.number, column=label(key, key),
                                                 message=message, code=code))

        raw_code = spreadsheets.cell_text(row.values.get("commune"))
        unit: AdministrativeUnit | None = (communes.get(raw_code.zfill(5))
                                            if raw_code.isdigit() else None)
        if not raw_code:
            issue("commune", gettext_lazy("Thiếu mã xã."), "required")
        elif unit is None:
            issue("commune", gettext_lazy("Không có xã nào mã %(code)s.") % {"code": raw_code},
                  "unknown_commune")
        elif scope is not None and not any(outer.contains(unit) for outer in scope):
            issue("commune", gettext_lazy("Xã %(name)s không thuộc địa bàn bạn phụ trách.")
                  % {"name": unit.name}, "commune_out_of_scope")
        elif unit.pk in seen:
            issue("commune", gettext_lazy("Xã này đã có ở dòng %(row)s.") % {"row": seen[unit.pk]},
                  "duplicate")
        total = _whole_number(row.values.get("total"))
        adults = _whole_number(row.values.get("adults"))
        if total is None:
            issue("total", gettext_lazy("Dân số phải là một số nguyên không âm."))
        if adults is None:
            issue("adults", gettext_lazy("Dân số từ 18 tuổi phải là một số nguyên không âm."))
        if total is not None and adults is not None and adults > total:
            issue("adults", gettext_lazy("Dân số từ 18 tuổi (%(adults)s) lớn hơn dân số "
                                         "(%(total)s).") % {"adults": adults, "total": total},
                  "adults_over_total")
        if total is not None and total > 2_000_000_000:
            issue("total", gettext_lazy("Dân số quá lớn."))
        if unit is not None:
            seen.setdefault(unit.pk, row.number)
        if unit is not None and total is not None and adults is not None:
            wanted.append((unit, total, adults))
    return wanted


def _write(wanted: list[tuple[AdministrativeUnit, int, int]], *, filename: str,
           actor: Any) -> PopulationImport:
    now = timezone.now()
    with transaction.atomic():
        batch = PopulationImport.objects.create(
            filename=filename or "population", imported_at=now,
            imported_by=actor if getattr(actor, "is_authenticated", False) else None,
            communes=len(wanted), total=sum(total for _u, total, _a in wanted),
            adults=sum(adults for _u, _t, adults in wanted),
        )
        figures = PopulationFigure.objects.bulk_create(
            [PopulationFigure(batch=batch, commune=unit, total=total, adults=adults)
             for unit, total, adults in wanted],
            batch_size=1000,
        )
        Population.objects.bulk_create(
            [Population(commune=figure.commune, total=figure.total, adults=figure.adults,
                        figure=figure, updated_at=now) for figure in figures],
            batch_size=1000, update_conflicts=True, unique_fields=["commune"],
            update_fields=["total", "adults", "figure", "updated_at"],
        )
    return batch


# --- Reads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headcount:
    total: int = 0
    adults: int = 0
    communes: int = 0  # communes with a figure


def population_of(units: Iterable[AdministrativeUnit], *, using: str = "default"
                  ) -> dict[int, Headcount]:
    """The population of each unit (a commune, or the sum of the communes
    below a district or province), in one query: the communes under the
    units are read once and added up by their materialised paths."""
    wanted = {unit.path: unit.pk for unit in units}
    found: dict[int, list[int]] = {pk: [0, 0, 0] for pk in wanted.values()}
    if not wanted:
        return {}
    outer = [path for path in sorted(wanted)
             if not any(path != other and path.startswith(other) for other in wanted)]
    condition = Q()
    for path in outer:
        condition |= Q(commune__path__startswith=path)
    rows = Population.objects.using(using).filter(condition).values_list(
        "commune__path", "total", "adults")
    for path, total, adults in rows.iterator(chunk_size=2000):
        parts = path.rstrip("/").split("/")
        for depth in range(2, len(parts) + 1):
            pk = wanted.get("/".join(parts[:depth]) + "/")
            if pk is not None:
                counts = found[pk]
                counts[0] += total
                counts[1] += adults
                counts[2] += 1
    return {pk: Headcount(total=c[0], adults=c[1], communes=c[2]) for pk, c in found.items()}


def population_national(*, using: str = "default") -> Headcount:
    totals = Population.objects.using(using).aggregate(
        total=Sum("total"), adults=Sum("adults"), communes=Count("pk"))
    return Headcount(total=int(totals["total"] or 0), adults=int(totals["adults"] or 0),
                     communes=int(totals["communes"] or 0))


def population_rows_for(user: Any) -> QuerySet[Population]:
    """The current figures of the communes in the user's scope."""
    scope = population_scope(user)
    figures = Population.objects.select_related("commune", "commune__parent",
                                                "figure__batch").order_by("commune__path")
    if scope is None:
        return figures
    if not scope:
        return figures.none()
    condition = Q()
    for unit in scope:
        condition |= Q(commune__path__startswith=unit.path)
    return figures.filter(condition)


def population_imports_for(user: Any) -> QuerySet[PopulationImport]:
    """The imports that loaded a figure in the user's scope, newest first."""
    scope = population_scope(user)
    imports = PopulationImport.objects.select_related("imported_by__person")
    if scope is None:
        return imports
    if not scope:
        return imports.none()
    condition = Q()
    for unit in scope:
        condition |= Q(figures__commune__path__startswith=unit.path)
    return imports.filter(condition).distinct()
