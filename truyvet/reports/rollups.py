"""Daily rollups of check-ins, so that dashboards never read the check-in
table (docs/decisions/0004-report-rollups.md), folded in by the worker from
the writes the check-in services note (decision 0022).

What is kept (``truyvet.reports.models``):

- ``VenueDay``: visits per venue per local day;
- ``VenueActivity``: each venue's latest visit, for "venues with a scan in
  the last 1 / 7 days";
- ``PersonDay``: the communes (and venue types) each person checked in at on
  a day, one row per person and day: the exact set behind distinct-people
  counts, purged with the check-ins;
- ``AreaDay``: scans and distinct people per area (commune, district,
  province, the country), venue type and day.

A visit counts on the local day (TIME_ZONE) of its arrival, whenever it was
received, so an offline queue synced days later lands on the day the scans
happened.

How writes reach them (the one owner of "rollups equal a recount"):

- the check-in hooks call ``rollups_note_added`` / ``rollups_note_changed``
  in the writer's transaction: one insert into ``RollupChange`` each;
- ``rollups_fold()`` (the worker, every REPORTS_ROLLUPS_FOLD_SECONDS;
  tests call it directly) counts the notes and deletes them in one
  transaction at one snapshot: added rows through ``rollups_record``, then
  changed rows through ``rollups_refresh``, then reloaded periods through
  ``rollups_rebuild``;
- ``rollups_reload(since=, until=)`` (bulk loads, repairs, the demo): notes
  a period and folds at once.

The three ways of counting, which the fold runs (and tests call directly):

- ``rollups_record(rows=...)``: rows just inserted; incremental, about seven
  statements per call whatever the number of rows.
- ``rollups_refresh(rows=...)``: rows whose venue, person or arrival day
  changed, or that were deleted (other than by the retention purge); pass
  the old and the new values, after the change. It recounts exactly those
  venue-days and person-days from the check-in table.
- ``rollups_rebuild(since=, until=)``: recompute whole days from the
  check-in table. Outside the fold it would count the notes still waiting
  a second time: use ``rollups_reload`` wherever check-ins may be written.

Retention: the purge of check-ins does not touch the figures. Days that the
purge has reached are history: their counts stay as they were when the
check-ins were there, their person-day rows (personal data) are deleted with
``rollups_purge_expired``, and ``rollups_refresh`` leaves them alone.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Count, Exists, Max, OuterRef
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.core.time import day_bounds, local_day, period_bounds
from truyvet.places.models import AdministrativeUnit
from truyvet.reports.models import (
    ALL_TYPES,
    NATION,
    AreaDay,
    PersonDay,
    RollupChange,
    VenueActivity,
    VenueDay,
)
from truyvet.venues.models import Venue

# (venue id, person id, arrival time), as the check-in table has them.
Row = tuple[int, int, datetime]
# (area, day, venue type, shard): one AreaDay counter row.
CounterKey = tuple[int, date, str, int]
T = TypeVar("T")

# Counters of a province and of the country take every check-in in them;
# they are spread over this many rows (by person) so that concurrent
# check-ins do not queue on one row lock. Readers add the shards up.
HOT_SHARDS = 8
_CHUNK = 500  # ids per IN list
_MAX_PARAMS = 30_000  # per statement: SQLite allows 32,766


def purge_cutoff(now: datetime | None = None) -> datetime:
    """Check-ins that arrived before this are deleted by the retention purge."""
    return (now or timezone.now()) - timedelta(days=settings.CHECKIN_RETENTION_DAYS)


def first_open_day(now: datetime | None = None) -> date:
    """The first local day the retention purge has not reached at all.

    Earlier days are history: a recount from the check-in table would miss
    purged visits, so their figures are frozen. The day of the cutoff itself
    is partly purged and counts as history too; its person-day rows are kept
    until the next day, because check-ins later than the cutoff on that day
    are still accepted and must find them.
    """
    return local_day(purge_cutoff(now)) + timedelta(days=1)


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _rows_per_statement(columns: int) -> int:
    return max(1, _MAX_PARAMS // columns)


def _date_param(day: date) -> Any:
    # psycopg takes dates as they are; SQLite stores ISO text (and Python's
    # default date adapter for sqlite3 is deprecated).
    return day if connection.vendor == "postgresql" else day.isoformat()


class _DayParams(dict[date, Any]):
    """Each day's parameter, made once (a batch spans a day or two), and the
    way back from what the database returns."""

    def __missing__(self, day: date) -> Any:
        value = self[day] = _date_param(day)
        return value

    def back(self, value: Any) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))


def _day_literal() -> str:
    """A placeholder for a date parameter in a SELECT list. PostgreSQL types
    an untyped literal there as text, which a date column refuses; SQLite's
    CAST to DATE would turn '2021-11-01' into 2021, so no cast there."""
    return "CAST(%s AS DATE)" if connection.vendor == "postgresql" else "%s"


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# --- Where a venue's visits count -------------------------------------------------


@dataclass(frozen=True)
class VenueAreas:
    venue_type: str
    # The commune and its ancestors, the top-level unit (province) last.
    chain: tuple[int, ...]

    @property
    def entry(self) -> str:
        """How a visit here is written in ``PersonDay.visits``."""
        return "/".join(map(str, self.chain)) + ":" + self.venue_type

    def keys(self) -> tuple[tuple[int, str, bool], ...]:
        """Every (unit key, venue type, hot) counter a visit here adds to."""
        return _entry_keys(self.chain, self.venue_type)


def _entry_keys(chain: Sequence[int], venue_type: str) -> tuple[tuple[int, str, bool], ...]:
    # The province (the last of the chain) and the country are "hot".
    areas = [(unit, index == len(chain) - 1) for index, unit in enumerate(chain)]
    return tuple(
        (unit, kind, hot)
        for unit, hot in (*areas, (NATION, True)) for kind in (ALL_TYPES, venue_type)
    )


def _keys_of(entries: Iterable[str]) -> set[tuple[int, str, bool]]:
    """The counter keys a person's day adds to: each area at most once."""
    keys: set[tuple[int, str, bool]] = set()
    for entry in entries:
        chain, _colon, venue_type = entry.rpartition(":")
        keys.update(_entry_keys([int(unit) for unit in chain.split("/")], venue_type))
    return keys


