"""``truyvet rebuild_rollups``: recompute the report rollups of some days
from the check-in table (after a restore, a bulk load, or to repair).

    truyvet rebuild_rollups                          # the retention period up to today
    truyvet rebuild_rollups --since 2021-11-01 --until 2021-11-14
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from truyvet.reports.rollups import first_open_day, rollups_reload


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not an ISO date: {text!r}") from None


class Command(BaseCommand):
    help = "Recompute the daily report rollups of local days from the check-in table."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", type=_date, help="first local day (default: the first "
                            "day the retention purge has not reached)")
        parser.add_argument("--until", type=_date, help="last local day (default today)")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        since = options["since"] or first_open_day()
        until = options["until"] or today
        if since > until:
            raise CommandError("--since must not be after --until")
        if since < today - timedelta(days=settings.CHECKIN_RETENTION_DAYS):
            self.stderr.write("Warning: the purge has reached some of these days; their "
                              "figures will drop to the check-ins that are left.")
        # With the check-ins noted and not yet folded, in one snapshot, so
        # that none is counted twice (decision 0022).
        report = rollups_reload(since=since, until=until)
        self.stdout.write(f"Rebuilt {report.reloaded_days} day(s) from "
                          f"{report.reloaded_checkins:,} check-ins.")
