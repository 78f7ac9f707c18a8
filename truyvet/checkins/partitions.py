"""Daily partitions of the check-in table on PostgreSQL (decision 0007).

On PostgreSQL ``checkins_checkin`` is partitioned by RANGE on ``arrived_at``,
one partition per local day (midnight to midnight in ``settings.TIME_ZONE``,
Asia/Ho_Chi_Minh), named ``checkins_checkin_pYYYYMMDD``, plus a DEFAULT
partition that catches a row whose day has no partition yet, so that no scan
is ever refused for want of DDL. On SQLite there is one plain table and every
function here does nothing.

- ``partitions_ensure(start, end)`` creates the missing partitions of the
  local days ``start`` to ``end`` (both included). It is idempotent and safe
  when two processes run it at once (they queue on one advisory lock); rows
  the DEFAULT partition holds for a day being created are moved into it.
  Run by the migration that partitions the table, by the daily upkeep job
  (``tasks.checkins_partitions_upkeep``) and by ``truyvet synth`` before it
  bulk-loads a period.
- ``partitions_drop_before(cutoff)`` is the retention purge's fast path: it
  drops whole partitions whose upper bound is at or before ``cutoff``, after
  deleting the scan receipts that point into them.

A new partition is made as a plain table and then ATTACHed: attaching takes
a SHARE UPDATE EXCLUSIVE lock on the parent, so scans keep being written
while the daily job runs (CREATE TABLE ... PARTITION OF would stop them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from truyvet.checkins.models import CheckIn, ScanReceipt
from truyvet.core.time import day_bounds, local_day

logger = logging.getLogger(__name__)

# The SQL below spells these names out (see ``_ymd``).
PARENT = "checkins_checkin"
DEFAULT_PARTITION = "checkins_checkin_default"
if CheckIn._meta.db_table != PARENT:  # pragma: no cover - a renamed model table
    raise RuntimeError("partitions.py spells out the check-in table's name; update it")
# pg_advisory_xact_lock key shared by everything that adds or drops partitions
# ("trvp" in ASCII), so that two upkeep runs never race each other.
_LOCK_KEY = 0x74727670
_BOUNDS = re.compile(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)")
_NAME = re.compile(r"checkins_checkin_p(\d{8})")


@dataclass(frozen=True)
class Partition:
    """One partition of the check-in table; the DEFAULT one has no bounds."""

    name: str
    lower: datetime | None
    upper: datetime | None

    @property
    def is_default(self) -> bool:
        return self.lower is None


def partition_name(day: date) -> str:
    return f"{PARENT}_p{_ymd(day):d}"


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _ymd(day: date) -> int:
    """The day as the integer that ends its partition's name (20261126).

    The SQL here names partitions with it as ``checkins_checkin_p{ymd:d}``:
    DDL takes no bound parameters for table names, and an integer can carry
    nothing but digits into the text. Bounds and other values are
    parameters (interpolated by the driver, which quotes them)."""
    return int(day.strftime("%Y%m%d"))


def is_partitioned(*, using: str = "default") -> bool:
    """Whether the check-in table is a partitioned table (PostgreSQL after
    migration checkins 0004)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [PARENT]
        )
        return cursor.fetchone() is not None


def _partitions(cursor: CursorWrapper) -> list[Partition]:
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s) "
        "ORDER BY c.relname",
        [PARENT],
    )
    found = []
    for name, bound in cursor.fetchall():
        match = _BOUNDS.search(bound)
        if match is None:  # "DEFAULT"
            found.append(Partition(name, None, None))
        else:
            found.append(Partition(name, datetime.fromisoformat(match.group(1)),
                                   datetime.fromisoformat(match.group(2))))
    return found


def partitions_list(*, using: str = "default") -> list[Partition]:
    """The check-in table's partitions, by name; empty when not partitioned."""
    if not is_partitioned(using=using):
        return []
    with connections[using].cursor() as cursor:
        return _partitions(cursor)


