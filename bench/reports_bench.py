"""Dashboards benchmark: the reports dashboard served from the daily rollups,
beside the same figures computed straight from the check-in table, at a few
sizes, on SQLite and PostgreSQL.

    python -m bench reports                          # defaults below, writes docs/performance.md
    python -m bench reports --sets cao-bang-1m,hanoi-1m --postgres-url postgres://postgres@127.0.0.1:5432
    python bench/reports_bench.py run --database-url sqlite:///var/bench/x.sqlite3 --set hanoi-1m

Data sets (each in its own database: ``var/bench/reports-<set>.sqlite3`` and
``truyvet_bench_reports_<set>`` on the PostgreSQL server; a database that
already holds the check-ins is reused, ``--fresh`` rebuilds it):

- ``cao-bang-1m``: Cao Bằng's 5,677 venues, 1 M check-ins over 21 days (the
  retention period): the brief's province, and the acceptance check that the
  dashboard's 7-day active count equals a direct SQL recount;
- ``hanoi-1m`` and ``hanoi-10m``: 100,000 venues in Hà Nội with 1 M and 10 M
  check-ins over 21 days (Hanoi had 605,000–750,000 venues and about 305,000
  scans a day in 2021), so the two differ in check-ins only.

All are made with ``truyvet synth`` (COPY on PostgreSQL), then the rollups
are rebuilt from the check-in table with ``rollups_rebuild`` (what the
post-load hook runs), and both steps are timed.

What is timed, for the area (province), its busiest district, that
district's busiest commune and the whole country, over the default period
(the last 14 days):

- **rollups**: ``selectors.dashboard_build`` (five queries and the Python
  that shapes them), warm, 20 runs;
- **page**: ``GET /reports/<scope>/`` through Django's test client, logged
  in as the system admin (the full server time of the HTML page, template
  and its in-page charts included), the figures built on every request
  (``REPORTS_DASHBOARD_CACHE_SECONDS=0``), 10 runs;
- **page with charts, cached**: the same page as officers get it, the
  figures reused for a minute: 40 requests, the cache emptied before the
  1st and the 21st (one cold build in 20), p50 and p95;
- **chart**: the chart picture that remains for the PDF report
  (``chart/checkins.svg``), 5 runs;
- **direct**: the same figures from the check-in table in hand-written SQL
  (venues with an EXISTS per window; scans and COUNT(DISTINCT person) per
  local day, by child unit and by venue type), 3 runs; and whether the two
  give the same numbers;
- **write cost**: ``rollups_record`` for 1 and for 500 new rows (what the
  check-in services will add per transaction), rolled back.

The driver runs each pair in a child process (settings bind DATABASE_URL at
start-up) and writes the table under "## Dashboards" in docs/performance.md.
Benchmarks are not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
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
)

DAYS = 21
SETS: dict[str, dict[str, Any]] = {
    "cao-bang-1m": {"province": "04", "venues": 5_677, "checkins": 1_000_000},
    "hanoi-1m": {"province": "01", "venues": 100_000, "checkins": 1_000_000},
    "hanoi-10m": {"province": "01", "venues": 100_000, "checkins": 10_000_000},
    # A quick run of the whole pipeline (not in the defaults, not in the doc).
    "smoke": {"province": "04", "venues": 500, "checkins": 50_000},
}


def _timed(function: Any, runs: int, warm: int = 1) -> tuple[list[float], Any]:
    result = None
    for _ in range(warm):
        result = function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


# --- Child process: seed and measure one database -------------------------------------


def _count(model: Any) -> int:
    return int(model.objects.count())


def _seed(spec: dict[str, Any], fresh_marker: Path) -> dict[str, Any]:
    """Synth, then the rollups rebuilt; reuses a database already seeded."""
    from truyvet.checkins.models import CheckIn
    from truyvet.checkins.synth import SynthPlan, synth_generate
    from truyvet.reports.models import PersonDay, VenueDay
    from truyvet.reports.rollups import rollups_rebuild

    existing = _count(CheckIn)
    seed: dict[str, Any] = json.loads(fresh_marker.read_text()) if fresh_marker.exists() else {}
    if existing < spec["checkins"]:
        started = time.perf_counter()
        result = synth_generate(plan=SynthPlan(
            province=spec["province"], venues=spec["venues"],
            checkins=spec["checkins"] - existing, days=DAYS,
        ), progress=True, stream=sys.stderr)
        seed = {"synth_seconds": round(time.perf_counter() - started, 1),
                "synth_rows_per_second": round(result.rows_per_second),
                "hook_called": result.hook_called,
                "since": result.since.isoformat(), "until": result.until.isoformat()}
        print("rebuilding the rollups ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        rebuilt = rollups_rebuild(since=result.since, until=result.until + timedelta(seconds=1))
        seed["rebuild_seconds"] = round(time.perf_counter() - started, 1)
        seed["rebuild_days"] = len(rebuilt.days)
        fresh_marker.write_text(json.dumps(seed, indent=2))
    elif (not VenueDay.objects.exists() or not PersonDay.objects.exists()
          or "rebuild_seconds" not in seed):
        first = CheckIn.objects.order_by("arrived_at").values_list("arrived_at", flat=True)[0]
        started = time.perf_counter()
        rollups_rebuild(since=first, until=datetime.now().astimezone() + timedelta(minutes=1))
        seed["rebuild_seconds"] = round(time.perf_counter() - started, 1)
        fresh_marker.write_text(json.dumps(seed, indent=2))
    return seed


def _scopes(province_code: str) -> list[Any]:
    """The province, its district with most venues, that district's commune
    with most venues, and the country."""
    from django.db.models import Count

    from truyvet.places.models import AdministrativeUnit
    from truyvet.reports.selectors import Scope
    from truyvet.venues.models import Venue

    province = AdministrativeUnit.objects.get(scheme="2021", level=1, code=province_code)
    district_id = (Venue.objects.filter(commune__path__startswith=province.path)
                   .values("commune__parent_id").annotate(n=Count("pk")).order_by("-n")
                   .values_list("commune__parent_id", flat=True)[0])
    district = AdministrativeUnit.objects.get(pk=district_id)
    commune_id = (Venue.objects.filter(commune__parent=district).values("commune_id")
                  .annotate(n=Count("pk")).order_by("-n").values_list("commune_id", flat=True)[0])
    commune = AdministrativeUnit.objects.get(pk=commune_id)
    return [Scope(unit=province), Scope(unit=district), Scope(unit=commune), Scope(unit=None)]


def _direct(scope: Any, since: Any, until: Any, now: datetime) -> dict[str, Any]:
    """The dashboard's figures from the check-in table, by hand-written SQL."""
    from django.db import connection

    from truyvet.core.time import period_bounds

    adapt = connection.ops.adapt_datetimefield_value
    pg = connection.vendor == "postgresql"
    children_len = (len(scope.unit.path) + (6 if scope.unit.level == 2 else 4)
                    if scope.unit is not None and scope.unit.level < 3 else
                    (len(scope.unit.path) if scope.unit is not None else 8))
    where_unit = "u.path LIKE %s" if scope.unit is not None else "1 = 1"
    unit_params = [scope.unit.path + "%"] if scope.unit is not None else []
    local_day = ("(c.arrived_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date" if pg
                 else "date(c.arrived_at, '+7 hours')")
    venues_sql = (
        f"SELECT substr(u.path, 1, {children_len}), v.venue_type, COUNT(*),"  # noqa: S608
        " SUM(CASE WHEN EXISTS (SELECT 1 FROM checkins_checkin c WHERE c.venue_id = v.id"
        " AND c.arrived_at > %s) THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN EXISTS (SELECT 1 FROM checkins_checkin c WHERE c.venue_id = v.id"
        " AND c.arrived_at > %s) THEN 1 ELSE 0 END)"
        " FROM venues_venue v JOIN places_administrativeunit u ON u.id = v.commune_id"
        f" WHERE {where_unit} AND v.status <> 'closed' GROUP BY 1, 2"
    )
    start, end = period_bounds(since, until)
    visits = (
        " FROM checkins_checkin c JOIN venues_venue v ON v.id = c.venue_id"
        " JOIN places_administrativeunit u ON u.id = v.commune_id"
        f" WHERE c.arrived_at >= %s AND c.arrived_at < %s AND {where_unit}"
    )
    with connection.cursor() as cursor:
        cursor.execute(venues_sql, [adapt(now - timedelta(days=1)),
                                    adapt(now - timedelta(days=7)), *unit_params])
        venue_rows = cursor.fetchall()
        params = [adapt(start), adapt(end), *unit_params]
        cursor.execute(f"SELECT {local_day}, COUNT(*), COUNT(DISTINCT c.person_id) {visits}"
                       " GROUP BY 1", params)
        days = cursor.fetchall()
        cursor.execute(f"SELECT {local_day}, substr(u.path, 1, {children_len}), COUNT(*),"
                       f" COUNT(DISTINCT c.person_id) {visits} GROUP BY 1, 2", params)
        by_child = cursor.fetchall()
        cursor.execute(f"SELECT {local_day}, v.venue_type, COUNT(*),"
                       f" COUNT(DISTINCT c.person_id) {visits} GROUP BY 1, 2", params)
        by_type = cursor.fetchall()
    return {"venues": venue_rows, "days": days, "by_child": by_child, "by_type": by_type}


