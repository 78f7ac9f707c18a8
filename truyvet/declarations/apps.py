from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_jobs(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Imported when called: apps.py is loaded before any model can be.
    from django.db import connections
    from django_q.models import Schedule

    from truyvet.declarations.tasks import schedule_purge

    if Schedule._meta.db_table in connections[using].introspection.table_names():
        schedule_purge(using=using)


class DeclarationsConfig(AppConfig):
    name = "truyvet.declarations"
    label = "declarations"
    verbose_name = "Khai báo y tế và chốt kiểm soát"

    def ready(self) -> None:
        # The daily retention purge exists after every migrate (idempotent).
        post_migrate.connect(_schedule_jobs, sender=self, dispatch_uid="declarations.schedule")
        from truyvet.accounts import hooks as account_hooks
        from truyvet.checkins import hooks as checkin_hooks
        from truyvet.declarations.checkpoints import claim_door_scan
        from truyvet.declarations.services import declarations_follow_merged_person

        # A declaration QR scanned on the controller's door page (or sent in
        # an offline batch) at a checkpoint is a checkpoint pass.
        checkin_hooks.door_scan_claim.register(claim_door_scan)
        # Declarations about a record follow it when an account claims it.
        account_hooks.person_merged.register(declarations_follow_merged_person)
