"""The candidate query reads only index ranges: one per merged presence, on
the covering (venue, arrived_at, ends_at, person) index, bounded below by
the first presence minus buffer and visit cap and above by the last plus
buffer, and never the table. On PostgreSQL the table is partitioned by day,
and each range is read from the partitions its days fall in."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import DataError, connection

from truyvet.core import bulk
from truyvet.tracing import exposure

ORIGIN = datetime.fromisoformat("2021-11-20T08:00:00+07:00")


def presence(venue_id: int, start_minutes: int, minutes: int, person_id: int = 1) -> Any:
    start = ORIGIN + timedelta(minutes=start_minutes)
    return exposure.Presence(person_id, venue_id, start, start + timedelta(minutes=minutes))


RULES = exposure.SearchRules(buffer=timedelta(minutes=60), cap=timedelta(hours=24))


def _index_and_its_partitions(*names: str) -> set[str]:
    """The named indexes and, on a partitioned table, the indexes of its
    partitions attached to them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE tree(oid) AS ("
            " SELECT to_regclass(name)::oid FROM unnest(%s::text[]) AS name"
            " UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid"
            ") SELECT oid::regclass::text FROM tree WHERE oid IS NOT NULL",
            [list(names)],
        )
        return {row[0] for row in cursor.fetchall()}


def test_close_visits_at_one_venue_are_read_as_one_range_and_no_row_twice() -> None:
    ranges = exposure.scan_ranges([
        presence(7, 0, 30), presence(7, 100, 30),  # 70 min apart: widened, they touch
        presence(7, 600, 30),  # later the same day: its own range, read after the first
        presence(7, 3 * 1440, 30),  # three days later: far enough to read from lo - cap
        presence(9, 0, 30),
    ], RULES)

    assert [(r.venue_id, r.lo - ORIGIN, r.hi - ORIGIN) for r in ranges] == [
        (7, timedelta(minutes=-60), timedelta(minutes=190)),
        (7, timedelta(minutes=540), timedelta(minutes=690)),
        (7, timedelta(minutes=3 * 1440 - 60), timedelta(minutes=3 * 1440 + 90)),
        (9, timedelta(minutes=-60), timedelta(minutes=90)),
    ]
    assert [r.after for r in ranges] == [None, ranges[0].hi, None, None]


