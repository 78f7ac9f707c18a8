"""The exposure search: who was at the same venue as a source (the case, or
the F1s an expansion starts from) at the same time.

The rule, in closed intervals so that touching counts:

- A check-in's presence is ``[arrived_at, min(ends_at, arrived_at + CAP)]``;
  ``ends_at`` is the real departure or the venue's estimated one, and CAP is
  ``TRACING_MAX_VISIT_MINUTES``: a visit counts for at most that long.
- A source's presence at a visit is that interval clipped to the source's
  window (the case's infectious window). Visits outside it do not count.
- Someone else is a contact when one of their presences at the same venue
  meets a source presence widened by the buffer on both sides
  (``TRACING_BUFFER_MINUTES``, "scanned within 1 hour of the F0").
- Their overlap is the time they really shared with the sources: the length
  of (union of their presences) ∩ (union of every source's presences), per
  venue, added up. Time spent with two sources at once (an F2 who met two
  F1s together) counts once. Someone caught only by the buffer has 0
  overlap, and ``gap_seconds`` says how near they came. Contacts rank by
  overlap (longest first), then by gap (nearest first), in whole seconds.
  ``sources_met`` says, per source, what each of them alone shared.

Cost: one query for the sources' visits (index ``(person, arrived_at)``)
and one for the candidates (the covering index ``(venue, arrived_at,
ends_at, person)``), whatever the number of visits. Each candidate range is
``venue = v AND arrived_at BETWEEN lo - CAP AND hi AND ends_at >= lo`` for a
widened source presence ``[lo, hi]``, so the search reads only the index
entries of the venues visited, in a window a day or so wide: it never scans
the table, and its cost does not grow with the size of the table. On
PostgreSQL the ranges go as arrays joined to the table (one short plan, the
day partitions pruned as it runs) and the rows come back as one array per
column, in binary.

A search from one source (an F1 search) works on whole columns at once
(numpy, ``ContactColumns``): each contact's totals and every presence of
the source they met, with no Python object per contact or visit;
``trace_run`` stores the contacts from those columns, their breakdowns
written as JSON text a column at a time. Adding the visits up in SQL
instead (islands by window functions, a join with the presences bound as
arrays) was tried: on PostgreSQL it took four to eight times as long as
fetching the rows.

Times are counted in whole microseconds since 1970 (Python integers and
numpy int64), the resolution both databases store: every comparison, sum
and difference is exact, and a total is rounded once, to whole seconds for
ranking and to whole minutes for people to read (half to even, by
``_rounded``), never minutes from already rounded seconds.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import json
import operator
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connections
from django.db.models import Field, Q, QuerySet

from truyvet.checkins.models import CheckIn
from truyvet.core.bulk import POSTGRES_EPOCH_MICROSECONDS, column_cursor

# A contact's breakdown keeps this many visits (the longest overlaps); the
# totals and ``visit_count`` always cover every visit.
MAX_VISITS_PER_CONTACT = 20


@dataclass(frozen=True)
class SearchRules:
    """The two numbers of the rule, read from settings unless given."""

    buffer: timedelta
    cap: timedelta

    @classmethod
    def from_settings(cls) -> SearchRules:
        return cls(
            buffer=timedelta(minutes=settings.TRACING_BUFFER_MINUTES),
            cap=timedelta(minutes=settings.TRACING_MAX_VISIT_MINUTES),
        )


@dataclass(frozen=True)
class Presence:
    """One visit of a source, clipped to the source's window."""

    person_id: int
    venue_id: int
    start: datetime
    end: datetime
    checkin_id: Any = None


# Times and lengths are whole microseconds (see the module's docstring).
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
SECOND = 1_000_000
MINUTE = 60 * SECOND


def _micros(moment: datetime) -> int:
    """An aware moment as microseconds since 1970, exactly."""
    return (moment - _EPOCH) // _MICROSECOND


def _length(span: timedelta) -> int:
    return span // _MICROSECOND


def moment(micros: int) -> datetime:
    """Microseconds since 1970 as an aware UTC moment, exactly."""
    return _EPOCH + timedelta(microseconds=micros)


def _rounded(micros: int, unit: int) -> int:
    """``micros / unit`` rounded to the nearest whole number, half to even
    (as ``round()``), in integers: exact for any length."""
    whole, rest = divmod(micros, unit)
    return whole + (2 * rest > unit or (2 * rest == unit and whole % 2 == 1))


def _rounded_array(micros: npt.NDArray[np.int64], unit: int) -> npt.NDArray[np.int64]:
    """``_rounded`` for a column of lengths."""
    whole, rest = np.divmod(micros, unit)
    up = (2 * rest > unit) | ((2 * rest == unit) & (whole % 2 == 1))
    return whole + up.astype(np.int64)


@dataclass
class VisitOverlap:
    """How one contact met one presence of a source."""

    venue_id: int
    source_start: datetime
    source_end: datetime
    contact_start: datetime  # the contact's presence around it (union extent)
    contact_end: datetime
    overlap_seconds: int
    gap_seconds: int
    # Rounded once from the exact lengths, not from the whole seconds above.
    overlap_minutes: int = 0
    gap_minutes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "venue_id": self.venue_id,
            "source_start": self.source_start.isoformat(),
            "source_end": self.source_end.isoformat(),
            "contact_start": self.contact_start.isoformat(),
            "contact_end": self.contact_end.isoformat(),
            "overlap_seconds": self.overlap_seconds,
            "gap_seconds": self.gap_seconds,
            "overlap_minutes": self.overlap_minutes,
            "gap_minutes": self.gap_minutes,
        }


# One met presence while searching: (overlap, gap, presence, their start,
# their end), the numbers in microseconds.
_Hit = tuple[int, int, Presence, int, int]


@dataclass(frozen=True)
class SourceMet:
    """What a contact of a search from several sources shared with one of
    them alone (microseconds)."""

    person_id: int
    overlap: int
    gap: int

    @property
    def overlap_seconds(self) -> int:
        return _rounded(self.overlap, SECOND)

    @property
    def gap_seconds(self) -> int:
        return _rounded(self.gap, SECOND)

    @property
    def overlap_minutes(self) -> int:
        return _rounded(self.overlap, MINUTE)

    @property
    def gap_minutes(self) -> int:
        return _rounded(self.gap, MINUTE)