def _same(board: Any, direct: dict[str, Any]) -> bool:
    """Whether the rollups' dashboard and the direct SQL give the same numbers."""
    totals = Counter()
    for _child, _kind, registered, active_1d, active_7d in direct["venues"]:
        totals.update({"registered": registered, "active_1d": active_1d or 0,
                       "active_7d": active_7d or 0})
    t = board.totals
    if (t.registered, t.active_1d, t.active_7d) != (
            totals["registered"], totals["active_1d"], totals["active_7d"]):
        return False
    days = {str(day): (scans, people) for day, scans, people in direct["days"]}
    mine = {str(d.day): (d.scans, d.people) for d in board.days if d.scans}
    if days != mine:
        return False
    paths = {row.unit.path: row for row in board.units}
    child = {(str(day), prefix): (scans, people)
             for day, prefix, scans, people in direct["by_child"]}
    mine_child = {(str(d.day), path): (d.scans, d.people)
                  for path, row in paths.items() for d in row.days if d.scans}
    if board.scope.unit is None or board.scope.unit.level < 3:
        if child != mine_child:
            return False
    kinds = {(str(day), kind): (scans, people) for day, kind, scans, people in direct["by_type"]}
    mine_kinds = {(str(d.day), row.venue_type): (d.scans, d.people)
                  for row in board.types for d in row.days if d.scans}
    return kinds == mine_kinds


