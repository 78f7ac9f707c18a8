"""Reads of administrative units, shared by the JSON API and the HTML pages.

Every selector that returns units for display selects two levels of parents,
so ``full_name`` ("Xã An Lạc, Huyện Hạ Lang, Tỉnh Cao Bằng") costs no extra
query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Length
from django.utils.translation import gettext as _

from truyvet.core.errors import NotFound
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit, Level, Scheme
from truyvet.places.services import KIND_PREFIXES

# Folded kind prefixes ("huyen", "thi tran", ...), so that "ha lang" counts as
# an exact match for "Huyện Hạ Lang".
_FOLDED_PREFIXES = sorted(
    {fold(prefix) for rules in KIND_PREFIXES.values() for prefix, _kind in rules}
)

_PREFIXES = sorted({prefix for rules in KIND_PREFIXES.values() for prefix, _kind in rules})
_RANK_EXACT, _RANK_PREFIX, _RANK_OTHER = 0, 1, 2


def _units() -> QuerySet[AdministrativeUnit]:
    return AdministrativeUnit.objects.select_related("parent", "parent__parent")


def unit_by_code(*, code: str, scheme: str = Scheme.Y2021) -> AdministrativeUnit:
    """The unit with this GSO code; raises NotFound."""
    unit = _units().filter(scheme=scheme, code=code.strip()).first()
    if unit is None:
        raise NotFound(
            _("Không tìm thấy đơn vị hành chính mã %(code)s.") % {"code": code},
            code="unit_not_found",
        )
    return unit


def unit_children(*, unit: AdministrativeUnit) -> QuerySet[AdministrativeUnit]:
    """The units directly below ``unit``, in code order."""
    return unit.children.select_related("parent", "parent__parent").order_by("path")


def unit_ancestors(*, unit: AdministrativeUnit) -> list[AdministrativeUnit]:
    """The units above ``unit``, the province first. One query at most, read
    from the path rather than by walking parents."""
    codes = unit.path.strip("/").split("/")[1:-1]  # drop the scheme and the unit itself
    if not codes:
        return []
    return list(
        AdministrativeUnit.objects.filter(scheme=unit.scheme, code__in=codes).order_by("path")
    )


def units_list(
    *,
    level: int | None = None,
    parent: AdministrativeUnit | None = None,
    scheme: str = Scheme.Y2021,
) -> QuerySet[AdministrativeUnit]:
    """Units for browsing: below ``parent`` (its children unless ``level`` asks
    for a deeper tier), or every unit of ``level`` (provinces by default)."""
    units = _units().filter(scheme=scheme)
    if parent is not None:
        units = units.filter(path__startswith=parent.path).exclude(pk=parent.pk)
        if level is None:
            units = units.filter(parent=parent)
    elif level is None:
        level = Level.PROVINCE
    if level is not None:
        units = units.filter(level=level)
    return units.order_by("path")


def units_search(
    *,
    query: str,
    level: int | None = None,
    parent: AdministrativeUnit | None = None,
    scheme: str = Scheme.Y2021,
    limit: int | None = 20,
    near: Sequence[AdministrativeUnit] = (),
) -> QuerySet[AdministrativeUnit]:
    """Units whose name contains every word of ``query`` at the start of one
    of its words, ignoring diacritics and case: "ha lang" finds "Huyện Hạ Lang".
    A query of digits also finds the unit with that code.

    The order: a name exactly as typed, diacritics included (with or
    without its kind prefix: "Thanh Nhật" is "Thị trấn Thanh Nhật", not
    "Phường Thành Nhất"); then units in the user's own area (``near``: the
    units they live in or work for; their district, then their province);
    then a name that contains the query as typed; then exact names ignoring
    diacritics, names that start with the query, and the rest; shorter
    names first within each. ``parent`` restricts the search to units below
    it, at any depth.
    """
    folded = fold(query)
    tokens = folded.split()
    if not tokens:
        return AdministrativeUnit.objects.none()

    matches = Q()
    for token in tokens:
        matches &= Q(name_folded__startswith=token) | Q(name_folded__contains=" " + token)
    if folded.isdigit():
        matches |= Q(code=folded)

    exact = [folded, *(f"{prefix} {folded}" for prefix in _FOLDED_PREFIXES)]
    starts = Q(name_folded__startswith=folded)
    for prefix in _FOLDED_PREFIXES:
        starts |= Q(name_folded__startswith=f"{prefix} {folded}")

    units = _units().filter(scheme=scheme).filter(matches)
    if level is not None:
        units = units.filter(level=level)
    if parent is not None:
        units = units.filter(path__startswith=parent.path).exclude(pk=parent.pk)
    typed = " ".join(query.split())
    accent_exact = Q(name__iexact=typed)
    for prefix in _PREFIXES:
        accent_exact |= Q(name__iexact=f"{prefix} {typed}")
    district_paths = {"/".join(u.path.split("/")[:3]) + "/" for u in near if u.level >= 2}
    province_paths = {"/".join(u.path.split("/")[:2]) + "/" for u in near}
    in_district, in_province = Q(pk__in=[]), Q(pk__in=[])
    for path in district_paths:
        in_district |= Q(path__startswith=path)
    for path in province_paths:
        in_province |= Q(path__startswith=path)
    units = units.annotate(
        accent=Case(When(accent_exact, then=Value(0)),
                    When(name__contains=typed, then=Value(1)),
                    default=Value(2), output_field=IntegerField()),
        nearness=Case(When(in_district, then=Value(0)), When(in_province, then=Value(1)),
                      default=Value(2), output_field=IntegerField()),
        rank=Case(
            When(Q(name_folded__in=exact) | Q(code=folded), then=Value(_RANK_EXACT)),
            When(starts, then=Value(_RANK_PREFIX)),
            default=Value(_RANK_OTHER),
            output_field=IntegerField(),
        ),
        name_length=Length("name"),
    ).order_by(
        Case(When(accent=0, then=Value(0)), default=Value(1), output_field=IntegerField()),
        "nearness", "accent", "rank", "name_length", "path",
    )
    if limit is not None:
        units = units[:limit]
    return units


def unit_counts_by_level(
    *, scheme: str = Scheme.Y2021, within: AdministrativeUnit | None = None
) -> dict[int, int]:
    """How many units each level holds, in the whole map or below ``within``.
    Every level appears, with 0 when it holds nothing."""
    units = AdministrativeUnit.objects.filter(scheme=scheme)
    if within is not None:
        units = units.filter(path__startswith=within.path).exclude(pk=within.pk)
    counts = {level.value: 0 for level in Level}
    for row in units.values("level").annotate(count=Count("id")).order_by("level"):
        counts[row["level"]] = row["count"]
    return counts


@dataclass(frozen=True)
class UnitDetail:
    unit: AdministrativeUnit
    ancestors: list[AdministrativeUnit]
    children: list[AdministrativeUnit]
    counts: dict[int, int]


def unit_detail(*, code: str, scheme: str = Scheme.Y2021) -> UnitDetail:
    """A unit with the chain above it, its children and how many units lie
    below it, in four queries whatever its size; raises NotFound."""
    unit = unit_by_code(code=code, scheme=scheme)
    return UnitDetail(
        unit=unit,
        ancestors=unit_ancestors(unit=unit),
        children=list(unit_children(unit=unit)),
        counts=unit_counts_by_level(scheme=scheme, within=unit),
    )