def _create_bare(cursor: CursorWrapper, day: date) -> str:
    """A plain table shaped like the check-in table, for ``day``'s partition."""
    ymd = _ymd(day)
    # LIKE copies the columns in order, their defaults and CHECK constraints;
    # ATTACH adds the parent's indexes, primary key and foreign keys.
    cursor.execute(
        f"CREATE TABLE checkins_checkin_p{ymd:d} (LIKE checkins_checkin "
        "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
    )
    return f"checkins_checkin_p{ymd:d}"


def _attach_bare(cursor: CursorWrapper, day: date, *, default_exists: bool) -> int:
    """Attaches the table ``_create_bare`` made for ``day``, moving into it
    the rows the DEFAULT partition holds for that day; returns how many it
    moved."""
    ymd = _ymd(day)
    lower, upper = day_bounds(day)
    moved = 0
    if default_exists:
        # Writers to the DEFAULT partition wait while its rows of the day move
        # (readers do not), so that none lands there between move and attach.
        cursor.execute("LOCK TABLE checkins_checkin_default IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(
            "WITH moved AS (DELETE FROM checkins_checkin_default "  # noqa: S608 - an int
            "WHERE arrived_at >= %s AND arrived_at < %s RETURNING *) "
            f"INSERT INTO checkins_checkin_p{ymd:d} SELECT * FROM moved",
            [lower, upper],
        )
        moved = max(cursor.rowcount, 0)
    cursor.execute(
        f"ALTER TABLE checkins_checkin ATTACH PARTITION checkins_checkin_p{ymd:d} "
        "FOR VALUES FROM (%s) TO (%s)",
        [lower, upper],
    )
    return moved


def _attach_day(cursor: CursorWrapper, day: date, *, default_exists: bool) -> int:
    """Creates ``day``'s partition, moving into it the rows the DEFAULT
    partition holds for that day; returns how many it moved."""
    _create_bare(cursor, day)
    return _attach_bare(cursor, day, default_exists=default_exists)


def partitions_clear_empty(start: date, end: date, *, using: str = "default") -> list[date]:
    """For a bulk load of local days ``start`` to ``end``: drops those days'
    partitions that hold no row (one short transaction each), and returns
    the days that now have no partition at all, which
    ``partition_bulk_create`` / ``partition_bulk_attach`` can fill unindexed
    and index once, far faster than row by row. Days with rows keep their
    partition. Empty on SQLite."""
    if end < start or not is_partitioned(using=using):
        return []
    connection = connections[using]
    free: list[date] = []
    for day in _days(start, end):
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            seen = _partitions(cursor)
            lower, upper = day_bounds(day)
            mine = [p for p in seen if p.name == partition_name(day)
                    and p.lower == lower and p.upper == upper]
            if mine:
                ymd = _ymd(day)
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM checkins_checkin_p{ymd:d})")  # noqa: S608 - a partition named by an integer day
                if cursor.fetchone()[0]:
                    continue
                cursor.execute(f"DROP TABLE checkins_checkin_p{ymd:d}")
            elif _covered(seen, day):
                continue
        free.append(day)
    return free


def partition_bulk_create(day: date, *, using: str = "default") -> str:
    """Inside the caller's transaction: a bare table (no index, no key) for
    ``day``'s partition, to fill with COPY; its name."""
    with connections[using].cursor() as cursor:
        return _create_bare(cursor, day)


