"""Background jobs for check-ins, run by the django-q2 worker (``truyvet
worker``); the queue is kept in the database, so SQLite and PostgreSQL
installations need nothing more."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from truyvet.checkins.models import CheckIn, ScanReceipt
from truyvet.checkins.partitions import (
    is_partitioned,
    partitions_drop_before,
    partitions_ensure,
    partitions_window,
)

logger = logging.getLogger(__name__)

PURGE_CHUNK = 5000
PURGE_TASK_NAME = "checkins: purge expired"
PURGE_TASK_FUNC = "truyvet.checkins.tasks.checkins_purge_expired"
UPKEEP_TASK_NAME = "checkins: partitions ahead"
UPKEEP_TASK_FUNC = "truyvet.checkins.tasks.checkins_partitions_upkeep"


def checkins_purge_expired(*, now: datetime | None = None, chunk: int = PURGE_CHUNK) -> int:
    """Deletes check-ins that arrived more than CHECKIN_RETENTION_DAYS ago
    and the scan receipts pointing at them; returns how many check-ins went.
    Runs daily (see ``apps.py``).

    On PostgreSQL whole daily partitions that end at or before the cutoff
    are dropped first (``partitions.partitions_drop_before``). What is left
    before the cutoff (the cutoff's own partial day, and the DEFAULT
    partition) is deleted ``chunk`` rows per transaction, as on SQLite, so
    that a large purge never holds a long lock. The reports' daily figures
    are not touched (``reports.rollups``: purged days are history)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    total = partitions_drop_before(cutoff)
    if is_partitioned():
        total += _purge_rows_postgresql(cutoff, chunk)
    else:
        total += _purge_rows(cutoff, chunk)
    logger.info("purged %s check-ins older than %s", total, cutoff.isoformat())
    return total


def _purge_rows(cutoff: datetime, chunk: int) -> int:
    total = 0
    while True:
        ids = list(
            CheckIn.objects.filter(arrived_at__lt=cutoff)
            .order_by("arrived_at")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            break
        ScanReceipt.objects.filter(checkin_id__in=ids).delete()
        deleted, _by_model = CheckIn.objects.filter(pk__in=ids).delete()
        total += len(ids)
        if deleted == 0:  # nothing left to delete (another purge got there first)
            break
    return total


def _purge_rows_postgresql(cutoff: datetime, chunk: int) -> int:
    """The chunked delete on the partitioned table. Each statement names the
    rows by (id, arrived_at) under ``arrived_at < cutoff``, so it reads only
    the partitions before the cutoff; the ORM's delete would look each id
    up in every partition."""
    quote = connection.ops.quote_name
    table = quote(CheckIn._meta.db_table)
    receipts = quote(ScanReceipt._meta.db_table)
    receipt_checkin = quote(str(ScanReceipt._meta.get_field("checkin").column))
    # Names from the models only; the values are parameters.
    sql = (
        f"WITH doomed AS (SELECT id, arrived_at FROM {table} WHERE arrived_at < %s "  # noqa: S608 - names from the models, values bound
        "ORDER BY arrived_at LIMIT %s), "
        f"receipts AS (DELETE FROM {receipts} WHERE {receipt_checkin} IN "
        "(SELECT id FROM doomed)) "
        f"DELETE FROM {table} AS c USING doomed WHERE c.arrived_at < %s "
        "AND c.id = doomed.id AND c.arrived_at = doomed.arrived_at"
    )
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [cutoff, chunk, cutoff])
            deleted = max(cursor.rowcount, 0)
        total += deleted
        if deleted < chunk:  # the last, short chunk (or another purge got there first)
            return total


def checkins_partitions_upkeep(*, now: datetime | None = None) -> int:
    """Creates the daily check-in partitions from the oldest day the
    retention period accepts to CHECKIN_PARTITION_DAYS_AHEAD days ahead;
    returns how many it created. Runs daily; nothing to do on SQLite."""
    return len(partitions_ensure(*partitions_window(now)))


def _schedule_daily(name: str, func: str, *, hour: int, minute: int, using: str) -> None:
    """Creates a daily schedule once; an operator's later changes to it
    (time of day, repeats) are kept."""
    from django_q.models import Schedule

    schedules = Schedule.objects.using(using)
    if schedules.filter(name=name).exists():
        return
    local_now = timezone.localtime()
    first_run = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if first_run <= local_now:
        first_run += timedelta(days=1)
    schedules.create(
        name=name, func=func, schedule_type=Schedule.DAILY, next_run=first_run, repeats=-1,
    )


def schedule_purge(*, using: str = "default") -> None:
    """The daily purge, at 02:30 Vietnam time, when scans are fewest."""
    _schedule_daily(PURGE_TASK_NAME, PURGE_TASK_FUNC, hour=2, minute=30, using=using)


def schedule_partitions_upkeep(*, using: str = "default") -> None:
    """The daily partition upkeep, at 02:15 Vietnam time, before the purge;
    scheduled on SQLite too, where it does nothing, so that a database moved
    to PostgreSQL has it already."""
    _schedule_daily(UPKEEP_TASK_NAME, UPKEEP_TASK_FUNC, hour=2, minute=15, using=using)
