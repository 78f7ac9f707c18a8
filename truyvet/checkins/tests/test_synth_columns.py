"""The column helpers behind ``truyvet synth``'s bulk load (synth/columns.py)
and the unindexed-day fast path of the partitions (partitions.py)."""

from __future__ import annotations

from bisect import bisect
from datetime import date, timedelta
from random import Random

import numpy as np
import pytest
from django.db import connection

from truyvet.checkins.models import CheckIn
from truyvet.checkins.partitions import partition_name, partitions_list
from truyvet.checkins.synth import SynthPlan, synth_generate
from truyvet.checkins.synth.columns import KINDS, METHODS, Columns, Tables, cut_estimated_ends
from truyvet.core.time import local_day

ESTIMATED = KINDS.index("estimated")
CITIZEN = KINDS.index("citizen")


def _columns(rows: list[tuple[int, int, int, int, int]]) -> Columns:
    """(arrived, venue, person, ends, kind) rows."""
    arrived, venue, person, ends, kind = (np.array(c, dtype=np.int64) for c in zip(*rows,
                                                                                 strict=True))
    return Columns(arrived=arrived, venue=venue, person=person, received=arrived + 1,
                   ends=ends, kind=kind.astype(np.int8),
                   method=np.zeros(len(rows), dtype=np.int8))


def test_the_next_arrival_elsewhere_ends_an_estimated_visit_only() -> None:
    rows = _columns([
        (1000, 1, 7, 4600, ESTIMATED),  # cut by the arrival at venue 2 at 1600
        (1600, 2, 7, 5200, ESTIMATED),  # the person's last visit: stands
        (1100, 1, 8, 4700, CITIZEN),  # a real check-out stands, even when later
        (1500, 3, 8, 5100, ESTIMATED),  # next elsewhere (9000) comes after its end
        (9000, 4, 8, 9100, ESTIMATED),
        (2000, 5, 9, 5600, ESTIMATED),  # a repeat at the same venue does not cut;
        (2500, 5, 9, 6100, ESTIMATED),  # the next arrival elsewhere cuts both
        (3000, 6, 9, 6600, ESTIMATED),
        (100, 1, 10, 200, ESTIMATED),  # another person's arrival never cuts
    ])
    cut_estimated_ends(rows)
    assert rows.ends.tolist() == [1600, 5200, 4700, 5100, 9100, 3000, 3000, 6600, 200]


def test_rows_in_any_order_are_cut_the_same() -> None:
    rng = np.random.default_rng(5)
    count = 2000
    arrived = rng.permutation(86_400)[:count].astype(np.int64)  # no ties
    rows = Columns(arrived=arrived, venue=rng.integers(1, 6, count),
                   person=rng.integers(1, 80, count), received=arrived + 3,
                   ends=arrived + rng.integers(60, 7200, count),
                   kind=rng.integers(0, len(KINDS), count).astype(np.int8),
                   method=np.zeros(count, dtype=np.int8))
    expected = []
    for index in range(count):  # the rule, row by row
        end = int(rows.ends[index])
        if rows.kind[index] == ESTIMATED:
            later = [int(rows.arrived[j]) for j in range(count)
                     if rows.person[j] == rows.person[index]
                     and rows.venue[j] != rows.venue[index]
                     and rows.arrived[j] > rows.arrived[index]]
            if later and min(later) < end:
                end = min(later)
        expected.append(end)
    shuffled = rng.permutation(count)
    rows = rows.take(shuffled)
    expected = [expected[i] for i in shuffled]
    cut_estimated_ends(rows)
    assert rows.ends.tolist() == expected
    assert (rows.ends >= rows.arrived).all()


def test_tables_draw_as_bisect_does() -> None:
    rng = Random(3)
    tables = [[1.0, 1.0, 3.0, 6.0], [0.5, 2.0], [2.0, 2.0, 2.0, 9.0, 9.5]]
    drawer = Tables(tables)
    groups = np.array([rng.randrange(3) for _ in range(3000)], dtype=np.int64)
    u = np.array([rng.random() for _ in range(3000)])
    got = drawer.draw(groups, u).tolist()
    want = [bisect(tables[g], x * tables[g][-1]) for g, x in zip(groups.tolist(), u.tolist(),
                                                                   strict=True)]
    assert sum(1 for a, b in zip(got, want, strict=True) if a != b) <= 3  # float rounding
    assert all(0 <= index < len(tables[g]) for index, g in zip(got, groups.tolist(),
                                                                strict=True))


def test_codes_cover_the_model_choices() -> None:
    assert set(KINDS) == {"estimated", "citizen", "exit_scan"}
    assert "personal_qr" in METHODS and "citizen_scan" in METHODS


@pytest.mark.django_db
def test_bulk_loaded_days_are_indexed_partitions_with_every_row(units: object) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("partitions exist on PostgreSQL only")
    result = synth_generate(plan=SynthPlan(district="048", venues=60, people=400,
                                           checkins=3000, days=3))
    assert CheckIn.objects.count() == result.checkins_created == 3000
    first, last = local_day(result.since), local_day(result.until - timedelta(seconds=1))
    names = {p.name for p in partitions_list()}
    day: date = first
    while day <= last:
        assert partition_name(day) in names
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s",
                           [partition_name(day)])
            assert cursor.fetchone()[0] == 5  # key, cover, person, arrival, recorded_by
        day += timedelta(days=1)
    # the partitioned table finds the rows by its indexes' columns
    some = CheckIn.objects.order_by("arrived_at").first()
    assert some is not None
    assert CheckIn.objects.filter(person_id=some.person_id, arrived_at=some.arrived_at).exists()
