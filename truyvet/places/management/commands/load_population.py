"""``truyvet load-population FILE``: the communes' populations (total and
aged 18 and over) from an .xlsx or .csv file with the columns Mã xã, Dân
số, Dân số từ 18 tuổi; all or nothing, kept in the import history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from truyvet.core.errors import ServiceError
from truyvet.places.population import population_import


class Command(BaseCommand):
    help = "Load the communes' populations from a spreadsheet (Mã xã, Dân số, Dân số từ 18 tuổi)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}", returncode=2)
        try:
            with path.open("rb") as handle:
                report = population_import(actor=None, file=handle, filename=path.name)
        except ServiceError as error:
            raise CommandError(str(error.message), returncode=2) from error
        if report.errors:
            for issue in report.errors[:100]:
                self.stderr.write(f"row {issue.row}, {issue.column}: {issue.message}")
            raise CommandError(f"{len(report.errors)} problems: nothing was loaded", returncode=1)
        assert report.batch is not None
        self.stdout.write(f"Loaded {report.batch.communes} communes: population "
                          f"{report.batch.total:,}, aged 18 and over {report.batch.adults:,}.")
