"""Background jobs for declarations, run by the django-q2 worker like the
check-ins' purge (``truyvet.checkins.tasks``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from truyvet.declarations.models import CheckpointPass, Declaration

logger = logging.getLogger(__name__)

PURGE_CHUNK = 5000
PURGE_TASK_NAME = "declarations: purge expired"
PURGE_TASK_FUNC = "truyvet.declarations.tasks.declarations_purge_expired"


def declarations_purge_expired(*, now: datetime | None = None, chunk: int = PURGE_CHUNK) -> int:
    """Deletes checkpoint passes and declarations older than
    DECLARATION_RETENTION_DAYS, ``chunk`` rows per transaction; returns how
    many rows went. A declaration goes when its series' newest version is
    older than the cutoff (an old version of a recent declaration stays
    with it); its passes go with it. Runs daily."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DECLARATION_RETENTION_DAYS)
    total = _purge(CheckpointPass.objects.filter(passed_at__lt=cutoff), chunk)
    recent_series = Declaration.objects.filter(created_at__gte=cutoff).values("series")
    total += _purge(Declaration.objects.filter(created_at__lt=cutoff)
                    .exclude(series__in=recent_series), chunk)
    logger.info("purged %s declarations and passes older than %s", total, cutoff.isoformat())
    return total


def _purge(queryset: object, chunk: int) -> int:
    from django.db.models import QuerySet

    assert isinstance(queryset, QuerySet)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:chunk])
            if not ids:
                return total
            queryset.model.objects.filter(pk__in=ids).delete()
        total += len(ids)


def schedule_purge(*, using: str = "default") -> None:
    """The daily purge, at 02:45 Vietnam time, after the check-ins'."""
    from django_q.models import Schedule

    schedules = Schedule.objects.using(using)
    if schedules.filter(name=PURGE_TASK_NAME).exists():
        return
    local_now = timezone.localtime()
    first_run = local_now.replace(hour=2, minute=45, second=0, microsecond=0)
    if first_run <= local_now:
        first_run += timedelta(days=1)
    schedules.create(name=PURGE_TASK_NAME, func=PURGE_TASK_FUNC, schedule_type=Schedule.DAILY,
                     next_run=first_run, repeats=-1)
