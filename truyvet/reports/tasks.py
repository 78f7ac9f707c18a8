"""Background jobs for reports, run by the django-q2 worker (``truyvet worker``).

Four schedules, created once after every ``migrate`` (``apps.py``); an
operator's later changes to them in the admin are kept:

- every minute, a run that folds the check-ins noted since the last fold
  into the rollups every REPORTS_ROLLUPS_FOLD_SECONDS until the next run
  takes over (decision 0022);
- every day at 06:00 (Vietnam), the daily reports for yesterday;
- every Monday at 06:30, the weekly reports for the week before;
- every day at 02:45, after the check-in purge, the purge of person-day rows
  (who was where) of the days that purge has reached.

The daily and weekly jobs queue one task per unit, so that a country's
700 districts do not have to fit in one task's time limit.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from truyvet.places.models import AdministrativeUnit
from truyvet.reports.rollups import rollups_fold, rollups_purge_expired
from truyvet.reports.selectors import Scope
from truyvet.reports.services import report_email, report_generate, report_period, scheduled_scopes

logger = logging.getLogger(__name__)

DAILY_TASK_NAME = "reports: daily reports"
WEEKLY_TASK_NAME = "reports: weekly reports"
PURGE_TASK_NAME = "reports: purge expired presence"
FOLD_TASK_NAME = "reports: fold check-ins into rollups"
# The run that folds now; an older run that sees another here stops.
FOLD_RUN_KEY = "reports:rollups-fold-run"
# A run folds for at most this long. django-q2 looks at its schedule every
# 30 s, so the next run starts within 90 s; the overlap keeps folding gapless.
FOLD_RUN_SECONDS = 150.0


def reports_daily() -> int:
    """Queues yesterday's report of every scheduled unit; returns how many."""
    return _queue_all("daily")


def reports_weekly() -> int:
    """Queues last week's report of every scheduled unit; returns how many."""
    return _queue_all("weekly")


def _queue_all(kind: str) -> int:
    from django_q.tasks import async_task

    scopes = scheduled_scopes()
    for scope in scopes:
        async_task("truyvet.reports.tasks.report_for_scope", kind, scope.slug,
                   task_name=f"reports: {kind} {scope.slug}")
    logger.info("queued %s %s reports", len(scopes), kind)
    return len(scopes)


def report_for_scope(kind: str, slug: str) -> dict[str, Any]:
    """Makes (once) one unit's daily or weekly report and, with
    REPORTS_EMAIL, mails its link."""
    unit = None if slug == "nation" else AdministrativeUnit.objects.get(pk=int(slug))
    since, until = report_period(kind, timezone.localdate())
    report = report_generate(scope=Scope(unit=unit), kind=kind, since=since, until=until)
    emailed = report_email(report=report) if settings.REPORTS_EMAIL else 0
    return {"report": report.pk, "emailed": emailed}


def reports_purge_presence() -> int:
    return rollups_purge_expired()


def reports_fold_rollups(seconds: float = FOLD_RUN_SECONDS) -> dict[str, Any]:
    """Folds noted check-ins into the rollups every REPORTS_ROLLUPS_FOLD_SECONDS
    for up to ``seconds``, or until a newer run (the schedule starts one a
    minute) takes over; returns what it folded. A fold another process is
    running is not waited for: the next one picks up what it left."""
    me = uuid.uuid4().hex
    cache.set(FOLD_RUN_KEY, me, timeout=int(seconds) + 60)
    deadline = time.monotonic() + seconds
    folds = added = changed = 0
    while True:
        report = rollups_fold()
        folds += 1
        added += report.added
        changed += report.changed
        if time.monotonic() + settings.REPORTS_ROLLUPS_FOLD_SECONDS >= deadline:
            break
        time.sleep(settings.REPORTS_ROLLUPS_FOLD_SECONDS)
        if cache.get(FOLD_RUN_KEY) != me:
            break  # a newer run folds from here
        if _cluster_stopping():
            break  # the worker is shutting down and waits for this task
    return {"folds": folds, "added": added, "changed": changed}


def _cluster_stopping() -> bool:
    """Whether the django-q2 cluster running this task is stopping: it waits
    for its workers' tasks to end, so a fold run must not keep it waiting.
    Read from the cluster's published status (its sentinel is this
    process's parent); never true outside a worker."""
    try:
        from django_q.conf import Conf
        from django_q.status import Stat

        parent = os.getppid()
        return any(stat.sentinel == parent and stat.status == Conf.STOPPING
                   for stat in Stat.get_all())
    except Exception:  # a status that cannot be read: keep folding
        logger.debug("could not read the worker's status", exc_info=True)
        return False


def _next_local(hour: int, minute: int, *, weekday: int | None = None) -> datetime:
    """The next local time at hour:minute (on ``weekday``, 0 = Monday)."""
    now = timezone.localtime()
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    while moment <= now or (weekday is not None and moment.weekday() != weekday):
        moment += timedelta(days=1)
    return moment


def schedule_reports(*, using: str = "default") -> None:
    """Creates the four schedules once each."""
    from django_q.models import Schedule

    schedules = Schedule.objects.using(using)
    if not schedules.filter(name=FOLD_TASK_NAME).exists():
        schedules.create(name=FOLD_TASK_NAME, func="truyvet.reports.tasks.reports_fold_rollups",
                         schedule_type=Schedule.MINUTES, minutes=1, repeats=-1)
    wanted = [
        (DAILY_TASK_NAME, "truyvet.reports.tasks.reports_daily", Schedule.DAILY,
         _next_local(6, 0)),
        (WEEKLY_TASK_NAME, "truyvet.reports.tasks.reports_weekly", Schedule.WEEKLY,
         _next_local(6, 30, weekday=0)),
        (PURGE_TASK_NAME, "truyvet.reports.tasks.reports_purge_presence", Schedule.DAILY,
         _next_local(2, 45)),
    ]
    for name, func, kind, first_run in wanted:
        if not schedules.filter(name=name).exists():
            schedules.create(name=name, func=func, schedule_type=kind, next_run=first_run,
                             repeats=-1)