def venue_areas(venue_ids: Iterable[int]) -> dict[int, VenueAreas]:
    """The areas each venue's visits count in, in one query."""
    ids = sorted({int(venue) for venue in venue_ids})
    found: dict[int, VenueAreas] = {}
    venues, units = _table(Venue), _table(AdministrativeUnit)
    for chunk in _chunks(ids):
        # Plain SQL: on a single scan the ORM took longer to build this than
        # the database to answer it (decision 0013).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT v.id, v.venue_type, v.commune_id, c.parent_id, p.parent_id "  # noqa: S608 - names from the models, values bound
                f"FROM {venues} v LEFT JOIN {units} c ON c.id = v.commune_id "
                f"LEFT JOIN {units} p ON p.id = c.parent_id "
                f"WHERE v.id IN ({', '.join(['%s'] * len(chunk))})", list(chunk),
            )
            rows = cursor.fetchall()
        for venue_id, venue_type, *chain in rows:
            found[int(venue_id)] = VenueAreas(
                venue_type=venue_type, chain=tuple(int(u) for u in chain if u is not None))
    return found


def _shard(person_id: int, hot: bool) -> int:
    return person_id % HOT_SHARDS if hot else 0


# --- Statements shared by the write paths ------------------------------------------


def _add_venue_days(cursor: Any, counts: dict[tuple[int, date], int]) -> None:
    table = _table(VenueDay)
    days = _DayParams()
    for chunk in _chunks(sorted(counts.items()), _rows_per_statement(3)):
        cursor.execute(
            f"INSERT INTO {table} (venue_id, day, scans) VALUES "  # noqa: S608 - our own names
            + ", ".join(["(%s, %s, %s)"] * len(chunk))
            + f" ON CONFLICT (venue_id, day) DO UPDATE SET scans = {table}.scans + excluded.scans",
            [value for (venue, day), scans in chunk for value in (venue, days[day], scans)],
        )


def _raise_last_scans(cursor: Any, latest: dict[int, datetime]) -> None:
    table = _table(VenueActivity)
    adapt = connection.ops.adapt_datetimefield_value
    for chunk in _chunks(sorted(latest.items()), _rows_per_statement(2)):
        cursor.execute(
            f"INSERT INTO {table} (venue_id, last_scan_at) VALUES "  # noqa: S608 - names from the models, values bound
            + ", ".join(["(%s, %s)"] * len(chunk))
            + " ON CONFLICT (venue_id) DO UPDATE SET last_scan_at = excluded.last_scan_at"
            f" WHERE excluded.last_scan_at > {table}.last_scan_at",
            [value for venue, at in chunk for value in (venue, adapt(at))],
        )


