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
- Their overlap is the time they really shared with the source: the length
  of (union of their presences) ∩ (union of the source's presences), per
  venue, added up. Someone caught only by the buffer has 0 overlap, and
  ``gap_seconds`` says how near they came. Contacts rank by overlap
  (longest first), then by gap (nearest first).

Cost: one query for the sources' visits (index ``(person, arrived_at)``)
and one for the candidates (index ``(venue, arrived_at)``), whatever the
number of visits. Each candidate range is
``venue = v AND arrived_at BETWEEN lo - CAP AND hi AND ends_at >= lo`` for a
widened source presence ``[lo, hi]``, so the search reads only the index
entries of the venues visited, in a window a day or so wide: it never scans
the table, and its cost does not grow with the size of the table.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from truyvet.checkins.models import CheckIn


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

    def as_json(self) -> dict[str, Any]:
        return {
            "venue_id": self.venue_id,
            "source_start": self.source_start.isoformat(),
            "source_end": self.source_end.isoformat(),
            "contact_start": self.contact_start.isoformat(),
            "contact_end": self.contact_end.isoformat(),
            "overlap_seconds": self.overlap_seconds,
            "gap_seconds": self.gap_seconds,
        }


@dataclass
class Exposure:
    """One contact found by a search."""

    person_id: int
    source_person_id: int  # the source they overlapped most with
    overlap_seconds: int
    gap_seconds: int
    first_at: datetime
    last_at: datetime
    visits: list[VisitOverlap] = field(default_factory=list)

    @property
    def rank_key(self) -> tuple[int, int, int]:
        return (-self.overlap_seconds, self.gap_seconds, self.person_id)


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


def _merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of closed intervals as a sorted list of disjoint ones."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _shared_length(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    """The length of the intersection of two sorted disjoint interval lists."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            total += end - start
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


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


def candidates_query(
    presences: Sequence[Presence], rules: SearchRules, exclude_person_ids: Collection[int]
) -> QuerySet[CheckIn]:
    """Every check-in that can meet a widened presence: one indexed range of
    ``(venue, arrived_at)`` per merged presence."""
    condition = _any_of(
        Q(venue_id=venue_id, arrived_at__gte=lo - rules.cap, arrived_at__lte=hi, ends_at__gte=lo)
        for venue_id, lo, hi in candidate_ranges(presences, rules)
    )
    query = CheckIn.objects.filter(condition)
    if exclude_person_ids:
        query = query.exclude(person_id__in=list(exclude_person_ids))
    return query


def contacts_of(
    presences: Sequence[Presence],
    *,
    rules: SearchRules | None = None,
    exclude_person_ids: Collection[int] = (),
) -> list[Exposure]:
    """Everyone who met one of ``presences``, ranked (see the module's rule).

    ``exclude_person_ids`` are left out in the query (the sources themselves
    at least). One query.
    """
    if not presences:
        return []
    rules = rules or SearchRules.from_settings()
    excluded = set(exclude_person_ids)
    buffer = rules.buffer.total_seconds()

    sources: dict[tuple[int, int], list[Presence]] = defaultdict(list)  # (venue, source)
    for presence in presences:
        sources[(presence.venue_id, presence.person_id)].append(presence)
    sources_at: dict[int, list[int]] = defaultdict(list)
    for venue_id, source_id in sources:
        sources_at[venue_id].append(source_id)

    # (person, venue) -> the person's presences there, as timestamps
    stays: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    rows = candidates_query(presences, rules, excluded).values_list(
        "person_id", "venue_id", "arrived_at", "ends_at"
    )
    for person_id, venue_id, arrived_at, ends_at in rows:
        if person_id in excluded:
            continue
        end = _capped_end(arrived_at, ends_at, rules.cap)
        stays[(person_id, venue_id)].append((arrived_at.timestamp(), end.timestamp()))

    tz = presences[0].start.tzinfo
    # person -> source -> [overlap, gap, first, last, visits]
    found: dict[int, dict[int, list[Any]]] = defaultdict(dict)
    for (person_id, venue_id), intervals in stays.items():
        theirs = _merge(intervals)
        for source_id in sources_at[venue_id]:
            hits = []
            for presence in sources[(venue_id, source_id)]:
                p_start, p_end = presence.start.timestamp(), presence.end.timestamp()
                meeting = [
                    (s, e) for s, e in theirs if s <= p_end + buffer and e >= p_start - buffer
                ]
                if not meeting:
                    continue
                gap = min(max(s - p_end, p_start - e, 0.0) for s, e in meeting)
                shared = _shared_length(theirs, [(p_start, p_end)])
                hits.append((presence, meeting, gap, shared))
            if not hits:
                continue
            mine = _merge(
                (p.start.timestamp(), p.end.timestamp()) for p in sources[(venue_id, source_id)]
            )
            entry = found[person_id].setdefault(source_id, [0.0, None, None, None, []])
            entry[0] += _shared_length(theirs, mine)
            for presence, meeting, gap, shared in hits:
                p_start, p_end = presence.start.timestamp(), presence.end.timestamp()
                entry[1] = gap if entry[1] is None else min(entry[1], gap)
                first = min(max(s, p_start - buffer) for s, _e in meeting)
                last = max(min(e, p_end + buffer) for _s, e in meeting)
                entry[2] = first if entry[2] is None else min(entry[2], first)
                entry[3] = last if entry[3] is None else max(entry[3], last)
                entry[4].append(
                    VisitOverlap(
                        venue_id=venue_id,
                        source_start=presence.start,
                        source_end=presence.end,
                        contact_start=datetime.fromtimestamp(min(s for s, _ in meeting), tz),
                        contact_end=datetime.fromtimestamp(max(e for _, e in meeting), tz),
                        overlap_seconds=round(shared),
                        gap_seconds=round(gap),
                    )
                )

    exposures = []
    for person_id, by_source in found.items():
        best_source = min(
            by_source, key=lambda s: (-by_source[s][0], by_source[s][1], s)
        )
        visits = [v for entry in by_source.values() for v in entry[4]]
        visits.sort(key=lambda v: (v.source_start, v.venue_id))
        exposures.append(
            Exposure(
                person_id=person_id,
                source_person_id=best_source,
                overlap_seconds=round(sum(entry[0] for entry in by_source.values())),
                gap_seconds=round(min(entry[1] for entry in by_source.values())),
                first_at=datetime.fromtimestamp(min(e[2] for e in by_source.values()), tz),
                last_at=datetime.fromtimestamp(max(e[3] for e in by_source.values()), tz),
                visits=visits,
            )
        )
    exposures.sort(key=lambda exposure: exposure.rank_key)
    return exposures
