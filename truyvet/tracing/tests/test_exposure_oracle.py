"""The exposure search agrees with a brute-force oracle on random data.

The oracle below is written from the rule (docs/decisions/0005), not from
``exposure.py``: it compares every pair of check-ins (all pairs, no index,
no interval merging) and measures the time shared by cutting the venue's
timeline at every moment anyone arrives or leaves and adding up the pieces
that lie inside both someone's presence and any source's (no running
totals, no bisection). Times are whole microseconds, the resolution both
databases store, and the oracle rounds with fractions (half to even): the
search must agree to the microsecond, on SQLite and on PostgreSQL.

Hypothesis draws visits that start exactly on the window bounds and the
buffer edges, one microsecond or one second either side, at fractions of
a second that SQLite once read a second late (.9995 and above), visits
without a check-out (estimated from venues with dwell times from 10 to
720 minutes), real check-outs longer than the visit cap, the same person
present twice, visits crossing midnight (local and UTC), the case's own
visits, and data partly removed by the retention purge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from truyvet.accounts.models import Person
from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind
from truyvet.places.models import AdministrativeUnit
from truyvet.tracing import exposure
from truyvet.venues.models import Venue, VenueStatus, VenueType

# 20 Nov 2021, 22:00 in Hạ Lang (UTC+7): the data crosses local and UTC midnights.
ORIGIN = datetime.fromisoformat("2021-11-20T22:00:00+07:00")
SECOND = 1_000_000  # microseconds
MINUTE = 60 * SECOND
SPAN = 3 * 24 * 60 * MINUTE  # microseconds of data
DWELLS = {VenueType.CHECKPOINT: 10, VenueType.MARKET: 60, VenueType.SCHOOL: 300,
          VenueType.LODGING: 720}
PEOPLE = 7


def at(micros: int) -> datetime:
    return ORIGIN + timedelta(microseconds=micros)


@dataclass(frozen=True)
class Row:
    person: int  # index into the people
    venue: int  # index into the venues
    arrived: int  # microseconds from ORIGIN
    ends: int  # the stored ends_at: real departure, or arrival + the venue's dwell


# What the search reports of a contact, and the oracle must agree with:
# (person, overlap seconds, gap seconds, overlap minutes, gap minutes).
Found = tuple[int, int, int, int, int]


# --- The oracle -------------------------------------------------------------------


def whole(micros: int, unit: int) -> int:
    """Rounded once, half to even (``round`` of an exact fraction)."""
    return round(Fraction(micros, unit))


def shared_length(theirs: list[tuple[int, int]], sources: list[tuple[int, int]]) -> int:
    """The length of (union of ``theirs``) ∩ (union of ``sources``), closed
    intervals: cut at every end point, keep each piece inside both."""
    cuts = sorted({point for interval in theirs + sources for point in interval})
    total = 0
    for left, right in zip(cuts, cuts[1:], strict=False):
        inside_theirs = any(a <= left and right <= b for a, b in theirs)
        inside_sources = any(a <= left and right <= b for a, b in sources)
        if inside_theirs and inside_sources:
            total += right - left
    return total


def oracle(
    rows: list[Row], sources: dict[int, tuple[int, int]], buffer: int, cap: int
) -> list[Found]:
    """Every contact ranked: the longest overlap first, then the nearest,
    then by person, in whole seconds. The overlap is the time shared with
    any source (with two at once: counted once)."""

    def stay(row: Row) -> tuple[int, int]:
        return row.arrived, min(row.ends, row.arrived + cap)

    def source_stay(row: Row) -> tuple[int, int] | None:
        start, end = stay(row)
        window_start, window_end = sources[row.person]
        start, end = max(start, window_start), min(end, window_end)
        return (start, end) if start <= end else None

    hits: dict[int, int] = {}  # person -> smallest gap
    for mine in rows:
        if mine.person not in sources or source_stay(mine) is None:
            continue
        s, e = source_stay(mine)  # type: ignore[misc]
        for theirs in rows:
            if theirs.person in sources or theirs.venue != mine.venue:
                continue
            a, b = stay(theirs)
            if a <= e + buffer and b >= s - buffer:
                gap = max(a - e, s - b, 0)
                hits[theirs.person] = min(gap, hits.get(theirs.person, gap))

    found = []
    for person, gap in hits.items():
        total = 0
        for venue in {r.venue for r in rows}:
            of_sources = [source_stay(r) for r in rows if r.person in sources
                          and r.venue == venue and source_stay(r) is not None]
            of_theirs = [stay(r) for r in rows if r.person == person and r.venue == venue]
            total += shared_length(of_theirs, of_sources)  # type: ignore[arg-type]
        found.append((person, whole(total, SECOND), whole(gap, SECOND), whole(total, MINUTE),
                      whole(gap, MINUTE)))
    found.sort(key=lambda item: (-item[1], item[2], item[0]))
    return found


def test_the_oracle_itself_follows_the_rule() -> None:
    """A hand-worked example, so that the oracle is checked too."""
    m = MINUTE
    rows = [
        Row(0, 0, 100 * m, 160 * m),  # the case: 100-160
        Row(1, 0, 150 * m, 200 * m),  # 10 min together
        Row(2, 0, 200 * m, 260 * m),  # arrives 40 min after the case left: buffer only
        Row(3, 0, 221 * m, 300 * m),  # 61 min after: not a contact
        Row(4, 1, 100 * m, 160 * m),  # another venue
        Row(5, 0, 90 * m, 95 * m), Row(5, 0, 110 * m, 130 * m),  # twice: 0 + 20 min
        # The case later at a third venue; someone there 78 min 30.5 s with
        # them: 4,710.5 s is 79 minutes, not 78 (4,710 s rounded, then minutes).
        Row(0, 2, 1000 * m, 1100 * m),
        Row(6, 2, 950 * m, 1000 * m + 4_710 * SECOND + SECOND // 2),
    ]
    assert oracle(rows, {0: (0, 10_000 * m)}, buffer=60 * m, cap=1440 * m) == [
        (6, 4710, 0, 79, 0), (5, 1200, 0, 20, 0), (1, 600, 0, 10, 0), (2, 0, 2400, 0, 40),
    ]


def test_the_oracle_counts_time_with_two_sources_at_once_once() -> None:
    m = MINUTE
    rows = [
        Row(0, 0, 100 * m, 160 * m),  # one source: 100-160
        Row(1, 0, 130 * m, 190 * m),  # another: 130-190
        Row(2, 0, 120 * m, 180 * m),  # with either from 120 to 180: 60 min, not 40 + 50
    ]
    sources = {0: (0, 1000 * m), 1: (0, 1000 * m)}
    assert oracle(rows, sources, buffer=0, cap=1440 * m) == [(2, 3600, 0, 60, 0)]


# --- Data -----------------------------------------------------------------------------


# Fractions of a second: none, a microsecond, a half, and those that SQLite
# once read a second late (its milliseconds round up to the next second).
FRACTIONS = st.sampled_from([0, 1, SECOND // 2, 999_499, 999_500, 999_600, 999_999])
WITHIN_A_MINUTE = (st.just(0) | FRACTIONS | st.integers(0, MINUTE - 1)
                   | st.integers(0, 59).map(lambda seconds: seconds * SECOND))


def moments(first_minute: int, last_minute: int) -> Any:
    """A moment between two minutes, often on the minute, often not."""
    return st.tuples(st.integers(first_minute, last_minute), WITHIN_A_MINUTE).map(
        lambda parts: parts[0] * MINUTE + parts[1])


SPAN_MINUTES = SPAN // MINUTE


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    buffer = draw(st.sampled_from([0, 15 * MINUTE, 60 * MINUTE,
                                   29 * MINUTE + 59 * SECOND + 999_600]))
    cap = draw(st.sampled_from([180 * MINUTE, 1440 * MINUTE, 120 * MINUTE + 1]))
    window_start = draw(moments(0, SPAN_MINUTES // 2))
    window_end = draw(st.integers(window_start, SPAN) | moments(0, SPAN_MINUTES).filter(
        lambda end: end >= window_start))
    # The case (person 0) first: a few visits, often at the same venue on the
    # same day, so that their widened presences merge or sit close together.
    case_rows = []
    day = draw(st.integers(0, SPAN_MINUTES - 1440))
    for _ in range(draw(st.integers(1, 5))):
        venue = draw(st.integers(0, 1) | st.integers(0, len(DWELLS) - 1))
        arrived = draw(moments(day, day + 1440) | moments(0, SPAN_MINUTES)
                       | st.sampled_from([window_start, window_end]))
        case_rows.append((0, venue, arrived, draw(st.none() | moments(0, 600))))
    # Moments that sit exactly on, or just beside, an edge of the rule: a
    # microsecond and a second either side.
    edges = [window_start, window_end, window_start - buffer, window_end + buffer]
    for _person, venue, arrived, departure in case_rows:
        dwell = list(DWELLS.values())[venue] * MINUTE
        ends = arrived + (dwell if departure is None else departure)
        for edge in (arrived - buffer, ends + buffer, arrived, ends):
            edges += [edge - SECOND, edge - 1, edge, edge + 1, edge + SECOND]
        edges.append(ends + buffer + draw(st.integers(0, max(buffer, 1))))
    edges = [max(0, min(SPAN, m)) for m in edges]
    moment = moments(0, SPAN_MINUTES) | st.sampled_from(edges)
    rows = list(case_rows)
    for _ in range(draw(st.integers(1, 30))):
        person = draw(st.integers(0, PEOPLE - 1))
        venue = draw(st.integers(0, len(DWELLS) - 1))
        arrived = draw(moment)
        departure = draw(st.one_of(
            st.none(),  # no check-out: the venue's dwell time
            moments(0, 3000),  # a real check-out, sometimes longer than the cap
            st.sampled_from([e - arrived for e in edges if e >= arrived] or [0]),
        ))
        rows.append((person, venue, arrived, departure))
    purge_before = draw(st.one_of(st.none(), moments(0, SPAN_MINUTES)))
    return {"buffer": buffer, "cap": cap, "window": (window_start, window_end),
            "rows": rows, "purge_before": purge_before}


@pytest.fixture
def world(units: Any) -> dict[str, Any]:
    """People and venues with different dwell times, as plain rows: the
    oracle needs nothing from the services but the data."""
    commune = AdministrativeUnit.objects.get(pk=units.thanh_nhat.pk)
    people = Person.objects.bulk_create(
        [Person(full_name=f"Người {i}", commune=commune) for i in range(PEOPLE)]
    )
    venues = []
    for i, kind in enumerate(DWELLS):
        venue = Venue(code=f"ORACLE{i}", name=f"Địa điểm {i}", venue_type=kind,
                      commune=commune, contact_phone="+84912000000",
                      status=VenueStatus.ACTIVE)
        venue.save()
        assert venue.effective_dwell_minutes == DWELLS[kind]
        venues.append(venue)
    return {"people": people, "venues": venues}


def _store(world: dict[str, Any], scenario: dict[str, Any]) -> list[Row]:
    rows, stored = [], []
    for person, venue_index, arrived, departure in scenario["rows"]:
        venue = world["venues"][venue_index]
        dwell = venue.effective_dwell_minutes * MINUTE
        ends = arrived + (dwell if departure is None else departure)
        rows.append(Row(person, venue_index, arrived, ends))
        stored.append(CheckIn(
            venue=venue, person=world["people"][person], arrived_at=at(arrived),
            ends_at=at(ends), method=CheckInMethod.MANUAL,
            departure_kind=DepartureKind.ESTIMATED if departure is None
            else DepartureKind.CITIZEN,
        ))
    CheckIn.objects.bulk_create(stored)
    return rows


def _search(
    world: dict[str, Any], sources: dict[int, tuple[int, int]], buffer: int, cap: int
) -> list[Found]:
    people = world["people"]
    rules = exposure.SearchRules(buffer=timedelta(microseconds=buffer),
                                 cap=timedelta(microseconds=cap))
    windows = {people[i].pk: (at(s), at(e)) for i, (s, e) in sources.items()}
    presences = exposure.presences_of(windows, rules)
    found = exposure.contacts_of(presences, rules=rules, exclude_person_ids=set(windows))
    index = {p.pk: i for i, p in enumerate(people)}
    return [(index[f.person_id], f.overlap_seconds, f.gap_seconds, f.overlap_minutes,
             f.gap_minutes) for f in found]


HYPOTHESIS = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Two visits of the case to the market (60 min) five hours apart: their
# widened presences are read as two ranges, the second starting where the
# first ends. People arriving on, one and two minutes after that seam.
SEAM = {"buffer": 60 * MINUTE, "cap": 1440 * MINUTE, "window": (0, 4000 * MINUTE),
        "purge_before": None, "rows": [
            (0, 1, 100 * MINUTE, None), (0, 1, 400 * MINUTE, None),
            (1, 1, 220 * MINUTE, 200 * MINUTE), (2, 1, 221 * MINUTE, 200 * MINUTE),
            (3, 1, 222 * MINUTE, 200 * MINUTE), (4, 1, 222 * MINUTE, 60 * MINUTE),
        ]}

# The case at the market (60 min) from 100 min and 0.9996 s: SQLite rounds
# that to a whole second before taking the seconds, and read it a second
# late. Person 1 arrives exactly at the buffer's edge, on the same fraction;
# person 2 shares 10 min with the case; person 3 leaves exactly at the
# buffer's other edge.
LATE_FRACTION = 999_600
SQLITE_ROUNDING: dict[str, Any] = {
    "buffer": 60 * MINUTE, "cap": 1440 * MINUTE, "window": (0, 4000 * MINUTE),
    "purge_before": None, "rows": [
        (0, 1, 100 * MINUTE + LATE_FRACTION, None),
        (1, 1, 220 * MINUTE + LATE_FRACTION, 30 * MINUTE),
        (2, 1, 150 * MINUTE + LATE_FRACTION, 20 * MINUTE),
        (3, 1, 10 * MINUTE + LATE_FRACTION, 30 * MINUTE),
    ],
}


@pytest.mark.django_db
@HYPOTHESIS
@given(scenario=scenarios())
@example(scenario=SEAM)
@example(scenario=SQLITE_ROUNDING)
def test_the_f1_search_agrees_with_the_oracle(world: dict[str, Any], scenario: Any) -> None:
    with transaction.atomic():
        rows = _store(world, scenario)
        sources = {0: scenario["window"]}
        assert _search(world, sources, scenario["buffer"], scenario["cap"]) == oracle(
            rows, sources, scenario["buffer"], scenario["cap"]
        )
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_times_a_fraction_below_the_next_second_are_read_as_stored(
    world: dict[str, Any],
) -> None:
    """The example above, by name: on SQLite the contact at the buffer's
    edge was lost and the shared time came out a second short."""
    with transaction.atomic():
        _store(world, SQLITE_ROUNDING)
        found = _search(world, {0: SQLITE_ROUNDING["window"]}, 60 * MINUTE, 1440 * MINUTE)
        assert found == [(2, 600, 0, 10, 0), (1, 0, 3600, 0, 60), (3, 0, 3600, 0, 60)]
        transaction.set_rollback(True)


# Person 0 and person 1 are both sources at the market, 100-160 and 130-190
# min; person 2 is there from 120 to 180 min: 60 minutes with either of
# them, not 40 + 50.
TWO_SOURCES_AT_ONCE = {
    "buffer": 60 * MINUTE, "cap": 1440 * MINUTE, "window": (0, 4000 * MINUTE),
    "purge_before": None, "rows": [
        (0, 1, 100 * MINUTE, None), (1, 1, 130 * MINUTE, None),
        (2, 1, 120 * MINUTE, 60 * MINUTE),
    ],
}


@pytest.mark.django_db
@HYPOTHESIS
@given(scenario=scenarios(), second=st.integers(1, PEOPLE - 1),
       second_window=st.tuples(moments(0, SPAN_MINUTES // 2), moments(0, SPAN_MINUTES // 2)))
@example(scenario=TWO_SOURCES_AT_ONCE, second=1, second_window=(0, 4000 * MINUTE))
def test_a_search_from_several_sources_agrees_with_the_oracle(
    world: dict[str, Any], scenario: Any, second: int, second_window: tuple[int, int]
) -> None:
    """An F2 expansion searches from several F1s at once, each with its own window."""
    with transaction.atomic():
        rows = _store(world, scenario)
        start = second_window[0]
        sources = {0: scenario["window"], second: (start, start + second_window[1])}
        assert _search(world, sources, scenario["buffer"], scenario["cap"]) == oracle(
            rows, sources, scenario["buffer"], scenario["cap"]
        )
        transaction.set_rollback(True)


@pytest.mark.django_db
@HYPOTHESIS
@given(scenario=scenarios())
def test_after_the_retention_purge_the_search_agrees_with_the_oracle_on_what_is_left(
    world: dict[str, Any], scenario: Any, settings: Any
) -> None:
    from truyvet.checkins.tasks import checkins_purge_expired

    with transaction.atomic():
        rows = _store(world, scenario)
        if scenario["purge_before"] is not None:
            cutoff = scenario["purge_before"]
            now = at(cutoff) + timedelta(days=settings.CHECKIN_RETENTION_DAYS)
            checkins_purge_expired(now=now)
            rows = [r for r in rows if r.arrived >= cutoff]
            assert CheckIn.objects.filter(person__in=world["people"]).count() == len(rows)
        sources = {0: scenario["window"]}
        assert _search(world, sources, scenario["buffer"], scenario["cap"]) == oracle(
            rows, sources, scenario["buffer"], scenario["cap"]
        )
        transaction.set_rollback(True)