def _person_days_locked(
    cursor: Any, pairs: Sequence[tuple[date, int]], days: _DayParams
) -> dict[tuple[date, int], set[str]]:
    """The stored visits of the (day, person) pairs, their rows locked on
    PostgreSQL until the transaction ends (SQLite has a single writer)."""
    table = _table(PersonDay)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    found: dict[tuple[date, int], set[str]] = {}
    for chunk in _chunks(sorted(pairs), _rows_per_statement(2)):
        cursor.execute(
            f"SELECT day, person_id, visits FROM {table} WHERE (day, person_id) IN ("  # noqa: S608 - names from the models, values bound
            + ", ".join(["(%s, %s)"] * len(chunk)) + ")" + lock,
            [value for day, person in chunk for value in (days[day], person)],
        )
        for day, person, visits in cursor.fetchall():
            found[(days.back(day), int(person))] = set(visits.split(","))
    return found


def _merge_person_days(
    cursor: Any, wanted: dict[tuple[date, int], set[str]]
) -> Counter[CounterKey]:
    """Adds the visit entries to each (day, person) and returns the people
    counters that went up: an area (and type) counts a person the first time
    one of their entries falls in it that day.

    Exact under concurrency without any lock of the caller's: new rows are
    inserted first (``ON CONFLICT DO NOTHING``: a row two transactions both
    create is returned to exactly one of them), then the rows that were
    already there are read locked, merged and written back.
    """
    table = _table(PersonDay)
    days = _DayParams()
    people: Counter[CounterKey] = Counter()

    def count(day: date, person: int, keys: Iterable[tuple[int, str, bool]], step: int) -> None:
        for unit, venue_type, hot in keys:
            people[(unit, day, venue_type, _shard(person, hot))] += step

    created: set[tuple[date, int]] = set()
    items = sorted(wanted.items())
    for chunk in _chunks(items, _rows_per_statement(3)):
        cursor.execute(
            f"INSERT INTO {table} (day, person_id, visits) VALUES "  # noqa: S608 - names from the models, values bound
            + ", ".join(["(%s, %s, %s)"] * len(chunk))
            + " ON CONFLICT DO NOTHING RETURNING day, person_id",
            [value for (day, person), entries in chunk
             for value in (days[day], person, ",".join(sorted(entries)))],
        )
        created.update((days.back(day), int(person)) for day, person in cursor.fetchall())
    for (day, person), entries in items:
        if (day, person) in created:
            count(day, person, _keys_of(entries), 1)
    rest = [pair for pair, _entries in items if pair not in created]
    stored = _person_days_locked(cursor, rest, days) if rest else {}
    updates: list[tuple[str, Any, int]] = []
    for day, person in rest:
        old = stored.get((day, person))
        if old is None:  # deleted in between: its day is history (the purge)
            continue
        merged = old | wanted[(day, person)]
        if merged != old:
            count(day, person, _keys_of(merged) - _keys_of(old), 1)
            updates.append((",".join(sorted(merged)), days[day], person))
    if updates:
        cursor.executemany(
            f"UPDATE {table} SET visits = %s WHERE day = %s AND person_id = %s",  # noqa: S608 - names from the models, values bound
            updates,
        )
    return people


def _add_area_days(
    cursor: Any, scans: Counter[CounterKey], people: Counter[CounterKey],
) -> None:
    table = _table(AreaDay)
    keys = sorted(key for key in set(scans) | set(people) if scans[key] or people[key])
    days = _DayParams()
    for chunk in _chunks(keys, _rows_per_statement(6)):
        cursor.execute(
            f"INSERT INTO {table} (unit_key, day, venue_type, shard, scans, people) VALUES "  # noqa: S608 - names from the models, values bound
            + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            + f" ON CONFLICT (unit_key, day, venue_type, shard) DO UPDATE SET"
            f" scans = {table}.scans + excluded.scans, people = {table}.people + excluded.people",
            [value for key in chunk for value in (
                key[0], days[key[1]], key[2], key[3], scans[key], people[key],
            )],
        )


# --- Incremental: new rows -------------------------------------------------------------


def rollups_record(*, rows: Iterable[Row]) -> None:
    """Adds check-in rows that were just inserted to the rollups.

    ``rows`` are (venue id, person id, arrived_at) with aware times; the
    venues must exist. Runs in the caller's transaction (it joins it, so a
    failure rolls the check-ins back with it), in about seven statements
    whatever the number of rows, taking row locks in a fixed order (venue
    days, venues, person days, area counters, each sorted) so that
    concurrent calls cannot deadlock one another. Call it once per
    transaction, after the transaction's check-in writes.
    """
    batch = [(int(venue), int(person), at) for venue, person, at in rows]
    if not batch:
        return
    _record(batch, venue_areas(venue for venue, _person, _at in batch))


