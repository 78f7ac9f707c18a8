"""Reads for the public levels page and feed, and for the officials' pages
(issue 14 item 4). The level of each commune comes from places.levels."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.accounts.models import Viewer
from truyvet.accounts.permissions import is_system_admin, scope_units
from truyvet.core.errors import NotFound
from truyvet.core.time import local_day
from truyvet.declarations import levels_permissions as permissions
from truyvet.places.levels import LevelBadge, last_change, level_badge, level_history, with_levels
from truyvet.places.models import AdministrativeUnit, CommuneLevel, Level, Scheme

LEVEL_KEYS = ("1", "2", "3", "4", "none")


@dataclass
class AreaRow:
    """A province or district, with how many of its communes are at each level."""

    unit: AdministrativeUnit
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVEL_KEYS, 0))

    @property
    def badges(self) -> list[tuple[LevelBadge, int]]:
        return [(level_badge(n), self.counts[str(n)]) for n in (1, 2, 3, 4)
                if self.counts[str(n)]]


@dataclass
class CommuneRow:
    unit: AdministrativeUnit
    badge: LevelBadge | None


@dataclass
class Overview:
    unit: AdministrativeUnit | None
    ancestors: list[AdministrativeUnit]
    day: date
    last_change: datetime | None
    areas: list[AreaRow]
    communes: list[CommuneRow]
    history: list[CommuneLevel]
    badge: LevelBadge | None = None

    @property
    def totals(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for area in self.areas:
            total.update(area.counts)
        for row in self.communes:
            total[str(row.badge.level) if row.badge else "none"] += 1
        return {key: total[key] for key in LEVEL_KEYS}


def _unit(code: str | None) -> AdministrativeUnit | None:
    if not code:
        return None
    unit = (AdministrativeUnit.objects.select_related("parent", "parent__parent")
            .filter(scheme=Scheme.Y2021, code=code.strip()).first())
    if unit is None:
        raise NotFound(_("Không tìm thấy đơn vị hành chính mã %(code)s.") % {"code": code},
                       code="unknown_commune")
    return unit


def levels_overview(*, code: str | None = None, day: date | None = None) -> Overview:
    """Public: the provinces (no ``code``), a province's districts, a
    district's communes, or one commune with its history, as of ``day``."""
    unit = _unit(code)
    day = day or local_day(timezone.now())
    ancestors: list[AdministrativeUnit] = []
    parent = unit.parent if unit is not None else None
    while parent is not None:
        ancestors.insert(0, parent)
        parent = parent.parent
    overview = Overview(unit=unit, ancestors=ancestors, day=day, last_change=last_change(unit),
                        areas=[], communes=[], history=[])
    if unit is not None and unit.level == Level.COMMUNE:
        annotated = with_levels(AdministrativeUnit.objects.filter(pk=unit.pk), day).get()
        overview.badge = _badge(annotated)
        overview.history = list(level_history(unit))
        return overview
    communes = AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, level=Level.COMMUNE)
    if unit is not None:
        communes = communes.filter(path__startswith=unit.path)
    if unit is not None and unit.level == Level.DISTRICT:
        overview.communes = [CommuneRow(unit=c, badge=_badge(c))
                             for c in with_levels(communes.order_by("name"), day)]
        return overview
    areas = (AdministrativeUnit.objects.filter(parent=unit) if unit is not None else
             AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, level=Level.PROVINCE))
    rows = {a.path: AreaRow(unit=a) for a in areas.order_by("code")}
    depth = 2 if unit is None else 3  # "2021/04/" or "2021/04/048/"
    counted = with_levels(communes, day)
    for path, level in counted.values_list("path", "epidemic_level"):  # type: ignore[misc]
        prefix = "/".join(path.split("/")[:depth]) + "/"
        row = rows.get(prefix)
        if row is not None:
            row.counts[str(level) if level else "none"] += 1
    overview.areas = list(rows.values())
    return overview


def _badge(unit: Any) -> LevelBadge | None:
    level = getattr(unit, "epidemic_level", None)
    return level_badge(level, unit.level_since) if level else None


def level_targets_for(viewer: Viewer) -> list[AdministrativeUnit]:
    """The districts and communes the viewer may set levels on, in path
    order (a district just before its communes)."""
    if not permissions.can_set_levels(viewer):
        return []
    units = AdministrativeUnit.objects.filter(scheme=Scheme.Y2021,
                                              level__in=[Level.DISTRICT, Level.COMMUNE])
    if not is_system_admin(viewer):
        condition = Q(pk__in=[])
        for scope in scope_units(viewer, permissions.LEVEL_SETTERS):
            condition |= Q(path__startswith=scope.path)
        units = units.filter(condition)
    return list(units.select_related("parent").order_by("path")[:5000])


def provinces_for_thresholds(viewer: Viewer) -> list[AdministrativeUnit]:
    """The provinces whose thresholds the viewer may edit."""
    if is_system_admin(viewer):
        return list(AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, level=Level.PROVINCE)
                    .order_by("code"))
    return [u for u in scope_units(viewer, permissions.THRESHOLD_EDITORS)
            if u.level == Level.PROVINCE]


def home_links_for(user: Viewer) -> dict[str, list[tuple[str, str]]]:
    """The home page's links to the levels pages: the public page for
    everyone, the officials' pages for those who may use them."""
    official: list[tuple[str, str]] = []
    if permissions.can_set_levels(user):
        official.append((reverse("levels:set"), _("Đặt cấp độ dịch")))
    if permissions.can_list_residents(user):
        official.append((reverse("levels:residents"), _("Cư dân xã ở cấp độ 4")))
    return {"mine": [(reverse("levels:overview"), _("Cấp độ dịch"))], "official": official}
