"""Background jobs for check-ins, run by the django-q2 worker (``truyvet
worker``); the queue is kept in the database, so SQLite and PostgreSQL
installations need nothing more."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from truyvet.checkins.models import CheckIn, ScanReceipt

logger = logging.getLogger(__name__)

PURGE_CHUNK = 5000
PURGE_TASK_NAME = "checkins: purge expired"
PURGE_TASK_FUNC = "truyvet.checkins.tasks.checkins_purge_expired"


def checkins_purge_expired(*, now: datetime | None = None, chunk: int = PURGE_CHUNK) -> int:
    """Deletes check-ins that arrived more than CHECKIN_RETENTION_DAYS ago,
    ``chunk`` rows per transaction so that a large purge never holds a long
    lock; returns how many were deleted. Runs daily (see ``apps.py``)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
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
    logger.info("purged %s check-ins older than %s", total, cutoff.isoformat())
    return total


def schedule_purge(*, using: str = "default") -> None:
    """Creates the daily purge schedule once; an operator's later changes to
    it (time of day, repeats) are kept."""
    from django_q.models import Schedule

    schedules = Schedule.objects.using(using)
    if schedules.filter(name=PURGE_TASK_NAME).exists():
        return
    # 02:30 Vietnam time, when scans are fewest.
    local_now = timezone.localtime()
    first_run = local_now.replace(hour=2, minute=30, second=0, microsecond=0)
    if first_run <= local_now:
        first_run += timedelta(days=1)
    schedules.create(
        name=PURGE_TASK_NAME, func=PURGE_TASK_FUNC, schedule_type=Schedule.DAILY,
        next_run=first_run, repeats=-1,
    )