def _record(batch: list[Row], areas: dict[int, VenueAreas]) -> None:
    keys = {venue: where.keys() for venue, where in areas.items()}
    venue_scans: Counter[tuple[int, date]] = Counter()
    latest: dict[int, datetime] = {}
    area_scans: Counter[CounterKey] = Counter()
    entries: defaultdict[tuple[date, int], set[str]] = defaultdict(set)
    for venue_id, person_id, arrived_at in batch:
        if venue_id not in keys:
            raise ValueError(f"venue {venue_id} does not exist")
        day = local_day(arrived_at)
        venue_scans[(venue_id, day)] += 1
        if venue_id not in latest or arrived_at > latest[venue_id]:
            latest[venue_id] = arrived_at
        shard = person_id % HOT_SHARDS
        for unit_key, venue_type, hot in keys[venue_id]:
            area_scans[(unit_key, day, venue_type, shard if hot else 0)] += 1
        entries[(day, person_id)].add(areas[venue_id].entry)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        _add_venue_days(cursor, venue_scans)
        _raise_last_scans(cursor, latest)
        people = _merge_person_days(cursor, entries)
        _add_area_days(cursor, area_scans, people)


# --- Corrections: changed or deleted rows --------------------------------------------------


def rollups_refresh(*, rows: Iterable[Row], now: datetime | None = None) -> None:
    """Brings the rollups of the given venue-days and person-days back in
    line with the check-in table, after rows were changed or deleted.

    Pass every (venue id, person id, arrived_at) that a change touched, old
    values and new ones (a visit whose arrival moved back past midnight:
    both days; visits moved from one person to another: both people), and
    call it after the change, in the same transaction. Days the retention
    purge has reached (before ``first_open_day``) are history and are left
    as they are.
    """
    opened = first_open_day(now)
    venue_days: dict[date, set[int]] = {}
    person_days: dict[date, set[int]] = {}
    venues: set[int] = set()
    for venue, person, arrived_at in rows:
        venues.add(int(venue))
        day = local_day(arrived_at)
        if day < opened:
            continue
        venue_days.setdefault(day, set()).add(int(venue))
        person_days.setdefault(day, set()).add(int(person))
    if not venues:
        return
    with transaction.atomic(savepoint=False):
        for day in sorted(set(venue_days) | set(person_days)):
            _refresh_day(day, sorted(venue_days.get(day, ())), sorted(person_days.get(day, ())))
        _refresh_last_scans(sorted(venues), opened)


def _refresh_day(day: date, venue_ids: list[int], person_ids: list[int]) -> None:
    start, end = day_bounds(day)
    todays = CheckIn.objects.filter(arrived_at__gte=start, arrived_at__lt=end)
    scans: Counter[CounterKey] = Counter()
    areas = venue_areas(venue_ids)

    # Scans: the venue-days' counts as the table has them now.
    actual: dict[int, int] = {}
    stored: dict[int, int] = {}
    for chunk in _chunks(venue_ids):
        actual.update(
            (row["venue_id"], row["n"])
            for row in todays.filter(venue_id__in=chunk).values("venue_id")
            .annotate(n=Count("pk")).order_by()
        )
        stored.update(VenueDay.objects.filter(day=day, venue_id__in=chunk)
                      .values_list("venue_id", "scans"))
    changed: dict[tuple[int, date], int] = {}
    for venue_id in venue_ids:
        delta = actual.get(venue_id, 0) - stored.get(venue_id, 0)
        if not delta or venue_id not in areas:
            continue
        changed[(venue_id, day)] = delta
        for unit_key, venue_type, _hot in areas[venue_id].keys():
            scans[(unit_key, day, venue_type, 0)] += delta

    # People: each person's entries of the day as the table has them now.
    visits: set[tuple[int, int]] = set()
    for chunk in _chunks(person_ids):
        visits.update(
            todays.filter(person_id__in=chunk).values_list("person_id", "venue_id").distinct()
        )
    visit_areas = venue_areas(venue for _person, venue in visits)
    wanted: defaultdict[int, set[str]] = defaultdict(set)
    for person_id, venue_id in visits:
        wanted[person_id].add(visit_areas[venue_id].entry)

    table = _table(PersonDay)
    days = _DayParams()
    people: Counter[CounterKey] = Counter()
    with connection.cursor() as cursor:
        _add_venue_days(cursor, changed)
        VenueDay.objects.filter(day=day, venue_id__in=venue_ids, scans__lte=0).delete()
        kept = _person_days_locked(cursor, [(day, p) for p in person_ids], days)
        for person_id in person_ids:
            old, new = kept.get((day, person_id), set()), wanted.get(person_id, set())
            if old == new:
                continue
            for unit, venue_type, _hot in _keys_of(new) - _keys_of(old):
                people[(unit, day, venue_type, 0)] += 1
            for unit, venue_type, _hot in _keys_of(old) - _keys_of(new):
                people[(unit, day, venue_type, 0)] -= 1
            if new:
                cursor.execute(
                    f"INSERT INTO {table} (day, person_id, visits) VALUES (%s, %s, %s)"  # noqa: S608 - names from the models, values bound
                    " ON CONFLICT (day, person_id) DO UPDATE SET visits = excluded.visits",
                    [days[day], person_id, ",".join(sorted(new))],
                )
            else:
                cursor.execute(f"DELETE FROM {table} WHERE day = %s AND person_id = %s",  # noqa: S608 - names from the models, values bound
                               [days[day], person_id])
        _add_area_days(cursor, scans, people)


