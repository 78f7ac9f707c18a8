"""What declarations read about places and people from elsewhere: the
epidemic level of a commune at a time (``places.levels``, issue 14 item 4)
and a person's COVID card colour (certificates, issue 16).

Kept in one module so that the checkpoint scan, the movements and the
level-4 alert ask the same question the same way.
"""

from __future__ import annotations

from datetime import date, datetime

from truyvet.accounts.models import Person
from truyvet.certificates.status_selectors import person_colour
from truyvet.places.levels import (
    LevelBadge,
    commune_level_at,
    commune_levels_at,
    commune_levels_on,
    entry_badge,
)
from truyvet.places.models import AdministrativeUnit, CommuneLevel

# Movements into and out of communes at these levels are the ones counted
# and listed for the officials (issue 14 item 5).
WATCHED_LEVELS = (3, 4)
ALERT_LEVEL = 4


def level_at(commune: AdministrativeUnit | None, at: datetime) -> int | None:
    """The commune's epidemic level (1-4) in force at ``at``, None when none was set."""
    if commune is None:
        return None
    entry = commune_level_at(commune, at)
    return entry.level if entry is not None else None


def levels_at(communes: list[AdministrativeUnit], at: datetime, *, cached: bool = False
              ) -> dict[int, CommuneLevel]:
    """The entries in force at ``at`` for several communes, in one query:
    {commune id: entry}; communes without a level are left out. ``cached``:
    from the process's memory (``places.levels.LEVELS_CACHE_SECONDS``), for
    the checkpoint scan."""
    return commune_levels_at(communes, at, cached=cached)


def levels_on(ends: list[tuple[int, date]]) -> dict[tuple[int, date], CommuneLevel]:
    """The entry in force for each (commune id, day), in one query."""
    return commune_levels_on(ends)


def badge(entry: CommuneLevel | None) -> LevelBadge | None:
    return entry_badge(entry)


def level_badge_at(commune: AdministrativeUnit | None, at: datetime) -> LevelBadge | None:
    """The level with its colour and words, for a page or the scan screen."""
    if commune is None:
        return None
    return entry_badge(commune_level_at(commune, at))


def card_colour(person: Person | None, at: datetime) -> str | None:
    """The person's COVID card colour at ``at`` ("green", "yellow", "red"),
    None while it is unknown (no record, or no certificate data).

    From ``certificates.status_selectors.person_colour`` (issue 16):
    declarations stands above certificates (decisions/0012), so it asks
    directly rather than through checkins' ``card_status`` hook. A
    declaration made for someone else (khai hộ) has no record: no colour.
    """
    if person is None:
        return None
    return person_colour(person, at).colour
