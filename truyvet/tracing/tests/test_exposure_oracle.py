"""The exposure search agrees with a brute-force oracle on random data.

The oracle below is written from the rule in the issue, not from
``exposure.py``: it compares every pair of check-ins (all pairs, no index,
no interval merging) and measures overlap by counting shared whole minutes
in Python sets. Times are drawn in whole minutes so both agree to the second.

Hypothesis draws visits that start exactly on the window bounds and the
buffer edges, visits without a check-out (estimated from venues with dwell
times from 10 to 720 minutes), real check-outs longer than the visit cap,
the same person present twice, visits crossing midnight (local and UTC),
the case's own visits, and data partly removed by the retention purge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
SPAN = 3 * 24 * 60  # minutes of data
DWELLS = {VenueType.CHECKPOINT: 10, VenueType.MARKET: 60, VenueType.SCHOOL: 300,
          VenueType.LODGING: 720}
PEOPLE = 7


def at(minute: int) -> datetime:
    return ORIGIN + timedelta(minutes=minute)


@dataclass(frozen=True)
class Row:
    person: int  # index into the people
    venue: int  # index into the venues
    arrived: int  # minutes from ORIGIN
    ends: int  # the stored ends_at: real departure, or arrival + the venue's dwell


# --- The oracle -------------------------------------------------------------------


def oracle(
    rows: list[Row], sources: dict[int, tuple[int, int]], buffer: int, cap: int
) -> list[tuple[int, int, int]]:
    """[(person, overlap minutes, gap minutes)] ranked: the longest overlap
    first, then the nearest, then by person."""

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

    ranked = []
    for person, gap in hits.items():
        total = 0
        for source in sources:
            for venue in {r.venue for r in rows}:
                case_minutes: set[int] = set()
                for r in rows:
                    if r.person == source and r.venue == venue and source_stay(r):
                        s, e = source_stay(r)  # type: ignore[misc]
                        case_minutes.update(range(s, e))
                their_minutes: set[int] = set()
                for r in rows:
                    if r.person == person and r.venue == venue:
                        a, b = stay(r)
                        their_minutes.update(range(a, b))
                total += len(case_minutes & their_minutes)
        ranked.append((person, total, gap))
    ranked.sort(key=lambda item: (-item[1], item[2], item[0]))
    return ranked


def test_the_oracle_itself_follows_the_rule() -> None:
    """A hand-worked example, so that the oracle is checked too."""
    rows = [
        Row(0, 0, 100, 160),  # the case: 100-160
        Row(1, 0, 150, 200),  # 10 min together
        Row(2, 0, 200, 260),  # arrives 40 min after the case left: buffer only
        Row(3, 0, 221, 300),  # 61 min after: not a contact
        Row(4, 1, 100, 160),  # another venue
        Row(5, 0, 90, 95), Row(5, 0, 110, 130),  # twice: 0 + 20 min
    ]
    assert oracle(rows, {0: (0, 1000)}, buffer=60, cap=1440) == [
        (5, 20, 0), (1, 10, 0), (2, 0, 40),
    ]


# --- Data -----------------------------------------------------------------------------


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    buffer = draw(st.sampled_from([0, 15, 60]))
    cap = draw(st.sampled_from([180, 1440]))
    window_start = draw(st.integers(0, SPAN // 2))
    window_end = draw(st.integers(window_start, SPAN))
    # The case (person 0) first: a few visits, often at the same venue on the
    # same day, so that their widened presences merge or sit close together.
    case_rows = []
    day = draw(st.integers(0, SPAN - 1440))
    for _ in range(draw(st.integers(1, 5))):
        venue = draw(st.integers(0, 1) | st.integers(0, len(DWELLS) - 1))
        arrived = draw(st.integers(day, day + 1440) | st.integers(0, SPAN)
                       | st.sampled_from([window_start, window_end]))
        case_rows.append((0, venue, arrived, draw(st.none() | st.integers(0, 600))))
    # Moments that sit exactly on, or just beside, an edge of the rule.
    edges = [window_start, window_end, window_start - buffer, window_end + buffer]
    for _person, venue, arrived, departure in case_rows:
        ends = arrived + (list(DWELLS.values())[venue] if departure is None else departure)
        for edge in (arrived - buffer, ends + buffer, arrived, ends):
            edges += [edge - 1, edge, edge + 1]
        edges.append(ends + buffer + draw(st.integers(0, max(buffer, 1))))
    edges = [max(0, min(SPAN, m)) for m in edges]
    moment = st.integers(0, SPAN) | st.sampled_from(edges)
    rows = list(case_rows)
    for _ in range(draw(st.integers(1, 30))):
        person = draw(st.integers(0, PEOPLE - 1))
        venue = draw(st.integers(0, len(DWELLS) - 1))
        arrived = draw(moment)
        departure = draw(st.one_of(
            st.none(),  # no check-out: the venue's dwell time
            st.integers(0, 3000),  # a real check-out, sometimes longer than the cap
            st.sampled_from([e - arrived for e in edges if e >= arrived] or [0]),
        ))
        rows.append((person, venue, arrived, departure))
    purge_before = draw(st.one_of(st.none(), st.integers(0, SPAN)))
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
        ends = arrived + (venue.effective_dwell_minutes if departure is None else departure)
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
) -> list[tuple[int, int, int]]:
    people = world["people"]
    rules = exposure.SearchRules(buffer=timedelta(minutes=buffer), cap=timedelta(minutes=cap))
    windows = {people[i].pk: (at(s), at(e)) for i, (s, e) in sources.items()}
    presences = exposure.presences_of(windows, rules)
    found = exposure.contacts_of(presences, rules=rules, exclude_person_ids=set(windows))
    index = {p.pk: i for i, p in enumerate(people)}
    for item in found:
        assert item.overlap_seconds % 60 == 0 and item.gap_seconds % 60 == 0
    return [(index[f.person_id], f.overlap_seconds // 60, f.gap_seconds // 60) for f in found]


HYPOTHESIS = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Two visits of the case to the market (60 min) five hours apart: their
# widened presences are read as two ranges, the second starting where the
# first ends. People arriving on, one and two minutes after that seam.
SEAM = {"buffer": 60, "cap": 1440, "window": (0, 4000), "purge_before": None, "rows": [
    (0, 1, 100, None), (0, 1, 400, None),
    (1, 1, 220, 200), (2, 1, 221, 200), (3, 1, 222, 200), (4, 1, 222, 60),
]}


@pytest.mark.django_db
@HYPOTHESIS
@given(scenario=scenarios())
@example(scenario=SEAM)
def test_the_f1_search_agrees_with_the_oracle(world: dict[str, Any], scenario: Any) -> None:
    with transaction.atomic():
        rows = _store(world, scenario)
        sources = {0: scenario["window"]}
        assert _search(world, sources, scenario["buffer"], scenario["cap"]) == oracle(
            rows, sources, scenario["buffer"], scenario["cap"]
        )
        transaction.set_rollback(True)


@pytest.mark.django_db
@HYPOTHESIS
@given(scenario=scenarios(), second=st.integers(1, PEOPLE - 1),
       second_window=st.tuples(st.integers(0, SPAN // 2), st.integers(0, SPAN // 2)))
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