def _refresh_last_scans(venue_ids: list[int], opened: date) -> None:
    latest: dict[int, datetime] = {}
    for chunk in _chunks(venue_ids):
        latest.update(
            CheckIn.objects.filter(venue_id__in=chunk).values("venue_id")
            .annotate(at=Max("arrived_at")).order_by().values_list("venue_id", "at")
        )
    for venue_id in venue_ids:
        if venue_id in latest:
            VenueActivity.objects.update_or_create(
                venue_id=venue_id, defaults={"last_scan_at": latest[venue_id]}
            )
        else:
            # No visit left: forget the last scan, unless it is history.
            VenueActivity.objects.filter(
                venue_id=venue_id, last_scan_at__gte=day_bounds(opened)[0]
            ).delete()


# --- Rebuild: whole days from the check-in table --------------------------------------------


@dataclass(frozen=True)
class RebuildReport:
    days: list[date]
    checkins: int


def _days(since: date | datetime, until: date | datetime) -> list[date]:
    """Local days covering [since, until) for times, since..until for dates."""
    first = local_day(since) if isinstance(since, datetime) else since
    if isinstance(until, datetime):
        last = local_day(until - timedelta(microseconds=1))
    else:
        last = until
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _entry_sql() -> str:
    """``VenueAreas.entry`` in SQL: "commune/parent/grandparent:type"."""
    return (
        "CAST(v.commune_id AS TEXT)"
        " || COALESCE('/' || CAST(u1.parent_id AS TEXT), '')"
        " || COALESCE('/' || CAST(u2.parent_id AS TEXT), '')"
        " || ':' || v.venue_type"
    )


