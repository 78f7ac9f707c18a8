"""Background jobs of vaccination, run by the django-q2 worker
(``truyvet worker``):

- ``dose_import_task``: one uploaded list, queued by the import page and API;
- ``coverage_reports_daily``: every day at 05:30 (Vietnam), yesterday's
  coverage workbook of every district and province with vaccinated people,
  kept for download on their coverage page. Scheduled once after every
  ``migrate``; an operator's later changes to the schedule are kept.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

logger = logging.getLogger(__name__)

REPORTS_TASK_NAME = "vaccination: daily coverage reports"
REPORTS_TASK_FUNC = "truyvet.vaccination.tasks.coverage_reports_daily"


def dose_import_task(batch_id: int) -> dict[str, Any]:
    from truyvet.vaccination.importing import import_run

    batch = import_run(batch_id=batch_id)
    return {"status": batch.status, "imported": batch.imported, "skipped": batch.skipped,
            "rejected": batch.rejected}


def coverage_reports_daily() -> int:
    from truyvet.vaccination.services import coverage_reports_make

    made = coverage_reports_make(day=timezone.localdate() - timedelta(days=1))
    logger.info("made %s coverage workbooks", made)
    return made


def _next_local(hour: int, minute: int) -> datetime:
    now = timezone.localtime()
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment <= now:
        moment += timedelta(days=1)
    return moment


def schedule_coverage_reports(*, using: str = "default") -> None:
    from django_q.models import Schedule

    schedules = Schedule.objects.using(using)
    if not schedules.filter(name=REPORTS_TASK_NAME).exists():
        schedules.create(name=REPORTS_TASK_NAME, func=REPORTS_TASK_FUNC,
                         schedule_type=Schedule.DAILY, next_run=_next_local(5, 30), repeats=-1)
