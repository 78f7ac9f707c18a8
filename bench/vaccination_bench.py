"""Vaccination import benchmark: a site's list of 100,000 rows imported on
SQLite and PostgreSQL (the bar: ≤ 60 s, with memory that stays flat as
files grow), and the coverage page at scale beside computing it directly.

    python -m bench vaccination                          # defaults, writes docs/performance.md
    python -m bench vaccination --rows 10000,100000 --postgres-url postgres://postgres@127.0.0.1:5432
    python -m bench vaccination --coverage-doses 10000000   # the coverage part (long to load)

Import, for each row count and database (a fresh database each time, so
every run starts from the same state):

1. **bad**: the list with 3 bad cells planted (a vaccination date in the
   future, an unknown vaccine, a CCCD whose digits do not fit the birth
   year): it must import nothing, and its error file must name exactly
   those three rows and cells;
2. **fixed**: the same list without them: every row imported;
3. **again**: the fixed list a second time: 0 imported, every row skipped.

Each step runs ``importing.import_start`` and ``import_run`` (what the
worker and ``truyvet vaccination import`` run) in its own child process, so
its peak memory (``ru_maxrss``) is its own; "flat" means the peak for
100,000 rows is about the peak for 10,000.

Coverage (``--coverage-doses N``, off by default): residents and N dose
records loaded with ``truyvet synth`` (``doses_synth``), then a province's
coverage page (``GET /vaccination/coverage/<province>/``) timed beside the
same figures computed straight from the dose table (``selectors.coverage_direct``).

Lists are generated once under var/bench/ (``synth.list_xlsx``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.serving import (
    DOC,
    RESULTS,
    ROOT,
    analyze,
    django_setup,
    machine,
    percentile,
    performance_section_write,
    postgres_database,
    postgres_drop,
)

DEFAULT_ROWS = "10000,100000"
BAR_SECONDS = 60
# Data rows (1-based) and the cells planted in them: (column index, value).
SPOIL = {
    1_234: (12, "25/12/2031"),  # Ngày tiêm: in the future
    5_678: (10, "Vắc xin XYZ"),  # Tên vắc xin: unknown
    9_012: (5, "004099000000"),  # Số CMND/CCCD: century and year digits wrong
}
FIRST_DATA_ROW = 4  # a title, a blank row, the header, then the data
COLUMNS = {12: "Ngày tiêm", 10: "Tên vắc xin", 5: "Số CMND/CCCD"}


def _spoil(rows: int) -> dict[int, tuple[int, Any]]:
    """The three bad cells, at the same places in a list of any length."""
    return {max(1, rows * at // 10_000): cell for at, cell in SPOIL.items()}


def _list(rows: int, bad: bool) -> Path:
    from truyvet.vaccination.synth import list_xlsx

    path = RESULTS / f"vaccination-list-{rows}{'-bad' if bad else ''}.xlsx"
    if not path.exists():
        print(f"writing {path.name} ...", file=sys.stderr, flush=True)
        list_xlsx(path, rows, seed=2021, spoil=_spoil(rows) if bad else None,
                  communes=("Thanh Nhật", "An Lạc", "Thắng Lợi", "Đức Quang"))
    return path


# --- Child process: one step on one database ---------------------------------------------------


def _site() -> Any:
    from truyvet.places.models import AdministrativeUnit
    from truyvet.places.services import divisions_load
    from truyvet.venues.models import Venue, VenueStatus, VenueType

    if not AdministrativeUnit.objects.filter(scheme="2021", code="048").exists():
        divisions_load(province_codes=["04"])
    site = Venue.objects.filter(code="BENCHVX1").first()
    if site is None:
        commune = AdministrativeUnit.objects.get(scheme="2021", name="Thị trấn Thanh Nhật")
        site = Venue.objects.create(
            code="BENCHVX1", name="Trung tâm Y tế huyện Hạ Lang",
            venue_type=VenueType.VACCINATION, commune=commune, street="Phố Thanh Nhật",
            contact_phone="0912000999", status=VenueStatus.ACTIVE)
    return site


def _rss_mib() -> float:
    """This process's resident memory now, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_step(database_url: str, rows: int, step: str) -> dict[str, Any]:
    django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection
    from openpyxl import load_workbook

    from truyvet.vaccination.importing import error_file_path, import_run, import_start
    from truyvet.vaccination.models import Dose

    call_command("migrate", interactive=False, verbosity=0)
    site = _site()
    path = _list(rows, bad=step == "bad")
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    phases: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def progress(phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if last[1]:
            phases[str(last[1])] = phases.get(str(last[1]), 0.0) + now - float(last[0])
        last[0], last[1] = now, phase

    baseline = _rss_mib()
    peak = [baseline]
    running = threading.Event()
    running.set()

    def sample() -> None:
        # ru_maxrss covers the process's whole life (migrations, the map
        # loaded for the site); the import's own peak is sampled here.
        while running.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with path.open("rb") as upload:
        batch = import_start(actor=None, site=site, upload=upload, filename=path.name)
    batch = import_run(batch_id=batch.pk, progress=progress)
    seconds = time.perf_counter() - started
    running.clear()
    sampler.join()
    if last[1]:
        phases[str(last[1])] = phases.get(str(last[1]), 0.0) + time.perf_counter() - float(
            last[0])
    named: list[tuple[int, str]] = []
    report = error_file_path(batch)
    if report is not None:
        sheet = load_workbook(report, read_only=True).worksheets[0]
        width = 0
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number == FIRST_DATA_ROW - 1:
                width = len(values)
            elif number >= FIRST_DATA_ROW and len(values) >= width and values[width - 1]:
                named.append((number, str(values[width - 1])))
    # The sheet row of each planted cell, and the column its message must name.
    planted = {FIRST_DATA_ROW - 1 + row: COLUMNS[column]
               for row, (column, _value) in _spoil(rows).items()}
    as_planted = [number for number, _text in named] == sorted(planted) and all(
        text.startswith(planted[number]) for number, text in named)
    return {
        "database": connection.vendor, "rows": rows, "step": step,
        "status": batch.status, "imported": batch.imported, "skipped": batch.skipped,
        "rejected": batch.rejected, "seconds": round(seconds, 1),
        "phases": {name: round(value, 1) for name, value in phases.items()},
        "peak_rss_mib": round(peak[0], 1), "rss_before_mib": round(baseline, 1),
        "process_max_rss_mib": round(memory_before / 1024, 1),
        "doses": Dose.objects.count(), "named_rows": [number for number, _text in named],
        "named_as_planted": step != "bad" or as_planted,
        "errors": [text[:160] for _number, text in named][:3],
        "measured_at": datetime.now().astimezone().isoformat(),
    }


def run_coverage(database_url: str, doses: int) -> dict[str, Any]:
    """Residents and ``doses`` dose records for Hà Nội, then the province's
    coverage page beside the direct count."""
    django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from truyvet.accounts.models import Person, Role, RoleAssignment, User
    from truyvet.checkins.synth import SynthPlan, synth_generate
    from truyvet.places.models import AdministrativeUnit
    from truyvet.vaccination.models import Dose
    from truyvet.vaccination.selectors import coverage_direct, coverage_for_unit
    from truyvet.vaccination.synth import doses_synth

    call_command("migrate", interactive=False, verbosity=0)
    have = Dose.objects.count()
    seed: dict[str, Any] = {}
    if have < doses:
        people = int(doses / 1.6) + 1
        started = time.perf_counter()
        synth_generate(plan=SynthPlan(province="01", venues=2_000, people=people, checkins=0),
                       progress=True, stream=sys.stderr)
        seed["people_seconds"] = round(time.perf_counter() - started, 1)
        area = AdministrativeUnit.objects.get(scheme="2021", level=1, code="01")
        result = doses_synth(area=area, doses=doses - have, stream=sys.stderr)
        seed["doses_seconds"] = round(result.seconds, 1)
    analyze()
    admin = User.objects.filter(phone="+84900999999").first()
    if admin is None:
        admin = User.objects.create_user(
            phone="+84900999999", password=None,
            person=Person.objects.create(full_name="Quản Trị Đo Hiệu Năng"))
        RoleAssignment.objects.create(user=admin, role=Role.SYSTEM_ADMIN, unit=None)
    client = Client()
    client.force_login(admin)
    province = AdministrativeUnit.objects.get(scheme="2021", level=1, code="01")
    page_ms, selector_ms = [], []
    load_before = round(os.getloadavg()[0], 2)
    for run in range(12):
        started = time.perf_counter()
        response = client.get(f"/vaccination/coverage/{province.pk}/")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        if run >= 2:
            page_ms.append(elapsed)
        started = time.perf_counter()
        figures = coverage_for_unit(unit=province)
        if run >= 2:
            selector_ms.append((time.perf_counter() - started) * 1000)
    load_after = round(os.getloadavg()[0], 2)
    # The page's figures before the long direct count, so a run cut short keeps them.
    print(json.dumps({"page_p50_ms": round(percentile(page_ms, 0.5), 1),
                      "page_p95_ms": round(percentile(page_ms, 0.95), 1),
                      "selector_p50_ms": round(statistics.median(selector_ms), 1),
                      "doses": Dose.objects.count(), "load_before": load_before,
                      "load_after": load_after}), file=sys.stderr, flush=True)
    direct_ms = []
    # The direct count reads every dose in Python: minutes at 10 M, so once there.
    for _run in range(2 if doses < 1_000_000 else 1):
        started = time.perf_counter()
        direct = coverage_direct(unit=province)
        direct_ms.append((time.perf_counter() - started) * 1000)
    return {
        "database": connection.vendor, "doses": Dose.objects.count(),
        "people": Person.objects.count(), "seed": seed,
        "page_p50_ms": round(percentile(page_ms, 0.5), 1),
        "page_p95_ms": round(percentile(page_ms, 0.95), 1),
        "selector_p50_ms": round(statistics.median(selector_ms), 1),
        "direct_ms": round(min(direct_ms), 1),
        "same_figures": figures.totals_by_measure() == direct,
        "load_before": load_before, "load_after": load_after,
        "measured_at": datetime.now().astimezone().isoformat(),
    }


# --- Driver ---------------------------------------------------------------------------------------


def _child(*arguments: str) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-m", "bench.vaccination_bench", *arguments], check=True, cwd=ROOT,
        capture_output=True, text=True)
    sys.stderr.write(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _databases(postgres_url: str, rows: int) -> list[tuple[str, str, str]]:
    """(vendor, URL, PostgreSQL name to drop afterwards) for a fresh database."""
    found = []
    sqlite = RESULTS / f"vaccination-import-{rows}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
    found.append(("sqlite", f"sqlite:///{sqlite}", ""))
    if postgres_url:
        name = f"truyvet_bench_vaccination_{rows}"
        postgres_drop(postgres_url, name)
        found.append(("postgresql", postgres_database(postgres_url, name), name))
    return found


def _table(results: list[dict[str, Any]]) -> str:
    lines = ["| Database | Rows | Step | Result | Time | Read / match / check / save or report "
             "| Memory before → peak during the import | Error file names the 3 planted cells |",
             "|---|---:|---|---|---:|---|---:|:-:|"]
    for r in results:
        phases = r["phases"]
        split = " / ".join(f"{phases.get(name, 0):.1f}" for name in
                           ("reading", "matching", "checking",
                            "reporting" if r["step"] == "bad" else "saving"))
        outcome = (f"{r['status']}: {r['imported']:,} imported, {r['skipped']:,} skipped, "
                   f"{r['rejected']:,} rejected")
        lines.append(
            f"| {r['database']} | {r['rows']:,} | {r['step']} | {outcome} | "
            f"**{r['seconds']} s**{' ✓' if r['seconds'] <= BAR_SECONDS else ' ✗'} | "
            f"{split} s | {r['rss_before_mib']:,.0f} → {r['peak_rss_mib']:,.0f} MiB | "
            f"{('yes' if r['named_as_planted'] else '**no**') if r['step'] == 'bad' else ''} |")
    return "\n".join(lines)


def write_doc(results: list[dict[str, Any]], coverage: list[dict[str, Any]]) -> None:
    info = machine()
    parts = [
        "## Vaccination import",
        "",
        "A site's list (`bench/vaccination_bench.py`, generated by "
        "`truyvet.vaccination.synth.list_xlsx`: adults with CCCD and phone, their late-2021 "
        "doses one a row, under a title row as sites print them) imported with "
        "`importing.import_start` + `import_run`, what the worker and "
        "`truyvet vaccination import` run, each step in its own process on a fresh database. "
        "*bad* has 3 planted bad cells (must import nothing and name exactly those rows and "
        "cells); *fixed* is the same list without them; *again* imports it a second time "
        "(must add nothing). The bar (issue 15): 100,000 rows in ≤ 60 s on each database, "
        "memory flat as files grow (compare the peaks for 10,000 and 100,000 rows).",
        "",
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['ram']} RAM, Python "
        f"{info['python']}, {info['os']}. Measured "
        f"{max(r['measured_at'] for r in results)[:10]}.",
        "",
        _table(results),
        "",
    ]
    if coverage:
        parts += [
            "Coverage page at scale: Hà Nội's residents from `truyvet synth` and dose records "
            "from `doses_synth`; *page* is `GET /vaccination/coverage/<province>/` (rollups), "
            "*direct* the same figures counted from the dose table.",
            "",
            "| Database | Doses | People | Load before → after | Page p50 / p95 | Selector p50 "
            "| Direct | Same |",
            "|---|---:|---:|---|---:|---:|---:|:-:|",
            *[f"| {c['database']} | {c['doses']:,} | {c['people']:,} | "
              f"{c.get('load_before', '–')} → {c.get('load_after', '–')} | {c['page_p50_ms']} / "
              f"{c['page_p95_ms']} ms | {c['selector_p50_ms']} ms | {c['direct_ms']:,.0f} ms | "
              f"{'yes' if c['same_figures'] else '**no**'} |" for c in coverage],
            "",
        ]
    parts += ["Reproduce: `make bench` (or `python -m bench vaccination --help`; set "
              "`BENCH_POSTGRES_URL` to measure PostgreSQL).", ""]
    performance_section_write("## Vaccination import", "\n".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench vaccination", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all",
                        choices=["all", "step", "coverage", "report"])
    parser.add_argument("--rows", default=os.environ.get("BENCH_VACCINATION_ROWS",
                                                         DEFAULT_ROWS))
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", ""),
                        help="server URL without a database name; empty skips PostgreSQL")
    parser.add_argument("--coverage-doses", type=int, default=int(os.environ.get(
        "BENCH_VACCINATION_COVERAGE_DOSES", "0")), help="also time coverage at this many doses")
    parser.add_argument("--database-url", help="step/coverage: the database")
    parser.add_argument("--step", choices=["bad", "fixed", "again"])
    parser.add_argument("--no-doc", action="store_true")
    options = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if options.command == "step":
        print(json.dumps(run_step(options.database_url, int(options.rows), options.step)))
        return 0
    if options.command == "coverage":
        print(json.dumps(run_coverage(options.database_url, options.coverage_doses)))
        return 0
    results_file = RESULTS / "vaccination-import.json"
    results: list[dict[str, Any]] = []
    coverage: list[dict[str, Any]] = []
    if options.command == "report" and results_file.exists():
        saved = json.loads(results_file.read_text())
        results, coverage = saved["import"], saved.get("coverage", [])
    else:
        django_setup("sqlite:///" + str(RESULTS / "vaccination-lists.sqlite3"))
        for rows in (int(value) for value in options.rows.split(",") if value.strip()):
            _list(rows, bad=True)
            _list(rows, bad=False)
            for vendor, url, name in _databases(options.postgres_url, rows):
                for step in ("bad", "fixed", "again"):
                    print(f"vaccination: {vendor} {rows:,} rows, {step}", flush=True)
                    result = _child("step", "--database-url", url, "--rows", str(rows),
                                    "--step", step)
                    print(json.dumps(result, ensure_ascii=False), flush=True)
                    results.append(result)
                if name:
                    postgres_drop(options.postgres_url, name)
        if options.coverage_doses:
            urls = [("sqlite", f"sqlite:///{RESULTS / 'vaccination-coverage.sqlite3'}")]
            if options.postgres_url:
                urls.append(("postgresql", postgres_database(
                    options.postgres_url, "truyvet_bench_vaccination_coverage")))
            for vendor, url in urls:
                print(f"vaccination: coverage on {vendor}", flush=True)
                coverage.append(_child("coverage", "--database-url", url,
                                       "--coverage-doses", str(options.coverage_doses)))
        results_file.write_text(json.dumps({"import": results, "coverage": coverage},
                                           indent=2, ensure_ascii=False))
    if results:
        print(_table(results))
        if not options.no_doc:
            write_doc(results, coverage)
            print(f"written to {DOC.relative_to(ROOT)}")
    failed = [r for r in results if r["rows"] >= 100_000 and (
        r["seconds"] > BAR_SECONDS or (r["step"] == "bad" and not r["named_as_planted"]))]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