def _write_cost() -> dict[str, float]:
    """rollups_record for 1 and for 500 new rows, each in a rolled-back
    transaction (the check-in rows themselves are not inserted: only the
    bookkeeping the services will add is timed)."""
    import random

    from django.db import transaction

    from truyvet.accounts.models import Person
    from truyvet.reports.rollups import rollups_record
    from truyvet.venues.models import Venue

    rng = random.Random(6)  # noqa: S311 - benchmark sampling
    venues = list(Venue.objects.values_list("pk", flat=True)[:5000])
    people = list(Person.objects.values_list("pk", flat=True)[:50_000])
    now = datetime.now().astimezone()
    result = {}
    for size in (1, 500):
        samples = []
        for _ in range(20 if size == 1 else 5):
            rows = [(rng.choice(venues), rng.choice(people), now - timedelta(minutes=rng.randint(
                0, 600))) for _ in range(size)]
            with transaction.atomic():
                started = time.perf_counter()
                rollups_record(rows=rows)
                samples.append((time.perf_counter() - started) * 1000)
                transaction.set_rollback(True)
        result[f"record_{size}_ms"] = round(statistics.median(samples), 2)
    return result


def _version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version" if connection.vendor == "postgresql"
                       else "SELECT sqlite_version()")
        return str(cursor.fetchone()[0]).split(" ")[0]


