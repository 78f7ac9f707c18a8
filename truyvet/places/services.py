"""Writes for administrative units: loading an official map into the database.

A map ("scheme") is read from its source into tiers, top level first, and each
tier is written with one bulk insert and one bulk update. Nothing here knows
how many tiers a scheme has, so the 2025 map (province -> commune) only needs a
reader that returns two tiers whose communes name a province as their parent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from truyvet.core.errors import ServiceError
from truyvet.core.text import fold
from truyvet.places.cache import units_cache_clear
from truyvet.places.models import AdministrativeUnit, Kind, Level, Scheme

# Called as progress(done, total) with the number of units written so far.
Progress = Callable[[int, int], None]

# GSO codes are fixed-width per level in both the 2021 and the 2025 maps.
CODE_WIDTH = {Level.PROVINCE: 2, Level.DISTRICT: 3, Level.COMMUNE: 5}

# The source's own ``division_type`` says tỉnh/huyện/xã for everything, so the
# kind comes from the name. Spellings are the canonical ones; sources are
# matched case-insensitively because some write "Thành Phố".
KIND_PREFIXES: dict[Level, tuple[tuple[str, Kind], ...]] = {
    Level.PROVINCE: (
        ("Thành phố", Kind.MUNICIPALITY),
        ("Tỉnh", Kind.PROVINCE),
    ),
    Level.DISTRICT: (
        ("Quận", Kind.URBAN_DISTRICT),
        ("Huyện", Kind.RURAL_DISTRICT),
        ("Thị xã", Kind.TOWN),
        ("Thành phố", Kind.PROVINCIAL_CITY),
    ),
    Level.COMMUNE: (
        ("Phường", Kind.WARD),
        ("Xã", Kind.COMMUNE),
        ("Thị trấn", Kind.TOWNSHIP),
        ("Đặc khu", Kind.SPECIAL_ZONE),  # 2025 map only
    ),
}

_BATCH_SIZE = 500
# Below SQLite's limit on query parameters, which Django does not split for us.
_LOOKUP_CHUNK = 900
_UPDATED_FIELDS = ["name", "name_folded", "kind", "level", "parent", "path"]


@dataclass(frozen=True)
class DivisionRow:
    """One unit as a source describes it, before it touches the database."""

    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True)
class Tier:
    level: Level
    rows: list[DivisionRow]


@dataclass
class LoadResult:
    scheme: str
    counts: dict[Level, int] = field(default_factory=dict)  # units in the source, per level
    created: int = 0
    updated: int = 0

    @property
    def provinces(self) -> int:
        return self.counts.get(Level.PROVINCE, 0)

    @property
    def districts(self) -> int:
        return self.counts.get(Level.DISTRICT, 0)

    @property
    def communes(self) -> int:
        return self.counts.get(Level.COMMUNE, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def unit_kind_from_name(*, name: str, level: Level) -> tuple[Kind, str]:
    """The kind of unit a name announces ("Thị trấn Thanh Nhật" -> TOWNSHIP),
    and the name with its prefix in canonical spelling. Raises ServiceError
    for a name that does not start with a prefix known at that level."""
    folded = name.casefold()
    for prefix, kind in KIND_PREFIXES[level]:
        if folded.startswith(prefix.casefold() + " "):
            return kind, prefix + name[len(prefix):]
    raise ServiceError(
        _("Không nhận ra loại đơn vị hành chính của “%(name)s”.") % {"name": name},
        code="unknown_unit_kind",
    )


def unit_code_normalise(*, code: str | int, level: Level) -> str:
    """Zero-pad a numeric code to the GSO width of its level (4 -> "04")."""
    text = str(code).strip()
    if not text.isdigit() or len(text) > CODE_WIDTH[level]:
        raise ServiceError(
            _("Mã đơn vị hành chính “%(code)s” không hợp lệ.") % {"code": text},
            code="invalid_code",
        )
    return text.zfill(CODE_WIDTH[level])


@lru_cache(maxsize=1)
def _package_divisions() -> list[dict[str, Any]]:
    from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH

    with open(NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as handle:
        data: list[dict[str, Any]] = json.load(handle)
    return data


def _read_2021(wanted: frozenset[str] | None) -> list[Tier]:
    """The three-tier map from the vietnam-provinces package."""
    provinces: list[DivisionRow] = []
    districts: list[DivisionRow] = []
    communes: list[DivisionRow] = []
    for province in _package_divisions():
        province_code = f"{province['code']:02d}"
        if wanted is not None and province_code not in wanted:
            continue
        provinces.append(DivisionRow(province_code, province["name"], None))
        for district in province["districts"]:
            district_code = f"{district['code']:03d}"
            districts.append(DivisionRow(district_code, district["name"], province_code))
            for commune in district["wards"]:
                communes.append(
                    DivisionRow(f"{commune['code']:05d}", commune["name"], district_code)
                )
    return [
        Tier(Level.PROVINCE, provinces),
        Tier(Level.DISTRICT, districts),
        Tier(Level.COMMUNE, communes),
    ]


# scheme -> reader of its tiers, top level first. A 2025 reader would return
# [Tier(PROVINCE, ...), Tier(COMMUNE, rows whose parent_code is a province)].
_SOURCES: dict[str, Callable[[frozenset[str] | None], list[Tier]]] = {
    Scheme.Y2021: _read_2021,
}


def divisions_load(
    *,
    scheme: str = Scheme.Y2021,
    province_codes: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Create or update every unit of ``scheme`` (only the given provinces and
    what lies below them when ``province_codes`` is set), in one transaction.

    Idempotent: units are matched on (scheme, code), so a second run creates
    nothing and updates only names, kinds or parents that changed. Units the
    source no longer lists are left alone, since people and venues may point
    at them.
    """
    reader = _SOURCES.get(scheme)
    if reader is None:
        raise ServiceError(
            _("Chưa có dữ liệu cho bản đồ hành chính %(scheme)s.") % {"scheme": scheme},
            code="unknown_scheme",
        )
    wanted = None
    if province_codes is not None:
        wanted = frozenset(
            unit_code_normalise(code=code, level=Level.PROVINCE) for code in province_codes
        )
    tiers = reader(wanted)
    if wanted is not None:
        missing = wanted - {row.code for row in tiers[0].rows}
        if missing:
            raise ServiceError(
                _("Không có tỉnh/thành phố mã %(codes)s.") % {"codes": ", ".join(sorted(missing))},
                code="unknown_province",
            )

    result = LoadResult(scheme=scheme)
    total = sum(len(tier.rows) for tier in tiers)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    with transaction.atomic():
        parents: dict[str, AdministrativeUnit] = {}
        for tier in tiers:
            parents = _tier_write(
                scheme=scheme, tier=tier, parents=parents, result=result, advance=advance
            )
            result.counts[tier.level] = len(tier.rows)
    units_cache_clear()  # names, kinds and parents may have changed
    return result


