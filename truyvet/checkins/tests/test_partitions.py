"""Daily partitions of the check-in table on PostgreSQL (decision 0007):
the table's shape, where rows land, partition upkeep, retention by DROP,
idempotent retries under the (id, arrived_at) key, partition pruning and the
migration that converts a populated table. On SQLite the same calls do
nothing, and the retention purge works as before (test_purge.py)."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from truyvet.checkins.models import CheckIn, ScanOutcome, ScanReceipt
from truyvet.checkins.partitions import (
    DEFAULT_PARTITION,
    PARENT,
    is_partitioned,
    partition_name,
    partitions_ensure,
    partitions_list,
    partitions_window,
)
from truyvet.checkins.services import checkin_record
from truyvet.checkins.tasks import (
    UPKEEP_TASK_FUNC,
    checkins_partitions_upkeep,
    checkins_purge_expired,
    schedule_partitions_upkeep,
)
from truyvet.tracing import exposure

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# Days far from the ones the migration prepared, so each test makes its own.
D1, D2, D3 = date(2030, 3, 1), date(2030, 3, 2), date(2030, 3, 3)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions exist only on PostgreSQL"
)
on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite keeps one plain table; this is its side"
)


def local(day: date, hour: int = 0, minute: int = 0, second: int = 0,
          micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=VN)


def visit(venue: Any, person: Any, at: datetime, **fields: Any) -> CheckIn:
    """A row written straight to the table: these times are far outside what
    the services accept (the retention period and the clock-skew limit)."""
    return CheckIn.objects.create(venue=venue, person=person, arrived_at=at,
                                  ends_at=at + timedelta(minutes=30), method="manual", **fields)


def home_of(checkin_id: uuid.UUID) -> str:
    """The partition holding the row."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {PARENT} WHERE id = %s",  # noqa: S608 - names from the models, values bound
                       [checkin_id])
        return str(cursor.fetchone()[0])


def exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [table])
        return cursor.fetchone()[0] is not None


def parent_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
            [PARENT],
        )
        return dict(cursor.fetchall())


def primary_key_columns() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_constraint c CROSS JOIN unnest(c.conkey) WITH ORDINALITY "
            "AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.conrelid "
            "AND a.attnum = k.attnum WHERE c.conrelid = %s::regclass AND c.contype = 'p' "
            "ORDER BY k.n",
            [PARENT],
        )
        return [row[0] for row in cursor.fetchall()]


# --- The table ---------------------------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db
def test_the_table_is_partitioned_by_range_on_arrival_with_a_default() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.partstrat, a.attname FROM pg_partitioned_table p JOIN pg_attribute a "
            "ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = %s::regclass", [PARENT],
        )
        assert cursor.fetchone() == ("r", "arrived_at")
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass",
                       [PARENT])
        children = cursor.fetchone()[0]
    start, end = partitions_window()
    names = {p.name for p in partitions_list()}
    assert DEFAULT_PARTITION in names
    # The migration made the window around the day the test database was
    # made; today's partition and the days ahead exist.
    assert children == len(names) >= (end - start).days + 1
    assert partition_name(timezone.localdate()) in names
    assert primary_key_columns() == ["id", "arrived_at"]
    indexes = parent_indexes()
    for name in ("checkin_person_arrived", "checkin_arrived",
                 "tracing_checkin_cover"):
        assert name in indexes, sorted(indexes)
    assert "(venue_id, arrived_at, ends_at, person_id)" in indexes["tracing_checkin_cover"]


@on_postgresql
@pytest.mark.django_db
def test_receipts_keep_no_database_constraint_to_the_partitioned_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = %s::regclass", [PARENT],
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = %s::regclass", [PARENT],
        )
        assert cursor.fetchone()[0] == 3  # venue, person, recorded_by