def _rebuild_parts(checkin: str) -> dict[str, str]:
    """The pieces of a day's rebuild, as SQL, around one read of the day's
    check-ins (``pairs``: each person's visits per venue, the day's bounds
    as the two parameters). Every figure comes from ``pairs``:

    - ``venues``: each venue's scans and latest arrival;
    - ``people``: each person's entries (``VenueAreas.entry``), sorted and
      joined by commas, as ``PersonDay.visits`` holds them;
    - ``venue_day``, ``venue_activity``, ``person_day``: the rows to write
      (the day as a parameter); ``counts``: the venues' scans by entry and
      the people by their day's entries, from which the area counters are
      worked out (``_keys_of``, as the recording path does).
    """
    venue, unit = _table(Venue), _table(AdministrativeUnit)
    activity = _table(VenueActivity)
    literal = _day_literal()
    if connection.vendor == "postgresql":
        joined = "string_agg(entry, ',' ORDER BY entry)"
    else:  # rows come sorted from the subquery; SQLite keeps that order
        joined = "group_concat(entry, ',')"
    return {
        "pairs": (
            "SELECT venue_id, person_id, COUNT(*) AS scans, MAX(arrived_at) AS last_at"  # noqa: S608 - names from the models, values bound
            f" FROM {checkin} WHERE arrived_at >= %s AND arrived_at < %s"
            " GROUP BY venue_id, person_id"
        ),
        "venues": (
            "SELECT venue_id, SUM(scans) AS scans, MAX(last_at) AS last_at"
            " FROM pairs GROUP BY venue_id"
        ),
        # Entries of the venues of the day only: a few thousand strings,
        # not one per check-in.
        "entries": (
            f"SELECT v.id AS venue_id, {_entry_sql()} AS entry FROM {venue} v"  # noqa: S608 - names from the models, values bound
            f" JOIN {unit} u1 ON u1.id = v.commune_id"
            f" LEFT JOIN {unit} u2 ON u2.id = u1.parent_id"
            " WHERE v.id IN (SELECT venue_id FROM venues)"
        ),
        "people": (
            f"SELECT person_id, {joined} AS visits FROM ("  # noqa: S608 - names from the models, values bound
            " SELECT DISTINCT p.person_id AS person_id, e.entry AS entry"
            " FROM pairs p JOIN entries e ON e.venue_id = p.venue_id"
            " ORDER BY 1, 2) places GROUP BY person_id"
        ),
        "venue_day": (
            f"INSERT INTO {_table(VenueDay)} (venue_id, day, scans)"  # noqa: S608 - names from the models, values bound
            f" SELECT venue_id, {literal}, scans FROM venues"
        ),
        "venue_activity": (
            f"INSERT INTO {activity} (venue_id, last_scan_at)"  # noqa: S608 - names from the models, values bound
            # In venue order, so that two days rebuilt at once lock their
            # venues' rows in the same order (no deadlock).
            " SELECT venue_id, last_at FROM venues WHERE true ORDER BY venue_id"
            " ON CONFLICT (venue_id) DO UPDATE SET last_scan_at = excluded.last_scan_at"
            f" WHERE excluded.last_scan_at > {activity}.last_scan_at"
        ),
        "person_day": (
            f"INSERT INTO {_table(PersonDay)} (day, person_id, visits)"  # noqa: S608 - names from the models, values bound
            f" SELECT {literal}, person_id, visits FROM people"
        ),
        "counts": (
            "SELECT 'scans' AS what, e.entry AS entry, SUM(v.scans) AS n"
            " FROM venues v JOIN entries e ON e.venue_id = v.venue_id GROUP BY e.entry"
            " UNION ALL SELECT 'people', visits, COUNT(*) FROM people GROUP BY visits"
        ),
    }


def _rebuild_day(cursor: Any, day: date) -> int:
    """Recomputes ``day``'s venue days, person days and area counters, and
    raises its venues' last scans, from the check-in table; returns the
    day's check-ins.

    PostgreSQL reads the day's check-ins once: one statement whose ``WITH``
    materialises them per (venue, person) and writes the three tables from
    that. SQLite, which has no writing ``WITH``, runs the same pieces as
    four statements. The area counters are added up here from the venues'
    scans and the people's sets of entries, by the rule the recording path
    uses (``_keys_of``), then written in one statement."""
    start, end = day_bounds(day)
    adapt = connection.ops.adapt_datetimefield_value
    bounds = [adapt(start), adapt(end)]
    the_day = _date_param(day)
    parts = _rebuild_parts(_table(CheckIn))
    for table in (VenueDay, PersonDay, AreaDay):
        cursor.execute(f"DELETE FROM {_table(table)} WHERE day = %s", [the_day])  # noqa: S608 - names from the models, values bound
    if connection.vendor == "postgresql":
        # Room for the day's (venue, person) pairs and their sorts in memory,
        # for this transaction only: at a million check-ins a day the
        # default 4 MB spilled them to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(
            f"WITH pairs AS MATERIALIZED ({parts['pairs']}),"
            f" venues AS MATERIALIZED ({parts['venues']}),"
            f" entries AS MATERIALIZED ({parts['entries']}),"
            f" people AS MATERIALIZED ({parts['people']}),"
            f" new_venue_days AS ({parts['venue_day']}),"
            f" new_last_scans AS ({parts['venue_activity']}),"
            f" new_person_days AS ({parts['person_day']})"
            f" {parts['counts']}",
            [*bounds, the_day, the_day],
        )
        counts = cursor.fetchall()
    else:
        def using(*names: str) -> str:
            return "WITH " + ", ".join(f"{name} AS ({parts[name]})" for name in names) + " "

        for target, needs in (("venue_day", ("pairs", "venues")),
                              ("venue_activity", ("pairs", "venues")),
                              ("person_day", ("pairs", "venues", "entries", "people"))):
            cursor.execute(using(*needs) + parts[target],
                           [*bounds, the_day] if target != "venue_activity" else bounds)
        cursor.execute(using("pairs", "venues", "entries", "people") + parts["counts"], bounds)
        counts = cursor.fetchall()
    scans: Counter[CounterKey] = Counter()
    people: Counter[CounterKey] = Counter()
    checkins = 0
    for what, entries, number in counts:
        keys = _keys_of(entries.split(","))
        tally = scans if what == "scans" else people
        for unit_key, venue_type, _hot in keys:
            tally[(unit_key, day, venue_type, 0)] += int(number)
        if what == "scans":
            checkins += int(number)
    _add_area_days(cursor, scans, people)
    return checkins


