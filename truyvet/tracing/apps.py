from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_jobs(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Imported when called: apps.py is loaded before any model can be.
    from django.db import connections
    from django_q.models import Schedule

    from truyvet.core.tasks import schedule_outbox
    from truyvet.tracing.tasks import schedule_purge

    # Not when django-q2's tables are absent (migrating backwards, say).
    if Schedule._meta.db_table in connections[using].introspection.table_names():
        schedule_outbox(using=using)
        schedule_purge(using=using)


class TracingConfig(AppConfig):
    name = "truyvet.tracing"
    label = "tracing"
    verbose_name = "Truy vết"

    def ready(self) -> None:
        # The outbox that tracing alerts go through is delivered by the worker
        # every minute, and tracing's copies of movements expire daily; make
        # sure both schedules exist after every migrate.
        post_migrate.connect(_schedule_jobs, sender=self, dispatch_uid="tracing.schedule")
