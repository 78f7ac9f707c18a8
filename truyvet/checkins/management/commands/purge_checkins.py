"""``truyvet purge-checkins``: delete check-ins older than the retention
period now, the same job the worker runs daily."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from truyvet.checkins.tasks import checkins_purge_expired


class Command(BaseCommand):
    help = "Delete check-ins older than CHECKIN_RETENTION_DAYS."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = checkins_purge_expired()
        self.stdout.write(
            f"Deleted {deleted} check-ins older than {settings.CHECKIN_RETENTION_DAYS} days."
        )
