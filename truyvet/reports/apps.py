from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_jobs(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Imported when called: apps.py is loaded before any model can be.
    from django.db import connections
    from django_q.models import Schedule

    from truyvet.reports.tasks import schedule_reports

    # Not when django-q2's tables are absent (migrating backwards, say).
    if Schedule._meta.db_table in connections[using].introspection.table_names():
        schedule_reports(using=using)


class ReportsConfig(AppConfig):
    name = "truyvet.reports"
    label = "reports"
    verbose_name = "Báo cáo"

    def ready(self) -> None:
        # After every migrate (idempotent): the daily and weekly reports and
        # the purge of expired person-day rows exist in django-q2's schedule.
        post_migrate.connect(_schedule_jobs, sender=self, dispatch_uid="reports.schedule")

        # Imported here, not at the top: rollups import models, which are
        # loaded only once every app's config is (Django calls ready() then).
        from truyvet.checkins import hooks as checkin_hooks
        from truyvet.reports.rollups import (
            rollups_note_added,
            rollups_note_changed,
            rollups_reload,
        )

        # Whoever writes check-in rows keeps the rollups right: the check-in
        # services call these inside the transaction that writes the rows
        # (truyvet/checkins/hooks.py). A scan or a batch only notes what it
        # wrote (one insert); the worker folds the notes into the rollups
        # every few seconds (rollups.rollups_fold, decision 0022). A bulk
        # load is folded at once.
        checkin_hooks.checkins_added.register(rollups_note_added)
        checkin_hooks.checkins_changed.register(rollups_note_changed)
        checkin_hooks.checkins_reloaded.register(rollups_reload)