@dataclass(slots=True)
class Exposure:
    """One contact found by a search.

    The totals are exact over every visit; seconds and minutes are each
    rounded once from the exact lengths. ``visits`` (the breakdown, at most
    MAX_VISITS_PER_CONTACT, the longest overlaps) and the datetimes are
    built on first use: a search of a crowded market finds thousands of
    contacts, and ranking them needs only the numbers.
    """

    person_id: int
    source_person_id: int  # the source they overlapped most with
    overlap_seconds: int
    gap_seconds: int
    overlap_minutes: int
    gap_minutes: int
    first_ts: int  # microseconds since 1970
    last_ts: int
    visit_count: int = 0  # source presences met, all of them
    hits: Sequence[_Hit] = field(default=(), repr=False)
    # A search from several sources: each source met, the closest first.
    # Empty from a search from one source: ``source_person_id``, with the
    # totals above.
    sources_met: Sequence[SourceMet] = ()
    _visits: list[VisitOverlap] | None = field(default=None, repr=False, compare=False)
    # Set when the search worked on columns (``contacts_of`` from one
    # source): ``hits`` are then made from those columns on first use of
    # ``visits``, for every contact of that search at once.
    deferred: _DeferredHits | None = field(default=None, repr=False, compare=False)

    @property
    def rank_key(self) -> tuple[int, int, int]:
        return (-self.overlap_seconds, self.gap_seconds, self.person_id)

    @property
    def first_at(self) -> datetime:
        return moment(self.first_ts)

    @property
    def last_at(self) -> datetime:
        return moment(self.last_ts)

    @property
    def visits(self) -> list[VisitOverlap]:
        if self._visits is None:
            self._visits = self._breakdown()
        return self._visits

    def _breakdown(self) -> list[VisitOverlap]:
        if self.deferred is not None:
            self.deferred.fill()
        # ``hits`` come in listing order (``_presence_order``); when there
        # are too many, those with the longest overlap (then the nearest,
        # then the first listed) are kept, still in listing order.
        kept = self.hits
        if len(kept) > MAX_VISITS_PER_CONTACT:
            chosen = heapq.nsmallest(MAX_VISITS_PER_CONTACT, range(len(kept)),
                                     key=lambda i: (-kept[i][0], kept[i][1], i))
            kept = [kept[i] for i in sorted(chosen)]
        return [
            VisitOverlap(
                venue_id=presence.venue_id, source_start=presence.start,
                source_end=presence.end, contact_start=moment(start),
                contact_end=moment(end), overlap_seconds=_rounded(shared, SECOND),
                gap_seconds=_rounded(gap, SECOND), overlap_minutes=_rounded(shared, MINUTE),
                gap_minutes=_rounded(gap, MINUTE),
            )
            for shared, gap, presence, start, end in kept
        ]


def _any_of(conditions: Iterable[Q]) -> Q:
    return reduce(operator.or_, conditions)


def _capped_end(arrived_at: datetime, ends_at: datetime, cap: timedelta) -> datetime:
    return min(ends_at, arrived_at + cap)


def presences_query(
    windows: Mapping[int, tuple[datetime, datetime]], rules: SearchRules
) -> QuerySet[CheckIn]:
    """The sources' visits that may reach into their windows."""
    return CheckIn.objects.filter(
        _any_of(
            Q(
                person_id=person_id,
                arrived_at__gte=start - rules.cap,
                arrived_at__lte=end,
                ends_at__gte=start,
            )
            for person_id, (start, end) in windows.items()
        )
    ).order_by("arrived_at", "id")


def presences_of(
    windows: Mapping[int, tuple[datetime, datetime]], rules: SearchRules | None = None
) -> list[Presence]:
    """Each source's visits within its window ``{person_id: (start, end)}``,
    clipped to it, in order of arrival. One query."""
    if not windows:
        return []
    rules = rules or SearchRules.from_settings()
    found = []
    rows = presences_query(windows, rules).values_list(
        "id", "person_id", "venue_id", "arrived_at", "ends_at"
    )
    for checkin_id, person_id, venue_id, arrived_at, ends_at in rows:
        window_start, window_end = windows[person_id]
        start = max(arrived_at, window_start)
        end = min(_capped_end(arrived_at, ends_at, rules.cap), window_end)
        if start <= end:
            found.append(Presence(person_id, venue_id, start, end, checkin_id))
    return found


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of closed intervals as a sorted list of disjoint ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def candidate_ranges(
    presences: Sequence[Presence], rules: SearchRules
) -> list[tuple[int, datetime, datetime]]:
    """The widened presences merged per venue: ``(venue_id, lo, hi)``. Fewer,
    wider ranges than presences when visits follow each other closely."""
    by_venue: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for presence in presences:
        by_venue[presence.venue_id].append(
            (presence.start - rules.buffer, presence.end + rules.buffer)
        )
    ranges = []
    for venue_id, intervals in sorted(by_venue.items()):
        intervals.sort()
        lo, hi = intervals[0]
        for start, end in intervals[1:]:
            if start <= hi:
                hi = max(hi, end)
            else:
                ranges.append((venue_id, lo, hi))
                lo, hi = start, end
        ranges.append((venue_id, lo, hi))
    return ranges


@dataclass(frozen=True)
class ScanRange:
    """One indexed range read by the candidate query: check-ins at ``venue_id``
    that arrived after ``after`` (or at ``lo - CAP`` or later, for the first
    range of a venue) and by ``hi``, and that end at ``lo`` or later."""

    venue_id: int
    lo: datetime
    hi: datetime
    after: datetime | None  # the previous range's hi at the same venue


def scan_ranges(presences: Sequence[Presence], rules: SearchRules) -> list[ScanRange]:
    """The merged widened presences, with the arrival spans they read made
    disjoint per venue: a range reads arrivals from ``lo - CAP``, which can
    reach back into the previous range; those rows are already read by that
    range (they arrived by its ``hi`` and end after its ``lo``), so each row
    is read once."""
    ranges: list[ScanRange] = []
    previous: tuple[int, datetime] | None = None
    for venue_id, lo, hi in candidate_ranges(presences, rules):
        after = None
        if previous is not None and previous[0] == venue_id and previous[1] >= lo - rules.cap:
            after = previous[1]
        ranges.append(ScanRange(venue_id, lo, hi, after))
        previous = (venue_id, hi)
    return ranges