def _crowd(commune: Any, person: Any) -> None:
    """A town's week around ORIGIN (400 venues, a visit at each every three
    hours), analysed, so that the planner weighs the indexes as it does at
    scale: on a small table a range of the (arrived_at) index filtered by
    venue looks as cheap as the covering index, and it may pick either."""
    from truyvet.checkins.models import CheckIn
    from truyvet.venues.models import Venue

    venues = Venue.objects.bulk_create([
        Venue(code=f"PLAN{n:06d}", name=f"Quán {n}", name_folded=f"quan {n}",
              dedup_key=f"plan-{n}", venue_type="shop", commune=commune,
              contact_phone="+84912000000")
        for n in range(400)
    ])
    CheckIn.objects.bulk_create([
        CheckIn(venue=venue, person=person, method="manual",
                arrived_at=ORIGIN + timedelta(minutes=minutes),
                ends_at=ORIGIN + timedelta(minutes=minutes + 45))
        for minutes in range(-3 * 1440, 4 * 1440, 180) for venue in venues
    ], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE checkins_checkin")


@pytest.mark.django_db
def test_each_range_is_an_index_only_scan_of_the_covering_index(
    personas: Any, places: Any
) -> None:
    market, school = places.market.pk, places.school.pk
    presences = [presence(market, 0, 30), presence(school, 200, 30),
                 presence(market, 5000, 30)]
    (sql, params), = exposure.candidates_sql(presences, RULES, {1})
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _crowd(personas.units.thanh_nhat, personas.citizen.person)
            # The test tables are small; make the planner show what it does at scale.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            # The three ranges, bound as arrays, drive a nested loop: the
            # covering index is read once per range. Index-only needs a
            # vacuumed visibility map, which rows written in this test's
            # transaction never have, so the scans may fetch from the table;
            # but each is a range of the covering index, never a scan of the
            # table. The table is partitioned by day (decision 0007): each
            # range is read from the partitions of its days, through their
            # copies of the index (other names).
            assert re.search(r"Nested Loop\s*\(actual rows=\d+ loops=1\)\n\s*->  Function Scan on",
                             plan), plan
            # Partitions a range does not reach are never executed (pruned as
            # the statement runs); what is read is read through the index.
            usable = _index_and_its_partitions("tracing_checkin_cover")
            read = [line for line in plan.splitlines()
                    if " on " in line and "(never executed)" not in line
                    and "Function Scan" not in line]
            scans = [re.search(r"Index (?:Only )?Scan using (\S+) on (\S+)", line)
                     for line in read]
            assert read and all(scan and scan[1] in usable for scan in scans), plan
            # These 2021 rows all sit in the DEFAULT partition: its scan runs
            # once per range, the day partitions never.
            loops = [(scan[2], re.findall(r"loops=(\d+)", line)) for scan, line
                     in zip(scans, read, strict=True) if scan]
            assert loops == [("checkins_checkin_default", ["3"])], plan
        else:
            assert sql.count(" UNION ALL ") == 2
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert plan.count("USING COVERING INDEX tracing_checkin_cover") == 3, plan
    assert "SCAN checkins_checkin" not in plan and "Seq Scan" not in plan


def test_the_bounds_come_from_the_presences_and_the_rule() -> None:
    presences = [presence(7, 0, 30), presence(7, 2000, 30)]
    (sql, params), = exposure.candidates_sql(presences, RULES, set())
    # PostgreSQL's statement takes the bounds as arrays, SQLite's one by one.
    values = [v for p in params for v in (p if isinstance(p, list) else [p])]
    times = [v for v in values if isinstance(v, (datetime, str)) and v]
    lowest_wanted = ORIGIN - RULES.buffer - RULES.cap
    if connection.vendor == "postgresql":  # read after it there: a microsecond before
        lowest_wanted -= timedelta(microseconds=1)
    adapt = connection.ops.adapt_datetimefield_value
    assert min(times) == adapt(lowest_wanted)
    assert max(times) == adapt(ORIGIN + timedelta(minutes=2030) + RULES.buffer)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="the binary array loader reads PostgreSQL's wire format")
def test_postgresql_arrays_are_read_as_numbers_exact_to_the_microsecond() -> None:
    moments = [ORIGIN + timedelta(microseconds=us) for us in (0, 1, 499_999, 500_000, 999_999)]
    with bulk.column_cursor("default") as cursor:
        cursor.execute("SELECT %s::bigint[], %s::timestamptz[], '{}'::bigint[]",
                       [[1, -2, 2**62 + 1], moments])
        numbers, times, empty = cursor.fetchone()
    assert numbers.dtype == "int64" and numbers.tolist() == [1, -2, 2**62 + 1]
    assert empty.tolist() == []
    # As the search converts them: microseconds since 1970, exactly.
    micros = times + bulk.POSTGRES_EPOCH_MICROSECONDS
    assert micros.tolist() == [exposure._micros(moment) for moment in moments]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="the binary array loader reads PostgreSQL's wire format")
@pytest.mark.parametrize("array", ["ARRAY[1, NULL]::bigint[]", "ARRAY[[1], [2]]::bigint[]"])
def test_postgresql_arrays_the_loader_cannot_read_are_refused(array: str) -> None:
    with bulk.column_cursor("default") as cursor:
        cursor.execute(f"SELECT {array}")  # noqa: S608 - constants of this test
        with pytest.raises(DataError):
            cursor.fetchone()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite stores times as text")
def test_sqlite_times_are_read_as_microseconds_exactly() -> None:
    """Whole seconds and fraction read apart: given the fraction, SQLite's
    strftime rounds to milliseconds first and read .9995 s and later as the
    next second (with the fraction added on top: a second late)."""
    moments = [ORIGIN + timedelta(microseconds=us)
               for us in (0, 1, 499_999, 500_000, 999_499, 999_500, 999_600, 999_999)]
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        read = []
        for moment in moments:
            cursor.execute("SELECT " + exposure._EPOCH_SQLITE.format("%s"), [adapt(moment)] * 2)
            read.append(cursor.fetchone()[0])
    assert read == [exposure._micros(moment) for moment in moments]