def run_one(database_url: str, name: str) -> dict[str, Any]:
    django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings
    from django.utils import timezone

    from truyvet.accounts.models import Person, Role, RoleAssignment, User
    from truyvet.checkins.models import CheckIn
    from truyvet.reports.models import AreaDay, PersonDay, VenueDay
    from truyvet.reports.selectors import dashboard_build, default_period
    from truyvet.venues.models import Venue

    spec = SETS[name]
    call_command("migrate", interactive=False, verbosity=0)
    marker = RESULTS / f"reports-seed-{connection.vendor}-{name}.json"
    seed = _seed(spec, marker)
    analyze()

    admin = User.objects.filter(phone="+84900999999").first()
    if admin is None:
        admin = User.objects.create_user(
            phone="+84900999999", password=None,
            person=Person.objects.create(full_name="Quản Trị Đo Hiệu Năng"))
        RoleAssignment.objects.create(user=admin, role=Role.SYSTEM_ADMIN, unit=None)
    client = Client()
    client.force_login(admin)

    layout = "plain"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_inherits JOIN pg_class parent "
                           "ON parent.oid = inhparent WHERE parent.relname = %s",
                           [CheckIn._meta.db_table])
            partitions = cursor.fetchone()[0]
        if partitions:
            layout = f"{partitions} daily partitions"

    since, until = default_period()
    load_before = round(os.getloadavg()[0], 2)
    scopes = []
    for scope in _scopes(spec["province"]):
        now = timezone.now()
        rollup_ms, board = _timed(
            lambda scope=scope: dashboard_build(scope=scope, since=since, until=until), 20, 2)
        with override_settings(REPORTS_DASHBOARD_CACHE_SECONDS=0):
            page_ms, response = _timed(
                lambda scope=scope: client.get(f"/reports/{scope.slug}/"), 10, 1)
        assert response.status_code == 200, response.status_code
        # As officers get it: the charts drawn in the page, the figures
        # reused for REPORTS_DASHBOARD_CACHE_SECONDS (one build in 20 here:
        # the cache is emptied before every 20th request).
        cached_ms = _cached_page(client, f"/reports/{scope.slug}/", runs=40)
        chart_ms, _chart = _timed(
            lambda scope=scope: client.get(f"/reports/{scope.slug}/chart/checkins.svg"), 5, 1)
        now = timezone.now()
        board = dashboard_build(scope=scope, since=since, until=until, now=now)
        direct_ms, direct = _timed(lambda scope=scope, now=now: _direct(scope, since, until, now),
                                   3 if name != "hanoi-10m" else 2, 0)
        scopes.append({
            "scope": scope.full_name, "level": scope.level,
            "venues": board.totals.registered, "active_7d": board.totals.active_7d,
            "scans": board.totals.scans,
            "rollups_p50_ms": round(percentile(rollup_ms, 0.5), 1),
            "rollups_p95_ms": round(percentile(rollup_ms, 0.95), 1),
            "page_p50_ms": round(percentile(page_ms, 0.5), 1),
            "page_p95_ms": round(percentile(page_ms, 0.95), 1),
            "chart_p50_ms": round(percentile(chart_ms, 0.5), 1),
            "cached_p50_ms": round(percentile(cached_ms, 0.5), 1),
            "cached_p95_ms": round(percentile(cached_ms, 0.95), 1),
            "direct_p50_ms": round(percentile(direct_ms, 0.5), 1),
            "same_figures": _same(board, direct),
        })
        print(json.dumps(scopes[-1], ensure_ascii=False), file=sys.stderr, flush=True)

    acceptance = {}
    if spec["province"] == "04":
        province = scopes[0]
        acceptance = {"dashboard_active_7d": province["active_7d"],
                      "sql_active_7d": _sql_active_7d(spec["province"])}
    return {
        "set": name, "database": connection.vendor, "database_version": _version(),
        "checkins": _count(CheckIn), "venues": _count(Venue),
        "venue_days": _count(VenueDay), "person_days": _count(PersonDay),
        "area_days": _count(AreaDay), "seed": seed, "scopes": scopes,
        "write": _write_cost(), "acceptance": acceptance,
        "load_before": load_before, "load_after": round(os.getloadavg()[0], 2),
        "checkin_table": layout,
        "measured_at": datetime.now().astimezone().isoformat(),
    }


def _cached_page(client: Any, url: str, runs: int) -> list[float]:
    """Server time of the dashboard page as served with the cache on: one
    cold build (cache emptied) every 20 requests, the rest reuse it."""
    from django.core.cache import cache

    times = []
    for run in range(runs):
        if run % 20 == 0:
            cache.clear()
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return times


def _sql_active_7d(province_code: str) -> int:
    from django.db import connection

    from truyvet.places.models import AdministrativeUnit

    province = AdministrativeUnit.objects.get(scheme="2021", level=1, code=province_code)
    since = connection.ops.adapt_datetimefield_value(
        datetime.now().astimezone() - timedelta(days=7))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM venues_venue v JOIN places_administrativeunit u"
            " ON u.id = v.commune_id WHERE u.path LIKE %s AND v.status <> 'closed' AND EXISTS"
            " (SELECT 1 FROM checkins_checkin c WHERE c.venue_id = v.id AND c.arrived_at > %s)",
            [province.path + "%", since],
        )
        return int(cursor.fetchone()[0])


# --- Driver ----------------------------------------------------------------------------------


def _result_path(database: str, name: str) -> Path:
    return RESULTS / f"reports-{database}-{name}.json"