def _tier_write(
    *,
    scheme: str,
    tier: Tier,
    parents: dict[str, AdministrativeUnit],
    result: LoadResult,
    advance: Callable[[int], None],
) -> dict[str, AdministrativeUnit]:
    """Upsert one tier and return its units by code, as the next tier's parents."""
    codes = [row.code for row in tier.rows]
    existing: dict[str, AdministrativeUnit] = {}
    for start in range(0, len(codes), _LOOKUP_CHUNK):
        chunk = codes[start : start + _LOOKUP_CHUNK]
        found = AdministrativeUnit.objects.filter(scheme=scheme, code__in=chunk)
        existing.update((unit.code, unit) for unit in found)

    units: dict[str, AdministrativeUnit] = {}
    to_create: list[AdministrativeUnit] = []
    to_update: list[AdministrativeUnit] = []
    for row in tier.rows:
        parent = parents[row.parent_code] if row.parent_code is not None else None
        kind, name = unit_kind_from_name(name=row.name, level=tier.level)
        values = {
            "name": name,
            "name_folded": fold(name),
            "kind": kind.value,
            "level": tier.level.value,
            "parent_id": parent.pk if parent is not None else None,
            "path": AdministrativeUnit.build_path(scheme=scheme, code=row.code, parent=parent),
        }
        current = existing.get(row.code)
        if current is None:
            current = AdministrativeUnit(scheme=scheme, code=row.code, **values)
            to_create.append(current)
        elif any(getattr(current, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(current, key, value)
            to_update.append(current)
        units[row.code] = current

    for start in range(0, len(to_create), _BATCH_SIZE):
        batch = to_create[start : start + _BATCH_SIZE]
        AdministrativeUnit.objects.bulk_create(batch)
        advance(len(batch))
    if any(unit.pk is None for unit in to_create):
        # Backends that cannot return ids from a bulk insert: read them back.
        created = {
            unit.code: unit
            for start in range(0, len(codes), _LOOKUP_CHUNK)
            for unit in AdministrativeUnit.objects.filter(
                scheme=scheme, code__in=codes[start : start + _LOOKUP_CHUNK]
            )
        }
        units = {code: created[code] for code in codes}
    if to_update:
        AdministrativeUnit.objects.bulk_update(to_update, _UPDATED_FIELDS, batch_size=_BATCH_SIZE)
    advance(len(tier.rows) - len(to_create))

    result.created += len(to_create)
    result.updated += len(to_update)
    return units