@on_postgresql
@pytest.mark.django_db
def test_rows_land_in_their_vietnam_day_at_the_midnight_boundaries(
    personas: Any, restaurant: Any
) -> None:
    assert partitions_ensure(D1, D2) == [partition_name(D1), partition_name(D2)]
    person = personas.citizen.person
    last_moment = visit(restaurant, person, local(D1, 23, 59, 59, 999_999))
    midnight = visit(restaurant, person, local(D2))
    # 17:00 UTC is midnight in Vietnam: the next local day already.
    utc_evening = visit(restaurant, person,
                        datetime(2030, 3, 1, 17, 0, tzinfo=ZoneInfo("UTC")))
    first_moment = visit(restaurant, person, local(D1))
    assert home_of(last_moment.pk) == partition_name(D1)
    assert home_of(first_moment.pk) == partition_name(D1)
    assert home_of(midnight.pk) == partition_name(D2)
    assert home_of(utc_evening.pk) == partition_name(D2)
    nowhere = visit(restaurant, person, local(D3, 12))  # no partition for that day
    assert home_of(nowhere.pk) == DEFAULT_PARTITION


# --- Upkeep ------------------------------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db
def test_ensure_is_idempotent_and_makes_only_what_is_missing() -> None:
    assert partitions_ensure(D2, D2) == [partition_name(D2)]
    assert partitions_ensure(D1, D3) == [partition_name(D1), partition_name(D3)]
    assert partitions_ensure(D1, D3) == []
    assert {partition_name(d) for d in (D1, D2, D3)} <= {p.name for p in partitions_list()}
    mine = {p.name: p for p in partitions_list()}[partition_name(D2)]
    assert (mine.lower, mine.upper) == (local(D2), local(D3))


@on_postgresql
@pytest.mark.django_db
def test_the_upkeep_job_keeps_the_days_ahead_ready(settings: Any) -> None:
    settings.CHECKIN_PARTITION_DAYS_AHEAD = 3
    now = local(D1, 10)
    start, end = partitions_window(now)
    assert end == D1 + timedelta(days=3)
    assert start == D1 - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    made = checkins_partitions_upkeep(now=now)
    assert made == (end - start).days + 1
    assert checkins_partitions_upkeep(now=now) == 0
    assert exists(partition_name(end)) and not exists(partition_name(end + timedelta(days=1)))


@on_postgresql
@pytest.mark.django_db
def test_rows_waiting_in_default_move_into_their_new_partition(
    personas: Any, restaurant: Any
) -> None:
    person = personas.citizen.person
    early = visit(restaurant, person, local(D2, 0, 0, 0, 1))
    late = visit(restaurant, person, local(D2, 23, 59))
    other_day = visit(restaurant, person, local(D3, 8))
    receipt = ScanReceipt.objects.create(id=uuid.uuid4(), checkin=early,
                                         outcome=ScanOutcome.MERGED)
    assert {home_of(v.pk) for v in (early, late, other_day)} == {DEFAULT_PARTITION}
    total = CheckIn.objects.count()

    assert partitions_ensure(D2, D2) == [partition_name(D2)]

    assert home_of(early.pk) == home_of(late.pk) == partition_name(D2)
    assert home_of(other_day.pk) == DEFAULT_PARTITION
    assert CheckIn.objects.count() == total
    moved = CheckIn.objects.get(pk=early.pk)
    assert (moved.arrived_at, moved.person_id) == (early.arrived_at, person.pk)
    assert ScanReceipt.objects.get(pk=receipt.pk).checkin == moved


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_processes_ensuring_at_once_make_each_partition_once() -> None:
    days = [date(2041, 1, 1) + timedelta(days=n) for n in range(6)]
    start = threading.Barrier(2)
    made: list[list[str]] = []
    failures: list[BaseException] = []

    def ensure() -> None:
        try:
            start.wait()
            made.append(partitions_ensure(days[0], days[-1]))
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        # Each day is made by one of them (under the lock, day by day), and
        # the other finds it made: together, every day exactly once.
        assert len(made) == 2
        assert sorted(made[0] + made[1]) == [partition_name(d) for d in days]
        assert {partition_name(d) for d in days} <= {p.name for p in partitions_list()}
    finally:
        with connection.cursor() as cursor:  # DDL outlives this test's flush
            for day in days:
                cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(day)}"')


