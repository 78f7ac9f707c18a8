"""``truyvet load-divisions``: load Vietnam's administrative units. Safe to
run again; it only creates what is missing and updates what changed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from truyvet.core.errors import ServiceError
from truyvet.places.models import Scheme
from truyvet.places.services import divisions_load


class ProgressBar:
    """A one-line text bar, redrawn only when the percentage moves."""

    def __init__(self, stream: OutputWrapper, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.percent = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent == self.percent:
            return
        self.percent = percent
        filled = self.width * percent // 100
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {percent:3d}% {done}/{total}", ending="")
        self.stream.flush()

    def close(self) -> None:
        if self.percent >= 0:
            self.stream.write("")


class Command(BaseCommand):
    help = "Load Vietnam's provinces, districts and communes (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--province",
            action="append",
            dest="provinces",
            metavar="CODE",
            help="Load only this province (GSO code, e.g. 04 for Cao Bằng). Repeatable.",
        )
        parser.add_argument(
            "--scheme",
            default=Scheme.Y2021.value,
            choices=[Scheme.Y2021.value],
            help="Which administrative map to load (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bar = ProgressBar(self.stderr) if options["verbosity"] > 0 else None
        try:
            result = divisions_load(
                scheme=options["scheme"], province_codes=options["provinces"], progress=bar
            )
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from exc
        finally:
            if bar is not None:
                bar.close()
        counts = ", ".join(
            _plural(count, noun)
            for count, noun in (
                (result.provinces, "province"),
                (result.districts, "district"),
                (result.communes, "commune"),
            )
        )
        self.stdout.write(f"{counts} ({result.created} created, {result.updated} updated)")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
