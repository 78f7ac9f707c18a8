"""Epidemic levels per commune (Resolution 128/NQ-CP; issue 14, decision 0016).

A commune's level is a dated history (``CommuneLevel``): each entry holds
from its ``effective_from`` (a local day) until the next entry of the same
commune. The level of a commune on a day is the entry with the latest
``effective_from`` on or before that day (the latest written, when two share
a day). Nothing is ever edited: a correction is a new entry, and every change
is written to the audit log.

Reads (``commune_level_at`` and its bulk variants) are used by check-ins (the
level of a venue's commune at the time of a visit), by declarations (a
checkpoint scan, the calculator, the residents of level-4 communes) and by
the public page. Who may set a level is decided by roles, which live above
places: the caller (declarations) checks it before calling ``commune_levels_set``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.core.errors import ErrorCollector, NotFound
from truyvet.core.memory import KeptInProcess
from truyvet.core.models import AuditAction
from truyvet.core.rawrows import columns_of, instance_from_row
from truyvet.core.services import audit_event, audit_record_all
from truyvet.core.text import clean_line
from truyvet.core.time import local_day
from truyvet.places.models import AdministrativeUnit, CommuneLevel, EpidemicLevel, Level

LEVELS = (1, 2, 3, 4)
REASON_MAX = 500
# A level may be declared ahead or entered for the past (back-filling the
# 2021 declarations), but not before the epidemic reached Vietnam (the first
# case: 23 January 2020) nor more than a year ahead: such a date is a typo
# (1021 or 2201 for 2021).
EARLIEST = date(2020, 1, 1)
MAX_DAYS_AHEAD = 366

# Colour and words together, never colour alone (WCAG 1.4.1): the CSS class,
# the colour's name, and the level's label (EpidemicLevel).
COLOURS: dict[int, tuple[str, str | Promise]] = {
    1: ("green", gettext_lazy("Xanh")),
    2: ("yellow", gettext_lazy("Vàng")),
    3: ("orange", gettext_lazy("Cam")),
    4: ("red", gettext_lazy("Đỏ")),
}


@dataclass(frozen=True)
class LevelBadge:
    """What a page shows for a level: "Cấp 2 – Nguy cơ trung bình (Vàng)" on
    a yellow background."""

    level: int
    label: str
    colour: str  # css: green, yellow, orange, red
    colour_name: str
    effective_from: date | None = None

    @property
    def text(self) -> str:
        return f"{self.label} ({self.colour_name})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "label": self.label,
            "colour": self.colour,
            "colour_name": self.colour_name,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
        }


def level_badge(level: int, effective_from: date | None = None) -> LevelBadge:
    """The colour and words for ``level`` (1–4) in the active language."""
    colour, colour_name = COLOURS[level]
    return LevelBadge(level=level, label=str(EpidemicLevel(level).label), colour=colour,
                      colour_name=str(colour_name), effective_from=effective_from)


def entry_badge(entry: CommuneLevel | None) -> LevelBadge | None:
    return level_badge(entry.level, entry.effective_from) if entry is not None else None


def _day(at: date | datetime | None) -> date:
    if at is None:
        return local_day(timezone.now())
    if isinstance(at, datetime):
        return local_day(at)
    return at


def _commune_id(commune: AdministrativeUnit | int) -> int:
    return commune if isinstance(commune, int) else commune.pk


# --- Reads --------------------------------------------------------------------------


def commune_level_at(
    commune: AdministrativeUnit | int, at: date | datetime | None = None
) -> CommuneLevel | None:
    """The entry in force for ``commune`` on the local day of ``at`` (a date,
    an aware datetime, or None for today); None when no level was set yet."""
    return (
        CommuneLevel.objects.filter(commune_id=_commune_id(commune), effective_from__lte=_day(at))
        .order_by("-effective_from", "-id")
        .first()
    )


def commune_levels_at(
    communes: Iterable[AdministrativeUnit | int], at: date | datetime | None = None,
    *, cached: bool = False,
) -> dict[int, CommuneLevel]:
    """``commune_level_at`` for many communes on one day, in one query:
    {commune id: entry}; communes without a level are left out.

    With ``cached`` (a checkpoint scan), each commune's history comes from
    the process's memory for ``LEVELS_CACHE_SECONDS``; the entries are
    shared, read them only."""
    ids = {_commune_id(c) for c in communes}
    if not ids:
        return {}
    day = _day(at)
    if cached:
        found: dict[int, CommuneLevel] = {}
        for commune_id, history in _histories(ids).items():
            in_force = [entry for entry in history if entry.effective_from <= day]
            if in_force:
                found[commune_id] = in_force[-1]
        return found
    return {commune_id: history[-1]
            for commune_id, history in _histories_read(ids, until=day).items()}


def _histories_read(ids: set[int], *, until: date | None = None
                    ) -> dict[int, list[CommuneLevel]]:
    """The communes' entries (effective by ``until`` when given) in the
    order they hold, {commune id: entries}; communes without one are left
    out. Hand-written, and ordered here rather than by ORDER BY: a commune
    has a few entries, and on a checkpoint scan the ORM's building of the
    query cost more than running it."""
    table = connection.ops.quote_name(CommuneLevel._meta.db_table)
    sql = (f"SELECT {columns_of(CommuneLevel, table, connection)} FROM {table} "  # noqa: S608 - names from the models, values bound
           f"WHERE commune_id IN ({', '.join(['%s'] * len(ids))})")
    values: list[Any] = list(ids)
    if until is not None:
        sql += " AND effective_from <= %s"
        values.append(connection.ops.adapt_datefield_value(until))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    histories: dict[int, list[CommuneLevel]] = defaultdict(list)
    for row in rows:
        entry: CommuneLevel = instance_from_row(CommuneLevel, connection, row)
        histories[entry.commune_id].append(entry)
    for history in histories.values():
        history.sort(key=lambda entry: (entry.effective_from, entry.pk))
    return histories


# Each commune's level history kept in the process for a checkpoint scan
# (decision 0015): levels are set for a day, rarely, and by officials; a
# scan read them on every pass. A level set or an entry saved through this
# process is seen at once (``commune_levels_cache_clear``); another process
# sees it within the bound.
LEVELS_CACHE_SECONDS = 5.0
_HISTORIES: KeptInProcess[int, list[CommuneLevel]] = KeptInProcess(LEVELS_CACHE_SECONDS)


def _histories(ids: set[int]) -> dict[int, list[CommuneLevel]]:
    """Every commune of ``ids`` with its history, empty when it has none."""
    return _HISTORIES.many(ids, _histories_read, absent=list)


def commune_levels_cache_clear(**_signal: Any) -> None:
    """Forgets the histories kept (also a receiver of ``CommuneLevel``'s
    ``post_save`` and ``post_delete``)."""
    _HISTORIES.clear()


def commune_levels_on(
    visits: Iterable[tuple[int, date | datetime]],
) -> dict[tuple[int, date], CommuneLevel]:
    """The level of each (commune id, moment) pair, for a list whose rows fall
    on different days (a check-in history): one query for all of them.
    Keyed by (commune id, local day); pairs without a level are left out."""
    wanted = {(commune_id, _day(at)) for commune_id, at in visits if commune_id is not None}
    if not wanted:
        return {}
    last_day = max(day for _c, day in wanted)
    by_commune: dict[int, list[CommuneLevel]] = defaultdict(list)
    rows = (
        CommuneLevel.objects.filter(commune_id__in={c for c, _d in wanted},
                                    effective_from__lte=last_day)
        .order_by("commune_id", "effective_from", "id")
    )
    for entry in rows:
        by_commune[entry.commune_id].append(entry)
    found: dict[tuple[int, date], CommuneLevel] = {}
    for commune_id, day in wanted:
        entries = by_commune.get(commune_id)
        if not entries:
            continue
        # the last entry whose effective_from <= day (ties: the latest id, last in order)
        index = bisect.bisect_right([e.effective_from for e in entries], day)
        if index:
            found[(commune_id, day)] = entries[index - 1]
    return found


def with_levels(
    units: QuerySet[AdministrativeUnit], at: date | datetime | None = None
) -> QuerySet[AdministrativeUnit]:
    """``units`` annotated with ``epidemic_level`` and ``level_since`` as of
    the day of ``at`` (None where no level was set)."""
    current = (
        CommuneLevel.objects.filter(commune_id=OuterRef("pk"), effective_from__lte=_day(at))
        .order_by("-effective_from", "-id")
    )
    return units.annotate(
        epidemic_level=Subquery(current.values("level")[:1]),
        level_since=Subquery(current.values("effective_from")[:1]),
    )


def level_history(commune: AdministrativeUnit | int) -> QuerySet[CommuneLevel]:
    """Every entry of ``commune``, the latest effective first."""
    return (
        CommuneLevel.objects.filter(commune_id=_commune_id(commune))
        .select_related("set_by")
        .order_by("-effective_from", "-id")
    )


def levels_exist() -> bool:
    """Whether any level was ever set (pages hide their level column until then)."""
    return CommuneLevel.objects.exists()


def last_change(under: AdministrativeUnit | None = None) -> datetime | None:
    """When a level was last set, everywhere or below ``under``."""
    rows = CommuneLevel.objects.all()
    if under is not None:
        rows = rows.filter(commune__path__startswith=under.path)
    return rows.aggregate(last=Max("created_at"))["last"]


def communes_at_level(level: int, at: date | datetime | None = None,
                      under: AdministrativeUnit | None = None) -> list[AdministrativeUnit]:
    """The communes (below ``under``) whose level on the day of ``at`` is ``level``."""
    units = AdministrativeUnit.objects.filter(level=Level.COMMUNE)
    if under is not None:
        units = units.filter(path__startswith=under.path)
    units = units.filter(pk__in=CommuneLevel.objects.values("commune_id"))
    return [u for u in with_levels(units.select_related("parent", "parent__parent"), at)
            if u.epidemic_level == level]  # type: ignore[attr-defined]


# --- Writes -------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelChange:
    commune: AdministrativeUnit
    previous: CommuneLevel | None
    entry: CommuneLevel


def target_communes(unit: AdministrativeUnit) -> list[AdministrativeUnit]:
    """The communes a level set on ``unit`` applies to: the commune itself,
    or every commune of a district. A province is refused by the caller."""
    if unit.level == Level.COMMUNE:
        return [unit]
    return list(
        AdministrativeUnit.objects.filter(path__startswith=unit.path, level=Level.COMMUNE)
        .select_related("parent", "parent__parent").order_by("path")
    )


def commune_for_level(unit_id: int | None, *, field: str = "unit") -> AdministrativeUnit:
    """The commune or district a level is set on; NotFound when unknown."""
    unit = (
        AdministrativeUnit.objects.select_related("parent", "parent__parent")
        .filter(pk=unit_id).first() if unit_id else None
    )
    if unit is None or unit.level == Level.PROVINCE:
        raise NotFound(_("Không tìm thấy xã hoặc huyện này."), code="unknown_commune")
    return unit


def commune_levels_set(
    *,
    actor: Any,
    unit: AdministrativeUnit,
    level: Any,
    effective_from: Any,
    reason: str,
    request: Any = None,
    today: date | None = None,
) -> list[LevelChange]:
    """Sets ``level`` from ``effective_from`` on the commune ``unit`` or on
    every commune of the district ``unit``. Validates everything first and
    writes in one transaction (all communes or none), with one audit event
    per commune. The caller has checked that ``actor`` may set levels there.

    Refused: a level outside 1–4; a missing or far-off effective date; an
    effective date before a commune's latest entry without a reason (a
    back-dated change rewrites what the past looked like, so it must say why).
    """
    errors = ErrorCollector()
    today = today or local_day(timezone.now())
    number: int | None
    try:
        number = int(str(level).strip())
    except (TypeError, ValueError):
        number = None
    if number not in LEVELS:
        errors.add("level", _("Cấp độ dịch phải là 1, 2, 3 hoặc 4."), code="level_out_of_range")
    day: date | None = None
    if isinstance(effective_from, datetime):
        day = local_day(effective_from)
    elif isinstance(effective_from, date):
        day = effective_from
    elif isinstance(effective_from, str) and effective_from.strip():
        try:
            day = date.fromisoformat(effective_from.strip())
        except ValueError:
            errors.add("effective_from", _("Ngày hiệu lực không hợp lệ (định dạng YYYY-MM-DD)."),
                       code="invalid_date")
    else:
        errors.add("effective_from", _("Hãy nhập ngày hiệu lực."), code="required")
    if day is not None and not EARLIEST <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        errors.add("effective_from",
                   _("Ngày hiệu lực %(day)s quá xa so với hôm nay.") % {"day": day.isoformat()},
                   code="date_out_of_range")
        day = None
    reason = clean_line(reason or "", errors, "reason")
    if len(reason) > REASON_MAX:
        errors.add("reason", _("Lý do dài quá %(n)d ký tự.") % {"n": REASON_MAX}, code="too_long")
    communes = target_communes(unit) if unit.level != Level.PROVINCE else []
    if not communes:
        errors.add("unit", _("Chọn một xã, hoặc một huyện để đặt cho mọi xã của huyện."),
                   code="unknown_commune")
    latest = {e.commune_id: e for e in _latest_entries(communes)}
    if day is not None and not reason:
        earlier = [c for c in communes if c.pk in latest and day < latest[c.pk].effective_from]
        if earlier:
            first = latest[earlier[0].pk]
            errors.add(
                "reason",
                _("Ngày hiệu lực %(day)s sớm hơn lần đặt gần nhất (%(last)s, %(commune)s): "
                  "hãy ghi lý do.")
                % {"day": day.isoformat(), "last": first.effective_from.isoformat(),
                   "commune": earlier[0].name},
                code="backdated_without_reason",
            )
    errors.raise_if_any(_("Chưa đặt được cấp độ dịch."))
    assert day is not None and number is not None
    now = timezone.now()
    with transaction.atomic():
        entries = CommuneLevel.objects.bulk_create([
            CommuneLevel(commune=c, level=number, effective_from=day, reason=reason,
                         set_by=actor if getattr(actor, "is_authenticated", False) else None,
                         created_at=now)
            for c in communes
        ])
        audit_record_all([
            audit_event(
                actor=actor, action=AuditAction.STATUS_CHANGE, request=request,
                purpose=_("Đặt cấp độ dịch"), target=f"commune_level:{c.code}", unit=c,
                detail={"level": number, "effective_from": day.isoformat(), "reason": reason,
                        "previous": latest[c.pk].level if c.pk in latest else None,
                        "set_on": unit.code},
            )
            for c in communes
        ])
    commune_levels_cache_clear()  # bulk_create sends no post_save
    return [LevelChange(commune=c, previous=latest.get(c.pk), entry=e)
            for c, e in zip(communes, entries, strict=True)]


def _latest_entries(communes: Sequence[AdministrativeUnit]) -> list[CommuneLevel]:
    """Each commune's entry with the latest effective date (any day)."""
    ids = [c.pk for c in communes]
    latest: dict[int, CommuneLevel] = {}
    for entry in (CommuneLevel.objects.filter(commune_id__in=ids)
                  .order_by("commune_id", "-effective_from", "-id")):
        latest.setdefault(entry.commune_id, entry)
    return list(latest.values())