def _forget_vanished_last_scans(start: datetime, end: datetime) -> None:
    """Venues whose recorded last scan falls in [start, end) but has no row
    there any more (deleted before a rebuild): take their latest visit that
    is still there, or drop the row. One index probe per venue finds them."""
    vanished = list(
        VenueActivity.objects.filter(last_scan_at__gte=start, last_scan_at__lt=end)
        .order_by("venue_id")
        .exclude(Exists(CheckIn.objects.filter(venue_id=OuterRef("venue_id"),
                                               arrived_at=OuterRef("last_scan_at"))))
        .values_list("venue_id", flat=True)
    )
    if not vanished:
        return
    latest: dict[int, datetime] = {}
    for chunk in _chunks(vanished):
        latest.update(
            CheckIn.objects.filter(venue_id__in=chunk).values("venue_id")
            .annotate(at=Max("arrived_at")).order_by().values_list("venue_id", "at")
        )
    for venue_id in vanished:
        actual = latest.get(venue_id)
        if actual is None:
            VenueActivity.objects.filter(venue_id=venue_id).delete()
        else:
            VenueActivity.objects.filter(venue_id=venue_id).update(last_scan_at=actual)


def rollups_rebuild(*, since: date | datetime, until: date | datetime) -> RebuildReport:
    """Recomputes every local day from ``since`` to ``until`` from the
    check-in table as it is now: times are a half-open period [since,
    until) (what ``truyvet synth`` passes, a day at a time), dates are
    inclusive. Each day is one transaction (``_rebuild_day``: one read of
    the day's check-ins on PostgreSQL), which also raises its venues' last
    scans to the day's latest visit.

    For bulk loads that bypassed the services, and to repair. Do not
    rebuild days the retention purge has reached: their figures would drop
    to what is left in the table.
    """
    days = _days(since, until)
    total = 0
    for day in days:
        with transaction.atomic(), connection.cursor() as cursor:
            total += _rebuild_day(cursor, day)
    if days:
        start, end = period_bounds(days[0], days[-1])
        with transaction.atomic():
            _forget_vanished_last_scans(start, end)
    return RebuildReport(days=days, checkins=total)


# --- Retention ---------------------------------------------------------------------------------


def rollups_purge_expired(*, now: datetime | None = None) -> int:
    """Deletes the person-day rows (who was where) of the days the check-in
    purge has fully reached, one day per transaction; returns how many. The
    counts made from them stay."""
    horizon = local_day(purge_cutoff(now))
    table = _table(PersonDay)
    total = 0
    while True:
        oldest = (
            PersonDay.objects.filter(day__lt=horizon).order_by("day")
            .values_list("day", flat=True).first()
        )
        if oldest is None:
            return total
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE day = %s",  # noqa: S608 - names from the models, values bound
                           [_date_param(oldest)])
            total += max(cursor.rowcount, 0)


# --- Noted changes, folded in by the worker ----------------------------------------------------
#
# The check-in hooks note each write in ``RollupChange`` (one insert, in the
# writer's transaction); ``rollups_fold`` counts the notes and deletes them
# in one transaction, at one snapshot. Decision 0022 says why this is exact.

# The key of the PostgreSQL advisory lock that only folds take.
FOLD_LOCK = 0x5452_5956_4554  # "TRYVET"
FOLD_CHUNK = 5000  # notes deleted and applied per statement


def _note(kind: str, notes: Sequence[tuple[int | None, int | None, datetime, datetime | None]],
          ) -> None:
    """Writes notes in one statement per ``_MAX_PARAMS`` (a scan: one)."""
    if not notes:
        return
    table = _table(RollupChange)
    adapt = connection.ops.adapt_datetimefield_value
    noted_at = adapt(timezone.now())
    with connection.cursor() as cursor:
        for chunk in _chunks(notes, _rows_per_statement(6)):
            cursor.execute(
                f"INSERT INTO {table} (kind, venue_id, person_id, arrived_at, until, noted_at)"  # noqa: S608 - names from the models, values bound
                " VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk)),
                [value for venue, person, at, until in chunk
                 for value in (kind, venue, person, adapt(at), adapt(until), noted_at)],
            )