_LEVEL = {0: "country", 1: "province", 2: "district", 3: "commune"}


def _table(results: list[dict[str, Any]]) -> str:
    head = [
        "| Database | Data set | Check-ins | Venues | Scope | Venues in scope | Rollups p50 / p95 "
        "| Page p50 / p95 | Page with charts, cached p50 / p95 | Chart picture p50 "
        "| Direct from check-ins | Same figures |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    lines = []
    for r in results:
        name = ("PostgreSQL " if r["database"] == "postgresql" else "SQLite ") + r[
            "database_version"]
        if r["database"] == "postgresql":  # "?": measured before the layout was recorded
            name += f" ({r.get('checkin_table', '?')})"
        for s in r["scopes"]:
            lines.append(
                f"| {name} | {r['set']} | {r['checkins']:,} | {r['venues']:,} "
                f"| {_LEVEL[s['level']]} | {s['venues']:,} "
                f"| {s['rollups_p50_ms']} / {s['rollups_p95_ms']} ms "
                f"| {s['page_p50_ms']} / {s['page_p95_ms']} ms "
                f"| {s.get('cached_p50_ms', '–')} / {s.get('cached_p95_ms', '–')} ms "
                f"| {s['chart_p50_ms']} ms "
                f"| {s['direct_p50_ms']:,.0f} ms | {'yes' if s['same_figures'] else '**no**'} |"
            )
    return "\n".join(head + lines)


def _storage(results: list[dict[str, Any]]) -> str:
    head = ["| Database | Data set | Check-ins | Venue-days | Person-days | Area-day rows "
            "| Synth load | Rollups rebuild | `rollups_record` 1 row / 500 rows |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines = []
    for r in results:
        seed = r.get("seed", {})
        lines.append(
            f"| {r['database']} | {r['set']} | {r['checkins']:,} | {r['venue_days']:,} "
            f"| {r['person_days']:,} | {r['area_days']:,} "
            f"| {seed.get('synth_seconds', '–')} s{'¹' if seed.get('hook_called') else ''} "
            f"| {seed.get('rebuild_seconds', '–')} s "
            f"| {r['write']['record_1_ms']} / {r['write']['record_500_ms']} ms |"
        )
    return "\n".join(head + lines)


def _notes(results: list[dict[str, Any]]) -> list[str]:
    notes = []
    for vendor, label in (("postgresql", "PostgreSQL"), ("sqlite", "SQLite")):
        small = next((r for r in results if r["database"] == vendor and r["set"] == "hanoi-1m"),
                     None)
        big = next((r for r in results if r["database"] == vendor and r["set"] == "hanoi-10m"),
                   None)
        if small and big:
            for a, b in zip(small["scopes"], big["scopes"], strict=True):
                notes.append(
                    f"- {label}, {_LEVEL[a['level']]}: rollups p50 {a['rollups_p50_ms']} ms at "
                    f"1 M → {b['rollups_p50_ms']} ms at 10 M check-ins (same 100,000 venues); "
                    f"page p95 {b['page_p95_ms']} ms at 10 M "
                    f"({'meets' if b['page_p95_ms'] <= 200 else 'misses'} the 200 ms bar); "
                    f"with its charts, as served (cached), p95 {b.get('cached_p95_ms', '–')} ms "
                    f"({'meets' if b.get('cached_p95_ms', 1e9) <= 100 else 'misses'} the "
                    "100 ms target of issue 19).")
    for r in results:
        if r.get("acceptance"):
            a = r["acceptance"]
            notes.append(
                f"- Cao Bằng acceptance ({r['database']}): the province dashboard shows "
                f"{a['dashboard_active_7d']:,} venues with a scan in the last 7 days; a direct "
                f"SQL recount gives {a['sql_active_7d']:,} "
                f"({'equal' if a['dashboard_active_7d'] == a['sql_active_7d'] else 'DIFFERENT'}"
                f"; of {r['venues']:,} venues).")
    return notes


def write_doc(results: list[dict[str, Any]]) -> None:
    info = machine()
    section = "\n".join([
        "## Dashboards",
        "",
        "The reports dashboard (`truyvet.reports`) read from the daily rollups "
        "(docs/decisions/0004-report-rollups.md), beside the same figures computed from the "
        "check-in table. *Rollups* is `selectors.dashboard_build` (five queries and the "
        "Python that shapes them); *page* is the whole `GET /reports/<scope>/` through "
        "Django's test client (the server time of the HTML, template and in-page charts "
        "included, the figures built on every request); *page with charts, cached* is the "
        "same page as officers get it, the figures reused for "
        "`REPORTS_DASHBOARD_CACHE_SECONDS` (one cold build in 20 requests, issue 19's target: "
        "≤ 100 ms p95 for a province at 10 M check-ins); *chart picture* is the PNG/SVG "
        "chart that remains for the PDF report; *direct* is "
        "hand-written SQL over the check-in table for the same figures (an EXISTS per venue "
        "and window, scans and `COUNT(DISTINCT person)` per local day by child unit and by "
        "type); *same figures* checks that both give the same numbers. The period is the "
        "last 14 days; \"active\" windows end now.",
        "",
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['ram']} RAM, Python "
        f"{info['python']}, {info['os']}. Measured "
        f"{max(r['measured_at'] for r in results)[:10]}. 1-minute load average before and "
        "after each run: " + "; ".join(
            f"{r['database']} {r['set']} {r.get('load_before', '?')} → {r.get('load_after', '?')}"
            for r in results)
        + " (other work shared the two cores; anything well above 0 makes every time "
        "here longer).",
        "",
        _table(results),
        "",
        *_notes(results),
        "",
        "Storage and write cost: the rollups' rows beside the check-ins, the time to load "
        "the data with `truyvet synth` and to rebuild the rollups from it, and what "
        "`rollups_record` adds to a check-in transaction (median, rolled back).",
        "",
        _storage(results),
        "",
        "¹ Includes a first rebuild of the rollups by the post-load hook "
        "(`checkins_after_bulk_load`); the rebuild column times a second one on its own. "
        "Load and rebuild times come from each database's first load, which may have shared "
        "the machine with other work (the load averages above are for the query runs only).",
        "",
        "Data: `truyvet synth` over 21 days ending at the run (Cao Bằng: 5,677 venues; "
        "Hà Nội: 100,000 venues, 20 residents per venue), default shares of active venues. "
        "Reproduce: `make bench` (or `python -m bench reports --help`; set "
        "`BENCH_POSTGRES_URL` to measure PostgreSQL).",
        "",
    ])
    performance_section_write("## Dashboards", section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all", choices=["all", "run", "report"])
    # 10 M on SQLite takes long to load; ask for it with --sqlite-sets.
    parser.add_argument("--sqlite-sets", default=os.environ.get(
        "BENCH_REPORTS_SQLITE_SETS", "cao-bang-1m,hanoi-1m"))
    parser.add_argument("--postgres-sets", default=os.environ.get(
        "BENCH_REPORTS_POSTGRES_SETS", "cao-bang-1m,hanoi-1m,hanoi-10m"))
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", ""),
                        help="server URL without a database name; empty skips PostgreSQL")
    parser.add_argument("--database-url", help="run: the database to seed and measure")
    parser.add_argument("--set", choices=sorted(SETS), help="run: the data set")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    options = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)

    if options.command == "run":
        result = run_one(options.database_url, options.set)
        _result_path(result["database"], options.set).write_text(
            json.dumps(result, indent=2, ensure_ascii=False))
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0

    if options.command == "all":
        pairs: list[tuple[str, str, str]] = []
        for name in filter(None, options.sqlite_sets.split(",")):
            pairs.append(("sqlite", name, f"sqlite:///{RESULTS / f'reports-{name}.sqlite3'}"))
        if options.postgres_url:
            for name in filter(None, options.postgres_sets.split(",")):
                database = f"truyvet_bench_reports_{name.replace('-', '_')}"
                pairs.append(("postgresql", name,
                              postgres_database(options.postgres_url, database)))
        for vendor, name, url in pairs:
            print(f"reports: {vendor} {name}", flush=True)
            subprocess.run(  # noqa: S603 - our own script
                [sys.executable, "-m", "bench.reports_bench", "run", "--database-url", url,
                 "--set", name],
                check=True, cwd=ROOT,
            )
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("reports-*-*.json"))
               if not p.name.startswith("reports-seed-")]
    results = [r for r in results if r["set"] != "smoke"]
    order = list(SETS)
    results.sort(key=lambda r: (r["database"] != "sqlite", order.index(r["set"])))
    if results:
        print(_table(results))
        for note in _notes(results):
            print(note)
        if not options.no_doc:
            write_doc(results)
            print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
