"""``truyvet vaccination``: vaccination work from the console.

    truyvet vaccination import FILE --site VENUE_CODE [--errors OUT.xlsx]

Imports a site's list (.xlsx or .csv) exactly as the import page does, all
or nothing, with a progress bar on stderr. Exit status:

- 0: imported (rows already present are skipped);
- 1: some rows are bad: nothing was imported, and the report of the bad
  rows was written to --errors (default: FILE's name with "-loi.xlsx");
- 2: a usage error: a missing or refused file, an unknown site.

The last line on stdout says how many rows were imported, skipped as
already present, and rejected.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError

from truyvet.checkins.synth.bulk import ProgressBar
from truyvet.core.errors import ServiceError
from truyvet.vaccination.importing import error_file_path, import_run, import_start
from truyvet.vaccination.models import ImportPhase, ImportStatus
from truyvet.venues.models import Venue

USAGE_ERROR = 2
BAD_ROWS = 1
LABELS: dict[str, str] = {ImportPhase.READING: "reading ", ImportPhase.MATCHING: "matching",
          ImportPhase.CHECKING: "checking", ImportPhase.SAVING: "saving  ",
          ImportPhase.REPORTING: "report  "}


class Command(BaseCommand):
    help = "Vaccination records from the console: `vaccination import FILE --site CODE`."

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        load = actions.add_parser("import", help="import a site's list (.xlsx or .csv)")
        load.add_argument("file", help="the site's list")
        load.add_argument("--site", required=True, help="the vaccination site's venue code")
        load.add_argument("--errors", help="where to write the report of bad rows (.xlsx)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import":
            self._import(Path(options["file"]), options["site"], options.get("errors"),
                         progress=options["verbosity"] > 0)

    def _import(self, path: Path, code: str, errors: str | None, *, progress: bool) -> None:
        if not path.is_file():
            raise CommandError(f"no such file: {path}", returncode=USAGE_ERROR)
        site = Venue.objects.filter(code=code.strip().upper()).first()
        if site is None:
            raise CommandError(f"no venue has the code {code!r}", returncode=USAGE_ERROR)
        stream = cast(TextIO, self.stderr._out)
        try:
            with path.open("rb") as upload:
                batch = import_start(actor=None, site=site, upload=upload, filename=path.name)
        except ServiceError as error:
            raise CommandError(str(error.message), returncode=USAGE_ERROR) from error
        bars: dict[str, ProgressBar] = {}

        def show(phase: str, done: int, total: int) -> None:
            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.finish()
                bar = bars[phase] = ProgressBar(label=LABELS.get(phase, phase), total=total,
                                                stream=stream, enabled=progress)
            bar.total = max(bar.total, total)
            bar.enabled = progress and bar.total > 0
            bar.advance(done - bar.done)

        batch = import_run(batch_id=batch.pk, progress=show)
        for bar in bars.values():
            bar.finish()
        if batch.status == ImportStatus.FAILED:
            raise CommandError(batch.error_message, returncode=USAGE_ERROR)
        if batch.status == ImportStatus.REJECTED:
            report = error_file_path(batch)
            target = Path(errors) if errors else path.with_name(f"{path.stem}-loi.xlsx")
            if report is not None:
                shutil.copyfile(report, target)
                self.stderr.write(f"{batch.rejected:,} bad rows: see {target}")
        self.stdout.write(f"Imported {batch.imported} rows, skipped {batch.skipped} already "
                          f"present, rejected {batch.rejected}.")
        if batch.status == ImportStatus.REJECTED:
            sys.exit(BAD_ROWS)
