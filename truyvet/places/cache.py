"""Administrative units by id, kept in the process (decision 0015).

Units are reference data: loaded from the official lists (``divisions_load``)
and almost never changed afterwards (a rename, communes merged). A checkpoint
scan names three of them with their districts and reads a person's province
from a fourth; joining them to the declaration cost the ORM more than the
rest of the read. Here each unit is read once, with its parent and
grandparent (so ``full_name`` costs no query), and kept for
``UNIT_CACHE_SECONDS``. Loading the lists or saving or deleting a unit
through this process forgets every unit at once; another process sees the
change within the bound.

The instances are shared between requests and threads: read them, never
change them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from truyvet.core.memory import KeptInProcess
from truyvet.places.models import AdministrativeUnit

UNIT_CACHE_SECONDS = 300.0

_UNITS: KeptInProcess[int, AdministrativeUnit] = KeptInProcess(UNIT_CACHE_SECONDS)


def units_by_id(ids: Iterable[int | None]) -> dict[int, AdministrativeUnit]:
    """{id: unit} for ``ids`` (None and unknown ids are left out): from
    memory, the others in one query."""
    return _UNITS.many((pk for pk in ids if pk is not None), _units_read)


def _units_read(ids: set[int]) -> dict[int, AdministrativeUnit]:
    return {unit.pk: unit for unit in AdministrativeUnit.objects.filter(pk__in=ids)
            .select_related("parent__parent").order_by()}


def units_cache_clear(**_signal: Any) -> None:
    """Forgets every unit (also a receiver of ``post_save`` and
    ``post_delete`` of units)."""
    _UNITS.clear()