# --- Retention ---------------------------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db
def test_the_purge_drops_old_partitions_with_their_receipts_and_keeps_newer_rows(
    personas: Any, restaurant: Any, settings: Any
) -> None:
    partitions_ensure(D1, D3)
    person = personas.citizen.person
    dropped = [visit(restaurant, person, local(D1, hour)) for hour in (8, 20)]
    receipt = ScanReceipt.objects.create(id=uuid.uuid4(), checkin=dropped[0],
                                         outcome=ScanOutcome.MERGED)
    before_cutoff = visit(restaurant, person, local(D2, 8))
    after_cutoff = visit(restaurant, person, local(D2, 15))
    next_day = visit(restaurant, person, local(D3, 9))
    in_default = visit(restaurant, person, datetime(2029, 6, 1, 9, tzinfo=VN))
    later_receipt = ScanReceipt.objects.create(id=uuid.uuid4(), checkin=next_day,
                                               outcome=ScanOutcome.CHECKED_OUT)
    cutoff = local(D2, 12)
    now = cutoff + timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    others_before = CheckIn.objects.filter(arrived_at__lt=cutoff).count() - 4

    assert checkins_purge_expired(now=now, chunk=1) == 4 + others_before

    assert not exists(partition_name(D1))  # its upper bound is D2 00:00 <= cutoff
    assert exists(partition_name(D2)) and exists(partition_name(D3))
    assert exists(DEFAULT_PARTITION)
    left = set(CheckIn.objects.values_list("pk", flat=True))
    assert {after_cutoff.pk, next_day.pk} <= left
    assert not left & {dropped[0].pk, dropped[1].pk, before_cutoff.pk, in_default.pk}
    assert not CheckIn.objects.filter(arrived_at__lt=cutoff).exists()
    assert not ScanReceipt.objects.filter(pk=receipt.pk).exists()
    assert ScanReceipt.objects.filter(pk=later_receipt.pk).exists()
    assert checkins_purge_expired(now=now) == 0


# --- The key: (id, arrived_at) -----------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db
def test_the_database_key_refuses_the_same_id_and_arrival_twice(
    personas: Any, restaurant: Any
) -> None:
    first = visit(restaurant, personas.citizen.person, local(D1, 9))
    with pytest.raises(IntegrityError), transaction.atomic():
        visit(restaurant, personas.citizen.person, local(D1, 9), id=first.pk)


@pytest.mark.django_db
def test_a_retried_upload_is_one_row_even_with_another_arrival(
    personas: Any, restaurant: Any
) -> None:
    scan = uuid.uuid4()
    at = timezone.now() - timedelta(hours=1)
    first = checkin_record(venue=restaurant, person=personas.citizen.person,
                           method="citizen_scan", arrived_at=at, checkin_id=scan)
    again = checkin_record(venue=restaurant, person=personas.citizen.person,
                           method="citizen_scan", arrived_at=at, checkin_id=scan)
    # A device that re-stamped the queued scan: the id is still found first.
    restamped = checkin_record(venue=restaurant, person=personas.citizen.person,
                               method="citizen_scan", arrived_at=at - timedelta(days=2),
                               checkin_id=scan)
    assert not first.duplicate and again.duplicate and restamped.duplicate
    assert again.checkin.pk == restamped.checkin.pk == scan
    assert CheckIn.objects.filter(pk=scan).count() == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_same_upload_racing_itself_is_one_row(personas: Any, restaurant: Any) -> None:
    scan = uuid.uuid4()
    at = timezone.now() - timedelta(minutes=5)
    person = personas.citizen.person
    start = threading.Barrier(4)
    results: list[Any] = []
    failures: list[BaseException] = []

    def upload() -> None:
        try:
            start.wait()
            results.append(checkin_record(venue=restaurant, person=person,
                                          method="citizen_scan", arrived_at=at,
                                          checkin_id=scan))
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert CheckIn.objects.filter(pk=scan).count() == 1
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert {r.checkin.pk for r in results} == {scan}


