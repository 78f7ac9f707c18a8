"""The totals-only search (``contacts_of`` from one source) agrees exactly
with the search that works out every visit (``eager_visits``).

The oracle tests check the rule against a brute force. These check the two
ways of computing it against each other on times exact to the microsecond:
half seconds, single microseconds, buffers and caps with fractions of a
second, and the rounding of the totals to seconds and minutes. Hypothesis draws
the cases that take the separate branches: a contact with one row, with
several rows at one venue (apart, touching, overlapping, duplicated) and at
several venues, and a case whose own presences at a venue overlap (then the
shared time is not the sum of the overlaps with each presence).
"""

from __future__ import annotations

import gc
import json
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

ORIGIN = datetime.fromisoformat("2021-11-20T22:00:00+07:00")
SPAN = 2 * 24 * 3600  # seconds of data
PEOPLE = 25  # enough that many contacts have a single row, and many several
VENUES = 3
MICROS = st.sampled_from([0, 1, 500_000, 999_999]) | st.integers(0, 999_999)


def at(seconds: int, micros: int = 0) -> datetime:
    return ORIGIN + timedelta(seconds=seconds, microseconds=micros)


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    buffer = draw(st.sampled_from([timedelta(0), timedelta(minutes=15), timedelta(hours=1),
                                   timedelta(minutes=29, seconds=59, microseconds=500_000)]))
    cap = draw(st.sampled_from([timedelta(hours=3), timedelta(hours=24),
                                timedelta(hours=2, microseconds=1)]))
    window_start = draw(st.integers(0, SPAN // 2))
    window = (at(window_start, draw(MICROS)), at(draw(st.integers(window_start + 1, SPAN))))
    rows: list[tuple[int, int, datetime, datetime]] = []
    moments: list[int] = []
    for _ in range(draw(st.integers(1, 6))):  # the case, often back at the same venue
        venue = draw(st.integers(0, VENUES - 1))
        arrived = draw(st.integers(window_start - 3600, window_start + 6 * 3600)
                       | st.integers(0, SPAN))
        length = draw(st.integers(0, 5 * 3600))
        start = at(arrived, draw(MICROS))
        rows.append((0, venue, start, max(start, at(arrived + length, draw(MICROS)))))
        moments += [arrived, arrived + length]
    near = st.sampled_from(moments).flatmap(lambda m: st.integers(m - 7200, m + 7200))
    for _ in range(draw(st.integers(1, 40))):
        person = draw(st.integers(1, PEOPLE - 1))
        venue = draw(st.integers(0, VENUES - 1))
        arrived = draw(near | st.integers(0, SPAN))
        length = draw(st.integers(0, 4 * 3600) | st.integers(0, 30 * 3600))
        start = at(arrived, draw(MICROS))
        row = (person, venue, start, max(start, at(arrived + length, draw(MICROS))))
        rows.append(row)
        shape = draw(st.sampled_from(["once", "twice", "touching", "overlapping", "later",
                                      "nested"]))
        if shape == "twice":  # the same visit recorded twice
            rows.append(row)
        elif shape == "touching":  # back exactly when they left
            rows.append((person, venue, row[3], row[3] + timedelta(minutes=20)))
        elif shape == "overlapping":
            rows.append((person, venue, row[2] + (row[3] - row[2]) / 2,
                         row[3] + timedelta(seconds=draw(st.integers(1, 7200)))))
        elif shape == "nested":  # two short scans within the visit, the second past its end
            length = row[3] - row[2]
            rows.append((person, venue, row[2] + length / 4, row[2] + length / 2))
            rows.append((person, venue, row[2] + length * 3 / 4,
                         row[3] + timedelta(seconds=draw(st.integers(0, 3600)))))
        elif shape == "later":  # back after a while
            back = row[3] + timedelta(seconds=draw(st.integers(1, 8 * 3600)))
            rows.append((person, venue, back, back + timedelta(seconds=draw(
                st.integers(0, 3 * 3600)))))
    return {"buffer": buffer, "cap": cap, "window": window, "rows": rows}


@pytest.fixture
def world(units: Any) -> dict[str, Any]:
    commune = AdministrativeUnit.objects.get(pk=units.thanh_nhat.pk)
    people = Person.objects.bulk_create(
        [Person(full_name=f"Người {i}", commune=commune) for i in range(PEOPLE)]
    )
    venues = []
    for i in range(VENUES):
        venue = Venue(code=f"PATHS{i}", name=f"Địa điểm {i}", venue_type=VenueType.MARKET,
                      commune=commune, contact_phone="+84912000000",
                      status=VenueStatus.ACTIVE)
        venue.save()
        venues.append(venue)
    return {"people": people, "venues": venues}


def _totals(found: list[exposure.Exposure]) -> list[tuple[Any, ...]]:
    return [(f.person_id, f.source_person_id, f.overlap_seconds, f.gap_seconds,
             f.overlap_minutes, f.gap_minutes, f.first_ts, f.last_ts, f.visit_count)
            for f in found]


def _visits(found: list[exposure.Exposure]) -> list[list[dict[str, Any]]]:
    return [[visit.as_json() for visit in f.visits] for f in found]


def _as_stored(found: list[exposure.Exposure], venues: dict[int, tuple[str, str]]) -> list[str]:
    """What ``Contact.visits`` held before the columns wrote it: the JSON of
    each visit's ``as_json()`` with the venue's name and code."""
    return [json.dumps([visit.as_json() | dict(zip(("venue_name", "venue_code"),
                                                   venues[visit.venue_id], strict=True))
                        for visit in f.visits]) for f in found]


def _columns_totals(columns: exposure.ContactColumns) -> list[tuple[Any, ...]]:
    return list(zip(columns.person_id.tolist(), [columns.source_person_id] * len(columns),
                    columns.overlap_seconds.tolist(), columns.gap_seconds.tolist(),
                    columns.overlap_minutes.tolist(), columns.gap_minutes.tolist(),
                    columns.first.tolist(), columns.last.tolist(),
                    columns.visit_count.tolist(), strict=True))


def _labels(world: dict[str, Any]) -> dict[int, tuple[str, str]]:
    # A name JSON must escape, and one with Vietnamese letters.
    return {venue.pk: (f'Quán "số" {i}\\ Chợ Thanh Nhật', venue.code)
            for i, venue in enumerate(world["venues"])}


def _both_ways(world: dict[str, Any], scenario: dict[str, Any]) -> tuple[Any, Any]:
    people, venues = world["people"], world["venues"]
    CheckIn.objects.bulk_create([
        CheckIn(venue=venues[venue], person=people[person], arrived_at=arrived, ends_at=ends,
                method=CheckInMethod.MANUAL, departure_kind=DepartureKind.CITIZEN)
        for person, venue, arrived, ends in scenario["rows"]
    ])
    rules = exposure.SearchRules(buffer=scenario["buffer"], cap=scenario["cap"])
    case = people[0].pk
    presences = exposure.presences_of({case: scenario["window"]}, rules)
    totals_only = exposure.contacts_of(presences, rules=rules, exclude_person_ids={case})
    eager = exposure.contacts_of(presences, rules=rules, exclude_person_ids={case},
                                 eager_visits=True)
    return totals_only, eager


HYPOTHESIS = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The case twice at venue 0, the visits overlapping (not disjoint): 1:00:00.5
# to 3:00 and 2:00 to 4:00:00.000001. Person 1 there from 0:40 to 3:30 and
# back from 4:30 to 6:00; person 2 from 3:30 to 5:00, recorded twice;
# person 4 once, from 1:30 to 3:30.
OVERLAPPING_CASE = {
    "buffer": timedelta(hours=1), "cap": timedelta(hours=24),
    "window": (at(0), at(SPAN)),
    "rows": [
        (0, 0, at(3600, 500_000), at(3 * 3600)), (0, 0, at(2 * 3600), at(4 * 3600, 1)),
        (1, 0, at(2400), at(12600)), (1, 0, at(16200), at(6 * 3600)),
        (2, 0, at(12600), at(5 * 3600)), (2, 0, at(12600), at(5 * 3600)),
        (3, 1, at(3600), at(7200)), (4, 0, at(5400), at(12600)),
    ],
}


# Person 1's second stay lies within their first, and their third starts
# after the second ended but before the first did: all three are one stay.
NESTED_STAYS = {
    "buffer": timedelta(minutes=15), "cap": timedelta(hours=24),
    "window": (at(0), at(SPAN)),
    "rows": [
        (0, 0, at(3600), at(4 * 3600)),
        (1, 0, at(0), at(3 * 3600)), (1, 0, at(1800), at(3600)),
        (1, 0, at(2 * 3600), at(5 * 3600)),
    ],
}


@pytest.mark.django_db
@HYPOTHESIS
@given(scenario=scenarios())
@example(scenario=OVERLAPPING_CASE)
@example(scenario=NESTED_STAYS)
def test_the_totals_only_search_agrees_with_the_full_one_to_the_bit(
    world: dict[str, Any], scenario: dict[str, Any]
) -> None:
    with transaction.atomic():
        totals_only, eager = _both_ways(world, scenario)
        assert all(f.deferred is not None for f in totals_only)
        assert _totals(totals_only) == _totals(eager)
        assert _visits(totals_only) == _visits(eager)
        transaction.set_rollback(True)


@pytest.mark.django_db
@HYPOTHESIS
@given(scenario=scenarios(), kept=st.sampled_from([20, 1, 2]))
@example(scenario=OVERLAPPING_CASE, kept=1)
@example(scenario=NESTED_STAYS, kept=20)
def test_the_columns_trace_run_stores_agree_with_the_full_search_to_the_character(
    world: dict[str, Any], scenario: dict[str, Any], kept: int
) -> None:
    """The totals and the stored breakdown text that ``trace_run`` writes
    from the columns are the row-by-row search's, also when a contact met
    more presences than a breakdown keeps (``kept`` stands for
    MAX_VISITS_PER_CONTACT)."""
    was = exposure.MAX_VISITS_PER_CONTACT
    exposure.MAX_VISITS_PER_CONTACT = kept
    try:
        with transaction.atomic():
            _totals_only, eager = _both_ways(world, scenario)
            rules = exposure.SearchRules(buffer=scenario["buffer"], cap=scenario["cap"])
            case = world["people"][0].pk
            presences = exposure.presences_of({case: scenario["window"]}, rules)
            columns = exposure.contact_columns(presences, rules=rules,
                                               exclude_person_ids={case})
            assert _columns_totals(columns) == _totals(eager)
            labels = _labels(world)
            assert columns.visits_json(labels) == _as_stored(eager, labels)
            transaction.set_rollback(True)
    finally:
        exposure.MAX_VISITS_PER_CONTACT = was


@pytest.mark.django_db
def test_the_example_takes_the_branches_it_is_meant_to(world: dict[str, Any]) -> None:
    """The hand-made example above does reach the overlapping-case branch and
    the several-rows branch, and its numbers are the rule's."""
    with transaction.atomic():
        totals_only, eager = _both_ways(world, OVERLAPPING_CASE)
        people = world["people"]
        by_person = {f.person_id: f for f in totals_only}
        # Person 1 shared 1:00:00.5 to 3:30 (8,999.5 s, rounded half to even);
        # both their stays met the second presence, which counts once.
        first = by_person[people[1].pk]
        assert (first.overlap_seconds, first.gap_seconds, first.visit_count) == (9000, 0, 2)
        # The duplicate counts once: 3:30 to 4:00:00.000001 shared.
        second = by_person[people[2].pk]
        assert (second.overlap_seconds, second.gap_seconds, second.visit_count) == (1800, 0, 2)
        assert people[3].pk not in by_person  # another venue
        # One row across both presences: 2 h shared, not 2.5 h (their sum).
        fourth = by_person[people[4].pk]
        assert (fourth.overlap_seconds, fourth.gap_seconds, fourth.visit_count) == (7200, 0, 2)
        assert _totals(totals_only) == _totals(eager)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_asking_one_contact_for_its_visits_works_them_out_for_all(
    world: dict[str, Any],
) -> None:
    with transaction.atomic():
        totals_only, eager = _both_ways(world, OVERLAPPING_CASE)
        assert len(totals_only) >= 2
        assert all(not f.hits for f in totals_only)
        assert totals_only[-1].visits
        assert all(f.deferred is None and f.hits for f in totals_only)
        assert [f.hits for f in totals_only] == [f.hits for f in eager]
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("enabled", [True, False])
def test_the_search_leaves_the_garbage_collector_as_it_found_it(
    world: dict[str, Any], enabled: bool
) -> None:
    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        with transaction.atomic():
            totals_only, _eager = _both_ways(world, OVERLAPPING_CASE)
            assert totals_only[0].visits
            assert gc.isenabled() is enabled
            transaction.set_rollback(True)
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