# SQLite allows 999 bound parameters by default in older builds and 500 terms
# in one compound SELECT; keep each query well inside both.
MAX_RANGES_PER_QUERY = 150

# SQLite: reading thousands of candidate rows as numbers (microseconds since
# 1970, exact) skips a datetime object per value, which is most of the cost
# of fetching them. Django keeps SQLite datetimes as UTC text
# "YYYY-MM-DD HH:MM:SS[.ffffff]": whole seconds from strftime over the first
# 19 characters only, and the microseconds from the digits after the point.
# strftime must not see the fraction: SQLite rounds a time to milliseconds
# before '%s' takes its whole seconds, so 15:00:00.9996 would read as
# 15:00:01 and, with the fraction added, a second late.
# (PostgreSQL sends timestamps as integers, which ``core.bulk.column_cursor``
# reads as arrays; see ``fetch_candidates``.)
_EPOCH_SQLITE = (
    "(CAST(strftime('%%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0} || '000000', 21, 6) AS INTEGER))"
)


def _columns(using: str) -> tuple[str, str, str, str, str]:
    """The check-in table and its venue, person, arrival and end columns, quoted."""
    quote = connections[using].ops.quote_name
    meta = CheckIn._meta
    venue, person, arrived, ends = (
        quote(str(cast(Field, meta.get_field(name)).column))
        for name in ("venue", "person", "arrived_at", "ends_at")
    )
    return quote(meta.db_table), venue, person, arrived, ends


def candidates_sql(
    presences: Sequence[Presence], rules: SearchRules, exclude_person_ids: Collection[int],
    *, using: str = "default",
) -> list[tuple[str, list[Any]]]:
    """Every check-in that can meet a widened presence, as parameterised SQL
    whose rows are ``(person_id, venue_id, arrived_at, ends_at)`` (on SQLite
    the times in microseconds since 1970). Each merged presence
    (``scan_ranges``) is one range of the ``(venue, arrived_at, ends_at,
    person)`` index, an index-only range scan, and no row is read twice.

    On PostgreSQL: one statement whatever the number of ranges, the ranges
    bound as arrays and joined to the table (``candidates_sql_postgresql``).
    On SQLite: ``UNION ALL`` of one SELECT per range, one statement per
    MAX_RANGES_PER_QUERY ranges (an expansion from many people makes more).
    Every value is a bound parameter; the SQL text holds only names from the
    model and placeholders.
    """
    ranges = scan_ranges(presences, rules)
    if connections[using].vendor == "postgresql":
        return [candidates_sql_postgresql(ranges, rules, exclude_person_ids, using=using)]
    connection = connections[using]
    table, venue, person, arrived, ends = _columns(using)
    epoch = _EPOCH_SQLITE
    # Names from the model and placeholders only; values are all parameters.
    select = (
        f"SELECT {person}, {venue}, {epoch.format(arrived)}, {epoch.format(ends)} "  # noqa: S608 - names from the model, values bound
        f"FROM {table} WHERE {venue} = %s AND {arrived} {{lower}} %s AND {arrived} <= %s "
        f"AND {ends} >= %s"
    )
    excluded = sorted(exclude_person_ids)
    if excluded:
        select += f" AND {person} NOT IN ({', '.join(['%s'] * len(excluded))})"
    adapt = connection.ops.adapt_datetimefield_value
    statements = []
    for first in range(0, len(ranges), MAX_RANGES_PER_QUERY):
        parts, params = [], []
        for scan in ranges[first:first + MAX_RANGES_PER_QUERY]:
            if scan.after is not None:
                parts.append(select.format(lower=">"))
                lower = scan.after
            else:
                parts.append(select.format(lower=">="))
                lower = scan.lo - rules.cap
            params += [scan.venue_id, adapt(lower), adapt(scan.hi), adapt(scan.lo), *excluded]
        statements.append((" UNION ALL ".join(parts), params))
    return statements


# Arrival bounds are exclusive in the PostgreSQL statement: a range that reads
# from ``lo - CAP`` on (inclusive) reads after a microsecond (``_MICROSECOND``)
# less, the resolution of timestamptz.


def candidates_sql_postgresql(
    ranges: Sequence[ScanRange], rules: SearchRules, exclude_person_ids: Collection[int],
    *, using: str = "default",
) -> tuple[str, list[Any]]:
    """The candidate query of PostgreSQL: the ranges as four arrays, unnested
    and joined to the table, so that each is one index range read by a
    nested loop, and only the day partitions a range's bounds reach are read
    (pruning at run time). Its text is the same for any number of ranges:
    one statement, planned in a millisecond, where ``UNION ALL`` of 40 ranges
    over 21 day partitions took 6 ms to plan."""
    table, venue, person, arrived, ends = _columns(using)
    sql = (
        f"SELECT c.{person}, c.{venue}, c.{arrived}, c.{ends} "  # noqa: S608 - names from the model, values bound
        "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[]) "
        "AS r(venue, after, hi, lo) "
        f"JOIN {table} AS c ON c.{venue} = r.venue AND c.{arrived} > r.after "
        f"AND c.{arrived} <= r.hi AND c.{ends} >= r.lo "
        f"WHERE c.{person} <> ALL(%s::bigint[])"
    )
    params: list[Any] = [
        [scan.venue_id for scan in ranges],
        [scan.after if scan.after is not None else scan.lo - rules.cap - _MICROSECOND
         for scan in ranges],
        [scan.hi for scan in ranges],
        [scan.lo for scan in ranges],
        sorted(exclude_person_ids),
    ]
    return sql, params


