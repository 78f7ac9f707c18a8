"""Background jobs for tracing, run by the django-q2 worker (``truyvet worker``).

``tracing_purge_expired`` runs daily (scheduled after every ``migrate``, see
``apps.py``): the retention limit of check-ins (CHECKIN_RETENTION_DAYS) also
applies to what tracing copied out of them. Once a contact's last exposure is
older than that, the where-and-when breakdown of their contact record is
erased (the totals stay with the case), and public exposure sites that no
visit can match any more are deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from truyvet.tracing.models import Contact, ExposureSite

PURGE_TASK_NAME = "tracing: purge expired"
PURGE_TASK_FUNC = "truyvet.tracing.tasks.tracing_purge_expired"


def tracing_purge_expired(*, now: datetime | None = None) -> dict[str, int]:
    """Erases movement details past the retention period; returns counts."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    erased = Contact.objects.filter(last_exposure_at__lt=cutoff).exclude(visits=[]).update(
        visits=[]
    )
    sites, _by_model = ExposureSite.objects.filter(ends_at__lt=cutoff).delete()
    return {"contacts_erased": erased, "sites_deleted": sites}


def schedule_purge(*, using: str = "default") -> None:
    """Creates the daily purge schedule once (03:00 Vietnam time); an
    operator's later changes to it are kept."""
    from django_q.models import Schedule

    schedules: Any = Schedule.objects.using(using)
    if schedules.filter(name=PURGE_TASK_NAME).exists():
        return
    local_now = timezone.localtime()
    first_run = local_now.replace(hour=3, minute=0, second=0, microsecond=0)
    if first_run <= local_now:
        first_run += timedelta(days=1)
    schedules.create(name=PURGE_TASK_NAME, func=PURGE_TASK_FUNC, schedule_type=Schedule.DAILY,
                     next_run=first_run, repeats=-1)