def rollups_note_added(*, rows: Sequence[Row]) -> None:
    """``checkins.hooks.checkins_added``: rows were inserted. One statement
    in the writer's transaction; the worker counts them."""
    _note(RollupChange.ADDED, [(int(v), int(p), at, None) for v, p, at in rows])


def rollups_note_changed(*, rows: Sequence[Row]) -> None:
    """``checkins.hooks.checkins_changed``: rows moved (old and new values)
    or were deleted. One statement; the worker recounts what they touch."""
    _note(RollupChange.CHANGED, [(int(v), int(p), at, None) for v, p, at in rows])


def rollups_reload(*, since: datetime | date, until: datetime | date) -> FoldReport:
    """``checkins.hooks.checkins_reloaded`` and repairs: recompute the days
    of [since, until) (times) or since..until (dates) from the check-in
    table, now (waiting for a running fold), together with every note
    waiting, so that no note is counted on top of the recount. Use this,
    not ``rollups_rebuild``, wherever check-ins may be written meanwhile.
    Returns what the fold did (a fold running meanwhile may have done it)."""
    days = _days(since, until)
    if not days:
        return FoldReport()
    start, end = period_bounds(days[0], days[-1])
    _note(RollupChange.RELOADED, [(None, None, start, end)])
    return rollups_fold(wait=True)


@dataclass
class FoldReport:
    """What one fold did; ``busy``: another fold held the lock, nothing done."""

    added: int = 0
    changed: int = 0
    reloaded_days: int = 0
    reloaded_checkins: int = 0
    busy: bool = False


def _aware(value: Any) -> datetime:
    """A time as a raw cursor returns it: aware on PostgreSQL, naive UTC
    text on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _serialization_failure(error: BaseException) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in {"40001", "40P01"}


def rollups_fold(*, wait: bool = False) -> FoldReport:
    """Counts every noted check-in write into the rollups and deletes the
    notes, in one transaction: each note is counted exactly once, and
    recounts (changed rows, reloads) see the check-in table in the same
    snapshot as the notes (decision 0022). Returns what it did.

    Only one fold runs at a time; another finds the lock taken and returns
    ``busy`` at once, or with ``wait`` tries again until it gets it. The
    worker calls this every few seconds (``tasks.reports_fold_rollups``);
    tests call it before reading rollups.
    """
    while True:
        try:
            report = _fold_once()
        except OperationalError as error:
            # At REPEATABLE READ: a fold that committed between this one's
            # snapshot and its lock. Nothing was written; the next try sees it.
            if not _serialization_failure(error):
                raise
            report = FoldReport(busy=True)
        if not (report.busy and wait):
            return report
        time.sleep(0.05)


def _fold_once() -> FoldReport:
    outermost = not connection.in_atomic_block
    report = FoldReport()
    # SQLite: transaction_mode IMMEDIATE takes the one write lock at BEGIN,
    # so nothing else commits while this transaction reads and writes.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if outermost:  # in a caller's transaction its isolation stands
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
            if not cursor.fetchone()[0]:
                report.busy = True
                return report
        table = _table(RollupChange)
        changed: list[Row] = []
        reloads: list[tuple[datetime, datetime]] = []
        last = 0
        while True:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE id > %s"  # noqa: S608 - names from the models, values bound
                " ORDER BY id LIMIT %s) RETURNING id, kind, venue_id, person_id, arrived_at, until",
                [last, FOLD_CHUNK],
            )
            notes = cursor.fetchall()
            if not notes:
                break
            last = max(int(note[0]) for note in notes)
            added: list[Row] = []
            for _id, kind, venue, person, at, until in notes:
                if kind == RollupChange.ADDED:
                    added.append((int(venue), int(person), _aware(at)))
                elif kind == RollupChange.CHANGED:
                    changed.append((int(venue), int(person), _aware(at)))
                else:
                    reloads.append((_aware(at), _aware(until)))
            if added:
                areas = venue_areas(venue for venue, _person, _at in added)
                # A venue deleted since (its check-ins went with it) counts nothing.
                _record([row for row in added if row[0] in areas], areas)
                report.added += len(added)
            if len(notes) < FOLD_CHUNK:
                break
        # After every added row: a recount must find them all counted.
        if changed:
            rollups_refresh(rows=changed)
            report.changed = len(changed)
        for since, until in reloads:
            rebuilt = rollups_rebuild(since=since, until=until)
            report.reloaded_days += len(rebuilt.days)
            report.reloaded_checkins += rebuilt.checkins
    return report
