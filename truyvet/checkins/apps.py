from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_jobs(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Imported when called: apps.py is loaded before any model can be.
    from django.db import connections
    from django_q.models import Schedule

    from truyvet.checkins.tasks import schedule_partitions_upkeep, schedule_purge

    # Not when django-q2's tables are absent (migrating backwards, say).
    if Schedule._meta.db_table in connections[using].introspection.table_names():
        schedule_purge(using=using)
        schedule_partitions_upkeep(using=using)


class CheckinsConfig(AppConfig):
    name = "truyvet.checkins"
    label = "checkins"
    verbose_name = "Check-ins"

    def ready(self) -> None:
        # After every migrate (idempotent): the daily retention purge and
        # partition upkeep exist in django-q2's schedule table on any fresh
        # or upgraded install.
        post_migrate.connect(_schedule_jobs, sender=self, dispatch_uid="checkins.schedule")
        # Imported here, not at the top: services import models, which are
        # loaded only once every app's config is (Django calls ready() then).
        from truyvet.accounts import hooks as account_hooks
        from truyvet.checkins.services import (
            checkins_follow_merged_person,
            checkins_offer_guest_visits,
        )
        from truyvet.checkins.views import venue_visits_section
        from truyvet.venues import hooks as venue_hooks

        # A new account's proved phone is offered the visits recorded as a
        # guest under it and its name; its holder adopts them or not (issue
        # 12: anyone can type a name and a phone, so nothing moves by itself).
        account_hooks.account_registered.register(checkins_offer_guest_visits)
        # Visits follow a record that an account claims.
        account_hooks.person_merged.register(checkins_follow_merged_person)
        # The venue page shows its visits of the last days to its managers.
        venue_hooks.venue_page_sections.register(venue_visits_section)