# --- Pruning -----------------------------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db
def test_a_venue_and_time_range_query_reads_only_the_matching_partitions(
    restaurant: Any,
) -> None:
    partitions_ensure(D1, D3)
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN SELECT person_id FROM {PARENT} WHERE venue_id = %s "  # noqa: S608 - names from the models, values bound
            "AND arrived_at >= %s AND arrived_at < %s",
            [restaurant.pk, local(D2, 8), local(D2, 18)],
        )
        one_day = "\n".join(row[0] for row in cursor.fetchall())
    assert partition_name(D2) in one_day, one_day
    for other in (partition_name(D1), partition_name(D3), DEFAULT_PARTITION):
        assert other not in one_day, one_day

    # The exposure search: a presence late on D1 widened by the buffer and
    # the visit cap reads D1's partition and, past midnight, D2's.
    presences = [exposure.Presence(1, restaurant.pk, local(D1, 22), local(D1, 23, 30))]
    rules = exposure.SearchRules(buffer=timedelta(minutes=60), cap=timedelta(hours=12))
    # Its ranges are bound as arrays, so the partitions are pruned when it
    # runs: all are in the plan, and only those of the range's days are read.
    (sql, params), = exposure.candidates_sql(presences, rules, set())
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    read = set(re.findall(r" on (checkins_checkin_\w+)(?: c_\d+)?\s+\(actual ", plan))
    assert read == {partition_name(D1), partition_name(D2)}, plan


# --- The migration -----------------------------------------------------------------------------


def _migrate_checkins(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("checkins", target)])


@on_postgresql
@pytest.mark.django_db
def test_the_migration_converts_a_populated_table_and_back(
    personas: Any, restaurant: Any, market: Any
) -> None:
    # This test's transaction holds deferred key checks for its rows; ALTER
    # TABLE refuses to run over them (a real migration has its own transaction).
    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
    _migrate_checkins("0003_personalqrkey_scanreceipt_scanidentity")
    assert not is_partitioned()
    assert primary_key_columns() == ["id"]
    assert "tracing_checkin_cover" in parent_indexes()  # carried back as well

    now = timezone.now()
    rows = [
        visit(restaurant, personas.citizen.person, now - timedelta(days=days, hours=hours))
        for days in (0, 1, 5) for hours in (1, 9)
    ] + [visit(market, personas.other_citizen.person, now - timedelta(days=2))]
    receipt = ScanReceipt.objects.create(id=uuid.uuid4(), checkin=rows[0],
                                         outcome=ScanOutcome.MERGED)
    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")

    _migrate_checkins("0004_checkin_partitions")

    assert is_partitioned()
    assert primary_key_columns() == ["id", "arrived_at"]
    indexes = parent_indexes()
    for name in ("checkin_venue_arrived", "checkin_person_arrived", "checkin_arrived",
                 "tracing_checkin_cover"):
        assert name in indexes, sorted(indexes)
    assert CheckIn.objects.count() == len(rows)
    for row in rows:
        stored = CheckIn.objects.get(pk=row.pk)
        assert (stored.venue_id, stored.person_id, stored.arrived_at, stored.ends_at) == (
            row.venue_id, row.person_id, row.arrived_at, row.ends_at)
        assert home_of(row.pk) == partition_name(timezone.localtime(row.arrived_at).date())
    assert ScanReceipt.objects.get(pk=receipt.pk).checkin_id == rows[0].pk
    start, end = partitions_window()
    names = {p.name for p in partitions_list()}
    assert {partition_name(start), partition_name(end), DEFAULT_PARTITION} <= names


# --- SQLite ------------------------------------------------------------------------------------


@on_sqlite
@pytest.mark.django_db
def test_on_sqlite_partition_upkeep_does_nothing() -> None:
    assert not is_partitioned()
    assert partitions_list() == []
    assert partitions_ensure(D1, D3) == []
    assert checkins_partitions_upkeep() == 0


@pytest.mark.django_db
def test_the_daily_upkeep_is_scheduled_once() -> None:
    from django_q.models import Schedule

    schedule_partitions_upkeep()
    schedule_partitions_upkeep()
    jobs = Schedule.objects.filter(func=UPKEEP_TASK_FUNC)
    assert jobs.count() == 1
    job = jobs.get()
    assert job.schedule_type == Schedule.DAILY and job.repeats < 0
    assert job.next_run > timezone.now()