def partition_bulk_attach(day: date, *, using: str = "default") -> int:
    """Inside the caller's transaction, after ``partition_bulk_create`` and
    the COPY: attaches the table as ``day``'s partition, which builds its
    indexes in one pass each and checks its foreign keys set-wise. A scan of
    that day that arrived meanwhile went to DEFAULT and is moved in."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        seen = _partitions(cursor)
        return _attach_bare(cursor, day, default_exists=any(p.is_default for p in seen))


def _covered(partitions: list[Partition], day: date) -> bool:
    """Whether a partition already covers (part of) the local ``day``."""
    lower, upper = day_bounds(day)
    return any(p.lower is not None and p.upper is not None and p.lower < upper
               and lower < p.upper for p in partitions)


def partitions_ensure(start: date, end: date, *, using: str = "default") -> list[str]:
    """Creates the missing daily partitions for local days ``start`` to
    ``end`` (both included); returns the names of those it created. Does
    nothing on SQLite or while the table is not partitioned.

    One transaction per day created, so that the locks attaching takes (on
    the DEFAULT partition above all, which every unpruned read of the table
    needs) are held for one day's work, not the whole range's."""
    if end < start or not is_partitioned(using=using):
        return []
    connection = connections[using]
    with connection.cursor() as cursor:
        seen = _partitions(cursor)
    created: list[str] = []
    moved = 0
    for day in _days(start, end):
        if _covered(seen, day):
            continue
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            seen = _partitions(cursor)  # again under the lock: another run may have added it
            if _covered(seen, day):
                continue
            moved += _attach_day(cursor, day,
                                 default_exists=any(p.is_default for p in seen))
        created.append(partition_name(day))
    if created:
        logger.info("created check-in partitions %s..%s (%s), moved %s rows out of DEFAULT",
                    created[0], created[-1], len(created), moved)
    return created


def partitions_window(now: datetime | None = None) -> tuple[date, date]:
    """The local days whose partitions should exist: from the oldest day the
    retention period still accepts scans for, to CHECKIN_PARTITION_DAYS_AHEAD
    days after today."""
    now = now or timezone.now()
    start = local_day(now - timedelta(days=settings.CHECKIN_RETENTION_DAYS))
    return start, local_day(now) + timedelta(days=settings.CHECKIN_PARTITION_DAYS_AHEAD)


def partitions_drop_before(cutoff: datetime, *, using: str = "default") -> int:
    """Drops every daily partition whose upper bound is at or before
    ``cutoff``, each after deleting the scan receipts that point into it (the
    receipt's key to a check-in has no database constraint, decision 0007),
    one partition per transaction; returns how many check-ins went with them.
    Partitions not named by ``partition_name`` (made by hand) are left to
    the purge's row-by-row delete."""
    if not is_partitioned(using=using):
        return 0
    connection = connections[using]
    quote = connection.ops.quote_name
    receipts = quote(ScanReceipt._meta.db_table)
    checkin_column = quote(str(ScanReceipt._meta.get_field("checkin").column))
    total = 0
    for partition in partitions_list(using=using):
        named = _NAME.fullmatch(partition.name)
        if partition.lower is None or partition.upper is None or partition.upper > cutoff \
                or named is None:
            continue
        ymd, bounds = int(named.group(1)), [partition.lower, partition.upper]
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            cursor.execute("SELECT to_regclass(%s)", [partition.name])
            if cursor.fetchone()[0] is None:
                continue  # another purge dropped it meanwhile
            # Both statements bound arrived_at to the partition: the planner
            # reads that partition only.
            cursor.execute(
                f"DELETE FROM {receipts} WHERE {checkin_column} IN "  # noqa: S608 - names from the models, values bound
                "(SELECT id FROM checkins_checkin WHERE arrived_at >= %s AND arrived_at < %s)",
                bounds,
            )
            cursor.execute(
                "SELECT count(*) FROM checkins_checkin WHERE arrived_at >= %s "
                "AND arrived_at < %s", bounds,
            )
            rows = int(cursor.fetchone()[0])
            # A table with deferred foreign-key checks pending cannot be
            # dropped; there are some only when the caller's transaction
            # wrote into this partition (tests do), and they are checked now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"DROP TABLE checkins_checkin_p{ymd:d}")
        total += rows
        logger.info("dropped check-in partition %s (%s rows)", partition.name, rows)
    return total