@dataclass(frozen=True)
class Candidates:
    """The candidate check-ins of a search, a column each: who, where, and
    when they arrived and ended (microseconds since 1970), in no order."""

    person: npt.NDArray[np.int64]
    venue: npt.NDArray[np.int64]
    arrived: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    @classmethod
    def of(cls, person: Sequence[int], venue: Sequence[int], arrived: Sequence[int],
           ends: Sequence[int]) -> Candidates:
        return cls(np.array(person, dtype=np.int64), np.array(venue, dtype=np.int64),
                   np.array(arrived, dtype=np.int64), np.array(ends, dtype=np.int64))

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[Any, ...]]) -> Candidates:
        if not rows:
            return cls.of([], [], [], [])
        person, venue, arrived, ends = zip(*rows, strict=True)
        return cls.of(person, venue, arrived, ends)

    def __len__(self) -> int:
        return len(self.person)

    def rows(self) -> list[tuple[int, int, int, int]]:
        """As ``(person_id, venue_id, arrived, ends)`` tuples of Python integers."""
        return list(zip(self.person.tolist(), self.venue.tolist(), self.arrived.tolist(),
                        self.ends.tolist(), strict=True))


def fetch_candidates(
    presences: Sequence[Presence], rules: SearchRules, exclude_person_ids: Collection[int],
    *, using: str = "default",
) -> Candidates:
    """The rows of ``candidates_sql``, read as columns.

    On PostgreSQL the server gathers each column into an array, sent in
    binary and read straight into numpy (``core.bulk.column_cursor``): no Python
    object per value, and no conversion of times on the server (date_part
    on 28,000 values took 5 ms). At 14,000 rows the fetch went from 26 ms
    (rows as text) to about 10 ms. That needs
    parameters bound by the server (psycopg's ``Cursor``; Django's default
    binds them in the client, and its cursor cannot read binary results),
    without preparing the statement: behind PgBouncer in transaction mode a
    prepared statement is not there on the next transaction's connection.
    """
    statements = candidates_sql(presences, rules, exclude_person_ids, using=using)
    connection = connections[using]
    if connection.vendor != "postgresql":
        rows: list[tuple[Any, ...]] = []
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                rows += cursor.fetchall()
        return Candidates.from_rows(rows)
    (sql, params), = statements
    gathered = (
        "SELECT array_agg(person), array_agg(venue), array_agg(arrived), array_agg(ends) "  # noqa: S608 - wraps candidates_sql
        f"FROM ({sql}) AS candidate(person, venue, arrived, ends)"
    )
    with column_cursor(using) as cursor:
        cursor.execute(gathered, params)
        person, venue, arrived, ends = cursor.fetchone()
    if person is None:  # no rows: array_agg of nothing is NULL
        return Candidates.of([], [], [], [])
    # Microseconds since 2000 to microseconds since 1970: one exact addition.
    # The ids are bigint (arrays the loader reads); asarray costs nothing then,
    # and would take an integer column's ids, which psycopg reads as a list.
    return Candidates(np.asarray(person, dtype=np.int64), np.asarray(venue, dtype=np.int64),
                      arrived + POSTGRES_EPOCH_MICROSECONDS,
                      ends + POSTGRES_EPOCH_MICROSECONDS)


