"""``truyvet rebuild-coverage``: recount the coverage rollups from the dose
table (after a bulk load that bypassed the services, a change of
VACCINATION_AGE_GROUPS, or for repair)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from truyvet.vaccination.rollups import coverage_rebuild


class Command(BaseCommand):
    help = "Recount the vaccination coverage rollups from the dose records."

    def handle(self, *args: Any, **options: Any) -> None:
        people = coverage_rebuild()
        self.stdout.write(f"Coverage recounted for {people:,} vaccinated people.")
