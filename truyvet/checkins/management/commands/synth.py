"""``truyvet synth``: realistic venues, people and check-ins in bulk, for
benchmarks and demos. See ``truyvet.checkins.synth`` for what is generated.

    truyvet synth --venues 5677 --checkins 1_000_000          # Cao Bằng
    truyvet synth --district 048 --venues 300 --checkins 20000  # Hạ Lang
    truyvet synth --checkins 9_000_000                         # append more
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from truyvet.checkins.synth import SynthError, SynthPlan, synth_generate
from truyvet.checkins.synth.generate import (
    CHECKINS_PER_PERSON,
    DEFAULT_ACTIVE_SHARE,
    DEFAULT_BATCH,
    DEFAULT_DAYS,
    DEFAULT_LAPSED_SHARE,
    DEFAULT_SEED,
    PEOPLE_PER_VENUE,
    SYNTH_EXTRAS,
    VENUES_PER_COMMUNE,
    checkins_after_load_hook,
)

DEFAULT_CHECKINS = 100_000


def _count(text: str) -> int:
    """A whole number; "10_000_000" and "10,000,000" are accepted too."""
    try:
        value = int(text.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _moment(text: str) -> datetime:
    """An ISO date or date-time; without an offset it is Vietnam's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class Command(BaseCommand):
    help = (
        "Generate realistic venues, people and check-ins in bulk (COPY on PostgreSQL). "
        "Venue and people counts are totals for the area; check-ins are appended."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--province", help="GSO province code (default 04, Cao Bằng, "
                            "or the province of --district)")
        parser.add_argument("--district", help="GSO district code, e.g. 048 for Hạ Lang")
        parser.add_argument("--venues", type=_count, help="venues the area should have "
                            f"(default {VENUES_PER_COMMUNE} per commune)")
        parser.add_argument("--people", type=_count, help="residents the area should have "
                            f"(default {PEOPLE_PER_VENUE} per venue, or one per "
                            f"{CHECKINS_PER_PERSON} check-ins if more)")
        parser.add_argument("--checkins", type=_count, default=DEFAULT_CHECKINS,
                            help=f"check-ins to add (default {DEFAULT_CHECKINS:,})")
        parser.add_argument("--days", type=_count, default=DEFAULT_DAYS,
                            help=f"days of check-ins, ending --until (default {DEFAULT_DAYS})")
        parser.add_argument("--until", type=_moment,
                            help="end of the period, ISO date-time (default now)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                            help=f"random seed (default {DEFAULT_SEED})")
        parser.add_argument("--active-share", type=_share, default=DEFAULT_ACTIVE_SHARE,
                            help="share of venues with a scan in the last 7 days "
                            f"(default {DEFAULT_ACTIVE_SHARE}: 419 of 5,677 in 2021)")
        parser.add_argument("--lapsed-share", type=_share, default=DEFAULT_LAPSED_SHARE,
                            help="share of venues that scanned only before the last 7 days "
                            f"(default {DEFAULT_LAPSED_SHARE})")
        parser.add_argument("--batch", type=_count, default=DEFAULT_BATCH,
                            help=f"rows per transaction (default {DEFAULT_BATCH:,})")
        for extra in SYNTH_EXTRAS:  # other apps' data (vaccination: --doses)
            extra.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        plan = SynthPlan(
            province=options["province"], district=options["district"],
            venues=options["venues"], people=options["people"], checkins=options["checkins"],
            days=options["days"], until=options["until"], seed=options["seed"],
            active_share=options["active_share"], lapsed_share=options["lapsed_share"],
            batch=options["batch"],
        )
        try:
            result = synth_generate(plan=plan, progress=options["verbosity"] > 0,
                                    stream=cast(TextIO, self.stderr._out))
        except SynthError as error:
            raise CommandError(str(error)) from error
        local = timezone.localtime
        write = self.stdout.write
        write(f"Area: {result.area.full_name} ({result.area.path})")
        write(f"Venues: {result.venues_total:,} ({result.venues_created:,} new, "
              f"{result.timings.get('venues', 0):.1f} s)")
        write(f"People: {result.people_total:,} ({result.people_created:,} new, "
              f"{result.timings.get('people', 0):.1f} s)")
        if plan.checkins:
            write(f"Check-ins: {result.checkins_created:,} new from "
                  f"{local(result.since):%Y-%m-%d %H:%M} to {local(result.until):%Y-%m-%d %H:%M}"
                  f" in {timedelta(seconds=round(result.load_seconds))} "
                  f"({result.rows_per_second:,.0f} rows/s)")
            write(f"Before the load: visitors and venues drawn up in "
                  f"{result.timings.get('prepare', 0):.1f} s, empty partitions cleared in "
                  f"{result.timings.get('partitions', 0):.1f} s")
            write(f"Venues scanning in this run: {result.active_venues:,} in the last 7 days, "
                  f"{result.lapsed_venues:,} only before them")
            if result.hook_called:
                write("Derived data rebuilt by checkins_after_bulk_load (day by day during the "
                      "load on PostgreSQL; "
                      f"{result.timings.get('rebuild_wait', 0):.1f} s after it).")
            elif checkins_after_load_hook() is None:
                write("No checkins_after_bulk_load hook yet: nothing derived to rebuild.")
        for extra in SYNTH_EXTRAS:
            for line in extra.run(options, result.area, cast(TextIO, self.stderr._out)):
                write(line)