@dataclass
class _Source:
    """One source's presences at one venue (or several sources' together),
    prepared for fast lookups; times in microseconds."""

    presences: list[Presence]  # sorted by start
    starts: list[int]
    ends: list[int]
    reach: list[int]  # running maximum of ends: presences[:i + 1] end no later
    merged: list[tuple[int, int]]  # their union, disjoint and sorted
    merged_ends: list[int]
    # No two presences share time: then one stay's overlap with their union
    # is the sum of its overlaps with each.
    disjoint: bool

    @classmethod
    def of(cls, presences: list[Presence]) -> _Source:
        presences = sorted(presences, key=lambda p: (p.start, p.end))
        starts = [_micros(p.start) for p in presences]
        ends = [_micros(p.end) for p in presences]
        reach: list[int] = []
        furthest = ends[0]
        for end in ends:
            furthest = max(furthest, end)
            reach.append(furthest)
        merged = _merge(zip(starts, ends, strict=True))
        disjoint = all(starts[i] >= reach[i - 1] for i in range(1, len(starts)))
        return cls(presences, starts, ends, reach, merged, [e for _s, e in merged], disjoint)

    def shared_by(
        self, start: npt.NDArray[np.int64], end: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """For each stay [start, end], its time shared with this source's
        union: how much of the union lies before ``end`` less how much lies
        before ``start``."""
        starts = np.array([part_start for part_start, _end in self.merged], dtype=np.int64)
        ends = np.array(self.merged_ends, dtype=np.int64)
        before = np.r_[0, np.cumsum(ends - starts)[:-1]]  # union length before each part

        def covered(moments: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            part = np.searchsorted(starts, moments, side="right") - 1  # the last part begun
            at = np.maximum(part, 0)
            inside = np.minimum(moments, ends[at]) - starts[at]
            return np.where(part >= 0, before[at] + inside, 0)

        return covered(end) - covered(start)

    def shared(self, intervals: Sequence[tuple[int, int]]) -> int:
        """Length of (union of ``intervals``, disjoint and sorted) ∩ this source's union."""
        total = 0
        for start, end in intervals:
            i = bisect_left(self.merged_ends, start)
            while i < len(self.merged) and self.merged[i][0] <= end:
                overlap = min(end, self.merged[i][1]) - max(start, self.merged[i][0])
                if overlap > 0:
                    total += overlap
                i += 1
        return total


def _rank(exposure: Exposure) -> tuple[int, int, int]:
    return (-exposure.overlap_seconds, exposure.gap_seconds, exposure.person_id)


def contacts_of(
    presences: Sequence[Presence],
    *,
    rules: SearchRules | None = None,
    exclude_person_ids: Collection[int] = (),
    using: str = "default",
    eager_visits: bool = False,
) -> list[Exposure]:
    """Everyone who met one of ``presences``, ranked (see the module's rule).

    ``exclude_person_ids`` are left out in the query (the sources themselves
    at least). One query; the matching costs O(rows × log(presences)).

    From one source (an F1 search) the search works on columns
    (``contact_columns``) and each contact's per-visit breakdown
    (``Exposure.visits``) is made from them the first time one is asked
    for (``_DeferredHits``): ranking a crowd of thousands needs only the
    totals. ``eager_visits`` matches row by row instead (``_matched``), as a
    search from several sources always does; the numbers are the same
    either way (the tests compare both).
    """
    if not presences:
        return []
    rules = rules or SearchRules.from_settings()
    with _gc_paused():
        candidates = fetch_candidates(presences, rules, set(exclude_person_ids), using=using)
        if not eager_visits and len({p.person_id for p in presences}) == 1:
            return _columns_from_one_source(presences, candidates, rules).exposures()
        return _matched(presences, candidates.rows(), rules)


def contact_columns(
    presences: Sequence[Presence],
    *,
    rules: SearchRules | None = None,
    exclude_person_ids: Collection[int] = (),
    using: str = "default",
) -> ContactColumns:
    """``contacts_of`` for presences of one person (an F1 search), as
    columns: the same contacts, numbers and breakdowns, with no Python
    object per contact (``trace_run`` stores them from these)."""
    if len({p.person_id for p in presences}) > 1:
        raise ValueError("contact_columns searches from one person's presences")
    if not presences:
        return ContactColumns(None, presences)
    rules = rules or SearchRules.from_settings()
    with _gc_paused():
        candidates = fetch_candidates(presences, rules, set(exclude_person_ids), using=using)
        return _columns_from_one_source(presences, candidates, rules)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a search builds its objects.

    A search of a busy market makes tens of thousands of tuples, lists and
    dicts, none in a reference cycle (reference counting frees them). Each
    700 of them start a collection, and every few a full one that walks
    every object of the process: with the collector on, the same search
    took from 90 to 300 ms (1 M check-ins, 15,000 candidate rows, on a busy
    2-CPU machine), off it took 90 ms every time. The previous state is
    restored, so a caller that keeps the collector off keeps it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _DeferredHits:
    """The per-visit hits of a search from one source, made Python tuples
    for every contact at once, from the columns the search worked out
    (``ContactColumns``), the first time one of them is asked for its
    ``visits``."""

    __slots__ = ("columns", "exposures")

    def __init__(self, columns: ContactColumns) -> None:
        self.columns = columns
        self.exposures: list[Exposure] = []

    def fill(self) -> None:
        columns = self.columns
        presences = columns.presences
        with _gc_paused():
            hits: list[_Hit] = [
                (overlap, gap, presences[at], start, end)
                for overlap, gap, at, start, end in zip(
                    columns.hit_overlap.tolist(), columns.hit_gap.tolist(),
                    columns.hit_presence.tolist(), columns.hit_start.tolist(),
                    columns.hit_end.tolist(), strict=True,
                )
            ]
            bounds = columns.hit_bounds().tolist()
            for index, found in enumerate(self.exposures):
                found.hits = hits[bounds[index]:bounds[index + 1]]
                found.deferred = None
        self.exposures = []


def _presence_order(presences: Sequence[Presence]) -> npt.NDArray[np.int64]:
    """Each presence's place in the order a contact's visits are listed in:
    by start, venue and end (then as given, for presences alike in all
    three, whose visits are alike too)."""
    order = sorted(range(len(presences)), key=lambda k: (
        _micros(presences[k].start), presences[k].venue_id, _micros(presences[k].end), k))
    place = np.empty(len(presences), dtype=np.int64)
    place[order] = np.arange(len(presences), dtype=np.int64)
    return place


def _iso_utc(micros: npt.NDArray[np.int64]) -> list[str]:
    """Each moment (microseconds since 1970) as ``datetime.isoformat()``
    writes it in UTC, a column at a time: the microseconds only when there
    are some."""
    moments = micros.astype("datetime64[us]")
    text = np.where(micros % SECOND == 0, np.datetime_as_string(moments, unit="s"),
                    np.datetime_as_string(moments, unit="us"))
    return cast(list[str], np.strings.add(text, "+00:00").tolist())


_Column = npt.NDArray[np.int64]


def _no_integers() -> _Column:
    return np.empty(0, dtype=np.int64)




@dataclass(frozen=True)
class ContactColumns:
    """The contacts of a search from one source, ranked (as ``_rank``), a
    column each, and every presence of the source that each of them met
    (their hits), a column each: grouped by contact in rank order and,
    within a contact, in ``_presence_order``. Times and lengths are
    microseconds. Nothing here is a Python object per contact: a market F0
    meets tens of thousands of people, and ``trace_run`` stores them from
    these columns (``visits_json``)."""

    source_person_id: int | None
    presences: Sequence[Presence]  # the source's, as searched
    person_id: _Column = field(default_factory=_no_integers)
    overlap: _Column = field(default_factory=_no_integers)  # with the source's union, exact
    gap: _Column = field(default_factory=_no_integers)  # the nearest they came
    # The first and last moment near the source.
    first: _Column = field(default_factory=_no_integers)
    last: _Column = field(default_factory=_no_integers)
    visit_count: _Column = field(default_factory=_no_integers)  # presences met
    hit_contact: _Column = field(default_factory=_no_integers)  # a position in the above
    hit_presence: _Column = field(default_factory=_no_integers)  # a position in presences
    hit_overlap: _Column = field(default_factory=_no_integers)  # with that presence alone
    hit_gap: _Column = field(default_factory=_no_integers)
    # Their stays around that presence (the extent of the stays that met it).
    hit_start: _Column = field(default_factory=_no_integers)
    hit_end: _Column = field(default_factory=_no_integers)

    def __len__(self) -> int:
        return len(self.person_id)

    @property
    def overlap_seconds(self) -> npt.NDArray[np.int64]:
        return _rounded_array(self.overlap, SECOND)

    @property
    def gap_seconds(self) -> npt.NDArray[np.int64]:
        return _rounded_array(self.gap, SECOND)

    @property
    def overlap_minutes(self) -> npt.NDArray[np.int64]:
        return _rounded_array(self.overlap, MINUTE)

    @property
    def gap_minutes(self) -> npt.NDArray[np.int64]:
        return _rounded_array(self.gap, MINUTE)

    def hit_bounds(self) -> npt.NDArray[np.intp]:
        """Where each contact's hits begin, and where the last one's end."""
        return np.searchsorted(self.hit_contact, np.arange(len(self) + 1), side="left")

    def kept_hits(self) -> npt.NDArray[np.intp]:
        """The hits each contact's stored breakdown keeps, in order: all of
        them, or the MAX_VISITS_PER_CONTACT with the longest overlap (then the
        nearest, then the first listed), as ``Exposure.visits`` keeps them."""
        count = len(self.hit_contact)
        bounds = self.hit_bounds()
        listed = np.arange(count) - bounds[self.hit_contact]  # place within the contact
        if not count or listed.max() < MAX_VISITS_PER_CONTACT:
            return np.arange(count)
        order = np.lexsort((listed, self.hit_gap, -self.hit_overlap, self.hit_contact))
        rank = np.empty(count, dtype=np.int64)
        rank[order] = np.arange(count) - bounds[self.hit_contact[order]]
        return np.flatnonzero(rank < MAX_VISITS_PER_CONTACT)

    def visits_json(self, venues: Mapping[int, tuple[str, str]]) -> list[str]:
        """Each contact's breakdown as the text ``Contact.visits`` stores:
        ``json.dumps`` of ``[visit.as_json() | {"venue_name": ...,
        "venue_code": ...}, ...]`` for the visits ``Exposure.visits`` lists,
        to the character (the tests compare them), with ``venues`` giving
        ``(name, code)`` by id. Written a column at a time: one string per
        contact and per visit, no dict, no datetime."""
        heads, tails = [], []  # per presence of the source
        for presence in self.presences:
            name, code = venues.get(presence.venue_id, ("", ""))
            heads.append(
                f'{{"venue_id": {int(presence.venue_id)}, '
                f'"source_start": "{presence.start.isoformat()}", '
                f'"source_end": "{presence.end.isoformat()}", '
            )
            tails.append(f', "venue_name": {json.dumps(name)}, "venue_code": {json.dumps(code)}}}')
        kept = self.kept_hits()
        presence = self.hit_presence[kept].tolist()
        overlap, gap = self.hit_overlap[kept], self.hit_gap[kept]
        visits = [
            f'{heads[at]}"contact_start": "{start}", "contact_end": "{end}", '
            f'"overlap_seconds": {overlap_seconds}, "gap_seconds": {gap_seconds}, '
            f'"overlap_minutes": {overlap_minutes}, "gap_minutes": {gap_minutes}{tails[at]}'
            for at, start, end, overlap_seconds, gap_seconds, overlap_minutes, gap_minutes
            in zip(presence, _iso_utc(self.hit_start[kept]), _iso_utc(self.hit_end[kept]),
                   _rounded_array(overlap, SECOND).tolist(),
                   _rounded_array(gap, SECOND).tolist(),
                   _rounded_array(overlap, MINUTE).tolist(),
                   _rounded_array(gap, MINUTE).tolist(), strict=True)
        ]
        bounds = np.searchsorted(self.hit_contact[kept], np.arange(len(self) + 1)).tolist()
        return ["[" + ", ".join(visits[a:b]) + "]" for a, b in itertools.pairwise(bounds)]

    def exposures(self) -> list[Exposure]:
        """One ``Exposure`` per contact, the same numbers, their ``visits``
        made from these columns on first use (``_DeferredHits``)."""
        assert self.source_person_id is not None or not len(self)
        deferred = _DeferredHits(self)
        exposures = [
            Exposure(person, cast(int, self.source_person_id), overlap, near, overlap_minutes,
                     gap_minutes, first_ts, last_ts, count, deferred=deferred)
            for person, overlap, near, overlap_minutes, gap_minutes, first_ts, last_ts, count
            in zip(
                self.person_id.tolist(), self.overlap_seconds.tolist(),
                self.gap_seconds.tolist(), self.overlap_minutes.tolist(),
                self.gap_minutes.tolist(), self.first.tolist(), self.last.tolist(),
                self.visit_count.tolist(), strict=True,
            )
        ]
        deferred.exposures = exposures
        return exposures


def _columns_from_one_source(
    presences: Sequence[Presence], candidates: Candidates, rules: SearchRules
) -> ContactColumns:
    """``_matched`` for one source, worked out a column at a time (numpy)
    instead of a row at a time: a busy market's 14,000 candidate rows took
    55 ms row by row, 11 ms here for the totals.

    The numbers are ``_matched``'s exactly (the tests compare them, visit by
    visit): the same comparisons of the same integers (microseconds), and
    sums and differences of integers do not depend on their order, so the
    shared time as the difference of two running totals is the same number.
    """
    buffer = _length(rules.buffer)
    cap = _length(rules.cap)
    source_id = presences[0].person_id
    empty = ContactColumns(source_id, presences)
    if not len(candidates):
        return empty
    stays = _merged_stays(candidates, cap)
    by_venue: dict[int, list[Presence]] = defaultdict(list)
    for presence in presences:
        by_venue[presence.venue_id].append(presence)
    position = {id(presence): at for at, presence in enumerate(presences)}

    # Each stay's time shared with the source, and each (stay, presence)
    # pair that meets within the buffer, venue by venue.
    shared = np.zeros(len(stays.start), dtype=np.int64)
    met_stay, met_presence, met_gap, met_first, met_last = [], [], [], [], []
    met_overlap, met_start, met_end = [], [], []
    for venue_id, venue_presences in by_venue.items():
        source = _Source.of(venue_presences)
        here = np.flatnonzero(stays.venue == venue_id)
        start, end = stays.start[here], stays.end[here]
        shared[here] = source.shared_by(start, end)
        starts = np.array(source.starts, dtype=np.int64)
        ends = np.array(source.ends, dtype=np.int64)
        reach = np.array(source.reach, dtype=np.int64)
        positions = np.array([position[id(p)] for p in source.presences], dtype=np.int64)
        stay, index = _pairs_in_reach(reach, starts, start, end, buffer)
        s, e, p_start, p_end = start[stay], end[stay], starts[index], ends[index]
        meets = ~((s > p_end + buffer) | (e < p_start - buffer))
        s, e, p_start, p_end = s[meets], e[meets], p_start[meets], p_end[meets]
        met_stay.append(here[stay[meets]])
        met_presence.append(positions[index[meets]])
        met_gap.append(np.where(s > p_end, s - p_end, np.where(p_start > e, p_start - e, 0)))
        met_first.append(np.where(s > p_start - buffer, s, p_start - buffer))
        met_last.append(np.where(e < p_end + buffer, e, p_end + buffer))
        met_overlap.append(np.maximum(np.minimum(e, p_end) - np.maximum(s, p_start), 0))
        met_start.append(s)
        met_end.append(e)
    pair_person = stays.person_index[np.concatenate(met_stay)]
    if not len(pair_person):
        return empty
    listed = _presence_order(presences)
    pair_presence = np.concatenate(met_presence)

    # Per contact and presence met (a hit; two of their stays at a venue may
    # meet the same presence): the time shared with it, the nearest gap and
    # their stays' extent. Per contact: the presences met, the nearest gap,
    # the first and last moment near the source, and their time shared with
    # the source's union over all their stays.
    order = np.lexsort((listed[pair_presence], pair_person))
    pair_person, pair_presence = pair_person[order], pair_presence[order]
    new_contact = np.r_[True, pair_person[1:] != pair_person[:-1]]
    contact_at = np.flatnonzero(new_contact)
    new_hit = new_contact | np.r_[False, pair_presence[1:] != pair_presence[:-1]]
    hit_at = np.flatnonzero(new_hit)
    pair_gap = np.concatenate(met_gap)[order]
    visit_count = np.add.reduceat(new_hit.astype(np.int64), contact_at)
    gap = np.minimum.reduceat(pair_gap, contact_at)
    first = np.minimum.reduceat(np.concatenate(met_first)[order], contact_at)
    last = np.maximum.reduceat(np.concatenate(met_last)[order], contact_at)
    contact = pair_person[contact_at]
    total = np.add.reduceat(shared, stays.person_at)[contact]
    person_id = stays.person_ids[contact]

    ranked = np.lexsort((person_id, _rounded_array(gap, SECOND),
                         -_rounded_array(total, SECOND)))  # as _rank
    place = np.empty(len(ranked), dtype=np.int64)
    place[ranked] = np.arange(len(ranked))
    # The hits are in listing order within each contact already; the
    # contacts' runs of hits move to the contacts' ranks.
    hit_contact = place[(np.cumsum(new_contact) - 1)[hit_at]]
    by_rank = np.argsort(hit_contact, kind="stable")

    def per_hit(values: list[npt.NDArray[np.int64]], reduce: np.ufunc) -> npt.NDArray[np.int64]:
        return cast(npt.NDArray[np.int64],
                    reduce.reduceat(np.concatenate(values)[order], hit_at)[by_rank])

    return ContactColumns(
        source_person_id=source_id, presences=presences,
        person_id=person_id[ranked], overlap=total[ranked], gap=gap[ranked],
        first=first[ranked], last=last[ranked], visit_count=visit_count[ranked],
        hit_contact=hit_contact[by_rank], hit_presence=pair_presence[hit_at][by_rank],
        hit_overlap=per_hit(met_overlap, np.add), hit_gap=per_hit(met_gap, np.minimum),
        hit_start=per_hit(met_start, np.minimum), hit_end=per_hit(met_end, np.maximum),
    )


@dataclass(frozen=True)
class _Stays:
    """Each candidate's stays at each venue merged where they meet (as
    ``_merge`` does), sorted by person, then venue, then start."""

    person_ids: npt.NDArray[np.int64]  # the people, a number each
    person_index: npt.NDArray[np.int64]  # a stay's person, as a position in person_ids
    person_at: npt.NDArray[np.int64]  # where each person's stays begin
    venue: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]


def _merged_stays(candidates: Candidates, cap: int) -> _Stays:
    end = np.minimum(candidates.ends, candidates.arrived + cap)
    order = np.lexsort((end, candidates.arrived, candidates.venue, candidates.person))
    person, venue = candidates.person[order], candidates.venue[order]
    start, end = candidates.arrived[order], end[order]
    new_group = np.r_[True, (person[1:] != person[:-1]) | (venue[1:] != venue[:-1])]
    # The furthest end so far within each (person, venue) group: a running
    # maximum that restarts with each group, by doubling steps (log2 of the
    # largest group, a handful).
    group = np.cumsum(new_group)
    reach = end.copy()
    width, largest = 1, int(np.bincount(group).max())
    while width < largest:
        same = group[width:] == group[:-width]
        reach[width:] = np.where(same, np.maximum(reach[width:], reach[:-width]), reach[width:])
        width *= 2
    # A stay starts a new merged one where it starts after all before it ended.
    begins = np.flatnonzero(new_group | np.r_[True, start[1:] > reach[:-1]])
    merged_person = person[begins]
    new_person = np.r_[True, merged_person[1:] != merged_person[:-1]]
    return _Stays(
        person_ids=merged_person[new_person],
        person_index=np.cumsum(new_person) - 1,
        person_at=np.flatnonzero(new_person),
        venue=venue[begins],
        start=start[begins],
        end=np.maximum.reduceat(end, begins),
    )


def _pairs_in_reach(
    reach: npt.NDArray[np.int64], starts: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64], end: npt.NDArray[np.int64], buffer: int,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Every (stay, presence) pair that may meet within ``buffer``, as two
    index arrays: the stay's position in ``start``/``end`` and the
    presence's in the source's ``starts`` (sorted) and ``reach`` (their
    running maximum end). For a stay [s, e] those are the presences that
    start by ``e + buffer`` and whose reach gets to ``s - buffer``, the
    bounds ``_matched`` bisects for; the pairs still have to be checked."""
    lo = np.searchsorted(reach, start - buffer, side="left")
    hi = np.searchsorted(starts, end + buffer, side="right")
    count = np.maximum(hi - lo, 0)
    stay = np.repeat(np.arange(len(start)), count)
    # Within each stay's run of pairs, presences lo, lo + 1, ...
    run_start = np.cumsum(count) - count
    index = np.arange(len(stay)) - np.repeat(run_start, count) + np.repeat(lo, count)
    return stay, index


def _matched(
    presences: Sequence[Presence], rows: Iterable[tuple[Any, ...]], rules: SearchRules
) -> list[Exposure]:
    """Every contact of ``presences`` among the candidate ``rows``, with the
    per-visit breakdown, ranked."""
    buffer = _length(rules.buffer)
    cap = _length(rules.cap)
    several = len({presence.person_id for presence in presences}) > 1

    grouped: dict[int, dict[int, list[Presence]]] = defaultdict(lambda: defaultdict(list))
    for presence in presences:
        grouped[presence.venue_id][presence.person_id].append(presence)
    sources = {
        venue_id: [(source_id, _Source.of(items)) for source_id, items in by_source.items()]
        for venue_id, by_source in grouped.items()
    }
    # Every source's presences at a venue together, for the time shared with
    # any of them (made when a contact there met two sources or more).
    together: dict[int, _Source] = {}

    # (person, venue) -> the person's presences there, in microseconds
    stays: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for person_id, venue_id, arrived, left in rows:
        stays[(person_id, venue_id)].append((arrived, left if left < arrived + cap
                                             else arrived + cap))

    # person -> source -> [overlap, gap, first, last, visit count, hits]
    found: dict[int, dict[int, list[Any]]] = {}
    # person -> time shared with the union of the sources, over all venues
    shared_with_any: dict[int, int] = defaultdict(int)
    for (person_id, venue_id), intervals in stays.items():
        theirs = intervals if len(intervals) == 1 else _merge(intervals)
        totals_here: list[int] = []  # per source met at this venue
        for source_id, source in sources[venue_id]:
            starts, ends, reach = source.starts, source.ends, source.reach
            if len(theirs) == 1:  # the usual case: one stay, each presence met once
                s, e = theirs[0]
                hits: list[_Hit] = []
                total = 0
                gap_min = first_min = last_max = 0
                for i in range(bisect_left(reach, s - buffer), bisect_right(starts, e + buffer)):
                    p_start, p_end = starts[i], ends[i]
                    if s > p_end + buffer or e < p_start - buffer:
                        continue
                    overlap = (e if e < p_end else p_end) - (s if s > p_start else p_start)
                    if overlap < 0:
                        overlap = 0
                    gap = s - p_end if s > p_end else (p_start - e if p_start > e else 0)
                    first = s if s > p_start - buffer else p_start - buffer
                    last = e if e < p_end + buffer else p_end + buffer
                    if not hits:
                        gap_min, first_min, last_max = gap, first, last
                    else:
                        gap_min = gap if gap < gap_min else gap_min
                        first_min = first if first < first_min else first_min
                        last_max = last if last > last_max else last_max
                    total += overlap
                    hits.append((overlap, gap, source.presences[i], s, e))
                if not hits:
                    continue
                if not source.disjoint:
                    total = source.shared(theirs)
                met_count = len(hits)
            else:
                met: dict[int, list[int]] = {}  # presence -> [overlap, gap, first, last, s, e]
                for s, e in theirs:
                    for i in range(
                        bisect_left(reach, s - buffer), bisect_right(starts, e + buffer)
                    ):
                        p_start, p_end = starts[i], ends[i]
                        if s > p_end + buffer or e < p_start - buffer:
                            continue
                        overlap = max(0, min(e, p_end) - max(s, p_start))
                        gap = max(s - p_end, p_start - e, 0)
                        first, last = max(s, p_start - buffer), min(e, p_end + buffer)
                        seen = met.get(i)
                        if seen is None:
                            met[i] = [overlap, gap, first, last, s, e]
                        else:  # the same presence met by another of their stays
                            seen[0] += overlap
                            seen[1] = min(seen[1], gap)
                            seen[2], seen[3] = min(seen[2], first), max(seen[3], last)
                            seen[4], seen[5] = min(seen[4], s), max(seen[5], e)
                if not met:
                    continue
                total = source.shared(theirs)
                met_count = len(met)
                gap_min = min(v[1] for v in met.values())
                first_min = min(v[2] for v in met.values())
                last_max = max(v[3] for v in met.values())
                hits = [(v[0], v[1], source.presences[i], v[4], v[5]) for i, v in met.items()]
            totals_here.append(total)
            by_source = found.get(person_id)
            if by_source is None:
                by_source = found[person_id] = {}
            entry = by_source.get(source_id)
            if entry is None:
                by_source[source_id] = [total, gap_min, first_min, last_max, met_count, hits]
            else:  # the same person at another venue
                entry[0] += total
                entry[1] = min(entry[1], gap_min)
                entry[2], entry[3] = min(entry[2], first_min), max(entry[3], last_max)
                entry[4] += met_count
                entry[5].extend(hits)
        if len(totals_here) == 1:
            shared_with_any[person_id] += totals_here[0]
        elif totals_here:  # time with two sources at once counts once
            union = together.get(venue_id)
            if union is None:
                union = together[venue_id] = _Source.of(
                    [p for _source_id, source in sources[venue_id] for p in source.presences]
                )
            shared_with_any[person_id] += union.shared(theirs)

    # Each contact's hits in listing order (``_presence_order``).
    listed = dict(zip(map(id, presences), _presence_order(presences).tolist(), strict=True))

    def in_order(hits: list[_Hit]) -> list[_Hit]:
        return sorted(hits, key=lambda hit: listed[id(hit[2])])

    exposures = []
    for person_id, by_source in found.items():
        overlap = shared_with_any[person_id]
        if len(by_source) == 1:  # always so for an F1 search
            for source_id, (alone, gap, first, last, count, hits) in by_source.items():
                exposures.append(Exposure(
                    person_id, source_id, _rounded(overlap, SECOND), _rounded(gap, SECOND),
                    _rounded(overlap, MINUTE), _rounded(gap, MINUTE), first, last, count,
                    in_order(hits),
                    sources_met=(SourceMet(source_id, alone, gap),) if several else (),
                ))
            continue
        entries = list(by_source.values())
        gap = min(entry[1] for entry in entries)
        met_sources = sorted(
            (SourceMet(source_id, entry[0], entry[1]) for source_id, entry in by_source.items()),
            key=lambda m: (-m.overlap, m.gap, m.person_id),
        )
        exposures.append(
            Exposure(
                person_id=person_id,
                source_person_id=met_sources[0].person_id,
                overlap_seconds=_rounded(overlap, SECOND),
                gap_seconds=_rounded(gap, SECOND),
                overlap_minutes=_rounded(overlap, MINUTE),
                gap_minutes=_rounded(gap, MINUTE),
                first_ts=min(entry[2] for entry in entries),
                last_ts=max(entry[3] for entry in entries),
                visit_count=sum(entry[4] for entry in entries),
                hits=in_order([hit for entry in entries for hit in entry[5]]),
                sources_met=met_sources,
            )
        )
    exposures.sort(key=_rank)
    return exposures
