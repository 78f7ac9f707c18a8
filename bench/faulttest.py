"""Fault suite (``make faulttest``, issue 7 item 6): faults during load, and
what clients see.

    python -m bench faulttest                 # all four, 50 clients
    python -m bench faulttest --skip-restart  # leave PostgreSQL alone (a shared machine)

On a fresh PostgreSQL database seeded as by ``bench/loadtest.py``, with two
gunicorn instances and retrying clients (the load generator of
``bench/loadtest.py``: on a timeout, a lost connection or a 5xx the same ids
go again to the next instance, after Retry-After):

(a) **kill -9 an instance**: mid-load, SIGKILL to one instance's master and
    workers at once, a new instance on the same port a few seconds later.
    Afterwards every acknowledged check-in is in the database, none twice.
(b) **restart PostgreSQL** (``pg_ctlcluster --skip-systemctl-redirect 15 main
    restart``) mid-load. Answers in between are counted by status: 503 with
    Retry-After is expected, any 500 (or other 5xx) fails; the instances are
    not restarted (same master pids) and serve again; client retries land
    exactly once (rows == acknowledged ids, no duplicates). A restart
    disrupts everyone else's PostgreSQL work on the machine, so this waits
    until no test or benchmark of anyone else runs (``pgrep -af "pytest|python
    -m bench|truyvet synth"``, every 20 s, up to ``--quiet-wait`` seconds)
    and is skipped (and says so) if the machine stays busy.
(c) **read-only database** (``ALTER DATABASE … SET
    default_transaction_read_only = on``; the app's sessions are ended so
    that new ones pick it up, as a failover would): a write gets 503 with the
    read-only message (read from the body, in Vietnamese and in English),
    a read still works, the refused scans are not stored; then reset, and
    writes work again.
(d) **full database** on an instance served over SQLite: its connections
    run ``PRAGMA max_page_count`` at the file's current size (a gunicorn
    hook in this module, ``-c python:bench.faulttest``), so the next write
    fails for real with SQLITE_FULL: 503 with the "full" message, nothing
    stored.

Prints a PASS/FAIL table; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.loadtest import (
    Load,
    describe_machine,
    postgres_version,
    report,
    seed_database,
    verify,
)
from bench.serving import (
    DEFAULT_POSTGRES_URL,
    HOST,
    RESULTS,
    Server,
    ServerConfig,
    postgres_create,
    postgres_drop,
    server_env,
)

BUSY_PATTERN = "pytest|python -m bench|truyvet synth"
# The batch endpoint's target (issue 18): the seed makes people for both load
# phases at this rate, so no client runs out of distinct scans.
TARGET_RATE = 50_000
PROBE_ITEMS = 20  # scans per probe batch of (c)


# --- gunicorn hook for (d) ------------------------------------------------------------------------


def post_worker_init(worker: Any) -> None:
    """gunicorn server hook, loaded with ``-c python:bench.faulttest``: every
    SQLite connection of the worker gets ``PRAGMA max_page_count`` from
    ``SQLITE_FAULT_MAX_PAGES``, so the database file cannot grow past it."""
    pages = os.environ.get("SQLITE_FAULT_MAX_PAGES")
    if not pages:
        return
    from django.db.backends.signals import connection_created

    def cap(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA max_page_count = {int(pages)}")

    connection_created.connect(cap, weak=False)


# --- Results --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    status: str = "FAIL"  # PASS, FAIL or SKIPPED
    details: list[str] = field(default_factory=list)

    def check(self, condition: bool, text: str) -> bool:
        self.details.append(("ok   " if condition else "FAIL ") + text)
        return condition


def _probe(port: int, method: str, path: str, body: Any = None, token: str = "",
           language: str = "vi") -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        headers = {"Accept-Language": language}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed
    finally:
        conn.close()


def _stored(database_url: str, table: str, ids: list[str]) -> int:
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE id = ANY(%s::uuid[])").format(
            sql.Identifier(table)), [ids]).fetchone()
    return int(row[0]) if row else 0


def _end_sessions(server_url: str, name: str) -> int:
    """Ends the app's sessions on database ``name`` (they reconnect on the
    next request, picking up the database's new settings)."""
    import psycopg

    with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", [name]).fetchall()
    return len(rows)


def _own_pids() -> set[int]:
    """This process, its ancestors and its descendants."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    mine = {os.getpid()}
    pid = os.getpid()
    while pid in parents and parents[pid] > 1:
        pid = parents[pid]
        mine.add(pid)
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in mine and child not in mine and parent != 1:
                mine.add(child)
                grew = True
    return mine


def foreign_busy() -> list[str]:
    found = subprocess.run(["pgrep", "-af", BUSY_PATTERN],  # noqa: S603,S607 - fixed words
                           capture_output=True, text=True, check=False).stdout.splitlines()
    mine = _own_pids()
    return [line for line in found if line.split()[0].isdigit()
            and int(line.split()[0]) not in mine]


def wait_until_quiet(limit: float) -> tuple[bool, list[str]]:
    deadline = time.monotonic() + limit
    while True:
        busy = foreign_busy()
        if not busy:
            return True, []
        if time.monotonic() >= deadline:
            return False, busy
        print(f"faulttest: waiting for other people's tests to finish before restarting "
              f"PostgreSQL ({len(busy)} running: {busy[0][:100]} ...)", flush=True)
        time.sleep(20)


# --- The faults -----------------------------------------------------------------------------------


def _five_xx(statuses: Counter[int]) -> dict[int, int]:
    return {s: n for s, n in statuses.items() if s >= 500}


async def fault_kill(load: Load, servers: list[Server], options: argparse.Namespace,
                     outcome: Outcome) -> None:
    load.total = load.stats.scheduled + 10**9
    load.stop_after = options.phase_seconds
    before = Counter(load.stats.statuses)

    async def fault() -> None:
        await asyncio.sleep(options.phase_seconds / 4)
        acked = len(load.stats.acked)
        pids = await asyncio.to_thread(servers[0].kill9)
        outcome.details.append(f"     kill -9 of instance 1 (pids {', '.join(map(str, pids))}) "
                               f"after {acked:,} acknowledged check-ins")
        await asyncio.sleep(5)
        started = time.monotonic()
        await asyncio.to_thread(servers[0].restart)
        outcome.details.append(f"     restarted on port {servers[0].port} in "
                               f"{time.monotonic() - started:.1f} s")

    await asyncio.gather(load.run(progress=not options.no_progress), fault())
    delta = load.stats.statuses - before
    five = _five_xx(delta)
    outcome.details.append(f"     statuses during the phase: {dict(sorted(delta.items()))}; "
                           f"transport errors so far: {dict(load.stats.transport_errors)}")
    outcome.check(not {s for s in five if s != 503}, f"no 5xx other than 503: {five or 'none'}")


async def fault_restart(load: Load, servers: list[Server], options: argparse.Namespace,
                        outcome: Outcome) -> bool:
    """Returns False when skipped."""
    quiet, busy = await asyncio.to_thread(wait_until_quiet, options.quiet_wait)
    if not quiet:
        outcome.status = "SKIPPED"
        outcome.details.append(f"     the machine stayed busy for {options.quiet_wait:.0f} s "
                               f"(e.g. {busy[0][:120]}); PostgreSQL was not restarted")
        return False
    masters = [s.process.pid for s in servers]
    load.total = load.stats.scheduled + 10**9
    load.stop_after = options.phase_seconds
    before = Counter(load.stats.statuses)
    marks: dict[str, Any] = {}

    async def fault() -> None:
        await asyncio.sleep(options.phase_seconds / 4)
        marks["acked_before"] = len(load.stats.acked)
        started = time.monotonic()
        done = await asyncio.to_thread(
            subprocess.run, ["pg_ctlcluster", "--skip-systemctl-redirect", options.pg_version,
                             "main", "restart"], capture_output=True, text=True, check=False)
        marks["seconds"] = time.monotonic() - started
        marks["rc"] = done.returncode
        marks["stderr"] = done.stderr.strip()[:200]
        marks["after_restart"] = Counter(load.stats.statuses)
        marks["acked_at_restart"] = len(load.stats.acked)

    await asyncio.gather(load.run(progress=not options.no_progress), fault())
    delta = load.stats.statuses - before
    five = _five_xx(delta)
    outcome.check(marks.get("rc") == 0, f"pg_ctlcluster restart exit code {marks.get('rc')} "
                  f"in {marks.get('seconds', 0):.1f} s {marks.get('stderr', '')}")
    outcome.details.append(f"     statuses during the phase: {dict(sorted(delta.items()))}")
    outcome.check(not {s for s in five if s != 503},
                  f"no 500 or other 5xx, only 503: {five or 'no 5xx at all'}")
    outcome.check(load.stats.retry_after_missing == 0,
                  f"every 503 carried Retry-After ({delta.get(503, 0)} answers were 503)")
    served_after = sum(n for s, n in (load.stats.statuses - marks.get(
        "after_restart", Counter())).items() if 200 <= s < 300)
    outcome.check(served_after > 0 and len(load.stats.acked) > marks.get("acked_at_restart", 0),
                  f"the app recovered by itself: {served_after:,} 2xx answers after the "
                  "restart")
    outcome.check([s.process.pid for s in servers] == masters
                  and all(s.process.poll() is None for s in servers),
                  "the app instances were not restarted (same master pids, still running)")
    return True


def fault_read_only(data: dict[str, Any], load: Load, servers: list[Server], name: str,
                    url: str, options: argparse.Namespace, outcome: Outcome) -> None:
    import psycopg

    port = servers[-1].port
    # Two refused batches (one per language) and one after the reset.
    client = load.spare_client(3 * PROBE_ITEMS)
    token = client.controller["token"]
    admin = options.postgres_url.rstrip("/") + "/postgres"
    refused: list[str] = []
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        outcome.details.append(f"     ALTER DATABASE … SET default_transaction_read_only = on; "
                               f"{_end_sessions(options.postgres_url, name)} app sessions ended")
        answers: dict[str, tuple[int, dict[str, str], Any]] = {}
        for language in ("vi", "en"):
            items = [{**client.staff_item(), "kind": "staff_scan"} for _item in range(PROBE_ITEMS)]
            refused += [i["id"] for i in items]
            for _attempt in range(10):
                answer = _probe(port, "POST", "/api/v1/checkins/batch", {"items": items},
                                token, language)
                if isinstance(answer[2], dict) and answer[2].get("code") != \
                        "database_unavailable":
                    break
                time.sleep(1)  # a session ended mid-request: that one is "unavailable"
            answers[language] = answer
        for language, (status, headers, body) in answers.items():
            message = body.get("error", "") if isinstance(body, dict) else str(body)
            code = body.get("code") if isinstance(body, dict) else None
            outcome.check(status == 503 and code == "database_read_only"
                          and "retry-after" in headers,
                          f"write ({language}): {status} {code}, Retry-After "
                          f"{headers.get('retry-after')}: “{message}”")
        vi, en = (answers[k][2] for k in ("vi", "en"))
        outcome.check(isinstance(vi, dict) and "chỉ đọc" in vi.get("error", "")
                      and isinstance(en, dict) and "read-only" in en.get("error", ""),
                      "the message says the database is read-only, in each language")
        status, _headers, _body = _probe(port, "GET", "/api/v1/me", token=token)
        outcome.check(status == 200, f"a read still works: GET /api/v1/me → {status}")
        outcome.check(_stored(url, data["tables"]["checkin"], refused) == 0,
                      f"none of the {len(refused)} refused scans was stored")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        _end_sessions(options.postgres_url, name)
    items = [{**client.staff_item(), "kind": "staff_scan"} for _item in range(PROBE_ITEMS)]
    deadline = time.monotonic() + 30
    status = 0
    while time.monotonic() < deadline:
        status, _headers, body = _probe(port, "POST", "/api/v1/checkins/batch",
                                        {"items": items}, token)
        if status == 200:
            load.stats.scheduled += len(items)  # sent outside the load, counted with it
            for result in body["results"]:
                if result["ok"]:
                    load.stats.acked.add(uuid.UUID(result["id"]).int)
            break
        time.sleep(1)
    outcome.check(status == 200, f"after RESET, writes work again ({status})")


def fault_full_sqlite(options: argparse.Namespace, outcome: Outcome) -> None:
    tag = f"{os.getpid()}"
    path = RESULTS / f"faulttest-{tag}.sqlite3"
    url = f"sqlite:///{path}"
    server: Server | None = None
    try:
        data = seed_database(url, clients=2, checkins=1000, env=server_env(url),
                             out=RESULTS / f"faulttest-seed-{tag}.json")
        count_rows = f'SELECT count(*) FROM "{data["tables"]["checkin"]}"'  # noqa: S608 - our table
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")  # no free pages left to reuse
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            before = conn.execute(count_rows).fetchone()[0]
        log = RESULTS / "faulttest-sqlite-server.log"
        log.unlink(missing_ok=True)
        server = Server(ServerConfig(1, 2), url, log,
                        env=server_env(url, SQLITE_FAULT_MAX_PAGES=str(pages)),
                        extra_args=["-c", "python:bench.faulttest"])
        outcome.details.append(f"     SQLite file of {pages:,} pages; the instance's "
                               f"connections run PRAGMA max_page_count = {pages}")
        controller = data["controllers"][0]
        client = Load(data, [server.port], total=1, clients=1).clients[0]
        sent: list[str] = []
        for language in ("vi", "en"):
            items = [{**client.staff_item(), "kind": "staff_scan"} for _item in range(100)]
            sent += [i["id"] for i in items]
            status, headers, body = _probe(server.port, "POST", "/api/v1/checkins/batch",
                                           {"items": items}, controller["token"], language)
            code = body.get("code") if isinstance(body, dict) else None
            message = body.get("error", "") if isinstance(body, dict) else str(body)[:200]
            expected = "hết dung lượng" if language == "vi" else "out of storage space"
            outcome.check(status == 503 and code == "database_full" and "retry-after" in headers
                          and expected in message,
                          f"write ({language}): {status} {code}, Retry-After "
                          f"{headers.get('retry-after')}: “{message}”")
        with sqlite3.connect(path) as conn:
            after = conn.execute(count_rows).fetchone()[0]
        outcome.check(after == before, f"nothing stored ({before} check-in rows before, "
                      f"{after} after)")
    finally:
        if server is not None:
            server.stop()
        for leftover in RESULTS.glob(f"faulttest-{tag}.sqlite3*"):
            leftover.unlink(missing_ok=True)


# --- Running --------------------------------------------------------------------------------------


def _verified(url: str, data: dict[str, Any], load: Load, outcome: Outcome) -> None:
    verdict = verify(url, data["tables"], load.stats)
    outcome.check(verdict.missing == 0 and verdict.rows == verdict.acked,
                  f"every acknowledged check-in is stored: rows {verdict.rows:,} == acked "
                  f"{verdict.acked:,} (missing {verdict.missing}, never acknowledged "
                  f"{verdict.unacknowledged})")
    outcome.check(verdict.duplicate_visits == 0 and verdict.receipts == 0,
                  f"none twice: {verdict.duplicate_visits} duplicate visits, "
                  f"{verdict.receipts} merge receipts")
    outcome.check(verdict.created_receipts == verdict.rows,
                  f"each visit has its scan's receipt: {verdict.created_receipts:,} created "
                  f"receipts for {verdict.rows:,} rows")
    outcome.check(load.stats.resend_mismatches == 0,
                  f"{load.stats.resends} deliberate re-sends all answered as duplicates")


def _finish(outcome: Outcome) -> None:
    if outcome.status != "SKIPPED":
        outcome.status = "PASS" if all(d.startswith(("ok", "  ")) for d in outcome.details) \
            else "FAIL"


@contextmanager
def _phase(outcome: Outcome) -> Iterator[None]:
    """Runs one fault; an error in it fails that fault, with the error in its
    details, and the suite goes on to the others and prints every result."""
    try:
        yield
    except Exception as error:  # reported, not raised: the other phases still run
        outcome.details.append(f"FAIL the phase raised {type(error).__name__}: {error}")
        outcome.details += [f"     {line}" for line in
                            traceback.format_exc(limit=4).rstrip().splitlines()[-6:]]
        outcome.status = "FAIL"
        return
    finally:
        if outcome.status != "SKIPPED":
            _finish(outcome)


def capacity_for(options: argparse.Namespace) -> int:
    """Check-ins the seeded people must allow for: ``--capacity``, or the two
    load phases at the batch endpoint's target rate (issue 18: 50,000/s)."""
    if options.capacity:
        return int(options.capacity)
    return int(2 * options.phase_seconds * TARGET_RATE)


def _results(outcomes: dict[str, Outcome], *, load: Load | None, header: list[str],
             client_cpu: float, problem: list[str]) -> tuple[list[str], bool]:
    """The printed report: the load's figures (when it got that far), the
    PASS/FAIL table, each fault's details; and whether anything failed."""
    lines = (report(load, header=header, verdict=None, client_cpu=client_cpu)
             if load is not None else [*header])
    if problem:
        lines += ["", *problem]
    lines += ["", "| Fault | Result |", "|---|---|"]
    lines += [f"| {o.name} | {o.status} |" for o in outcomes.values()]
    for outcome in outcomes.values():
        lines.append("")
        lines.append(f"{outcome.name}: {outcome.status}")
        lines += [f"  {d}" for d in outcome.details]
    failed = bool(problem) or any(o.status == "FAIL" for o in outcomes.values())
    lines.append("")
    lines.append(f"RESULT: {'FAIL' if failed else 'PASS'}"
                 + (" (some faults skipped: see above)"
                    if any(o.status == "SKIPPED" for o in outcomes.values()) else ""))
    return lines, failed


def run(options: argparse.Namespace) -> int:
    """Runs the faults asked for and prints every result, also when one of
    them, or the set-up, fails (then the exit code is 1)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    outcomes = {key: Outcome(title) for key, title in [
        ("a", "(a) kill -9 of an app instance during load"),
        ("b", "(b) PostgreSQL restart during load"),
        ("c", "(c) read-only database"),
        ("d", "(d) full database (SQLite)"),
    ]}
    wanted = set(options.only)
    for key in "abcd":
        if key not in wanted:
            outcomes[key].status = "SKIPPED"
            outcomes[key].details.append("     not asked for (--only)")
    name, url = postgres_create(options.postgres_url, prefix="truyvet_faulttest")
    servers: list[Server] = []
    load: Load | None = None
    client_cpu = 0.0
    problem: list[str] = []
    try:
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        try:
            print(f"faulttest: database {name}; seeding ...", flush=True)
            data = seed_database(url, clients=options.clients, checkins=capacity_for(options),
                                 env=server_env(url),
                                 out=RESULTS / f"faulttest-seed-{name}.json")
            log = RESULTS / "faulttest-server.log"
            log.unlink(missing_ok=True)
            servers = [Server(options.server, url, log, access_log=False) for _n in range(2)]
            load = Load(data, [s.port for s in servers], total=0, clients=options.clients,
                        timeout=options.timeout)
            cpu = resource.getrusage(resource.RUSAGE_SELF)
            _run_phases(wanted, data, load, servers, name, url, options, outcomes)
        except Exception as error:  # reported below with every result
            problem = [f"FAIL the suite stopped: {type(error).__name__}: {error}",
                       *(f"     {line}" for line in
                         traceback.format_exc(limit=4).rstrip().splitlines()[-6:])]
            for outcome in outcomes.values():
                if not outcome.details:
                    outcome.details.append("FAIL not run: the suite stopped before it")
                    outcome.status = "FAIL"
        after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
        load_after = os.getloadavg()
        try:
            version = postgres_version(url)
        except Exception as error:  # noqa: BLE001 - the report must still print
            version = f"(version unknown: {type(error).__name__})"
        header = [
            "== Fault test",
            describe_machine(),
            f"PostgreSQL {version}; 2 gunicorn instances, {options.server.label} "
            f"each; {options.clients} clients; {options.phase_seconds:.0f} s of load per "
            "load phase",
            f"load average (1 min) before: {load_before[0]:.2f}, after: {load_after[0]:.2f}",
        ]
        lines, failed = _results(outcomes, load=load, header=header, client_cpu=client_cpu,
                                 problem=problem)
        print("\n".join(lines), flush=True)
        (RESULTS / "faulttest-last.txt").write_text("\n".join(lines) + "\n")
        return 1 if failed else 0
    finally:
        for server in servers:
            server.stop()
        if options.keep_db:
            print(f"faulttest: kept database {name} ({url})")
        else:
            postgres_drop(options.postgres_url, name)


def _run_phases(wanted: set[str], data: dict[str, Any], load: Load, servers: list[Server],
                name: str, url: str, options: argparse.Namespace,
                outcomes: dict[str, Outcome]) -> None:
    """Each fault asked for, in the order a, c, d, b (the restart last: it
    waits for the machine to be quiet); an error in one fails that one."""
    if "a" in wanted:
        print("faulttest: (a) kill -9 of an instance during load", flush=True)
        with _phase(outcomes["a"]):
            asyncio.run(fault_kill(load, servers, options, outcomes["a"]))
            _verified(url, data, load, outcomes["a"])
    if "c" in wanted:
        print("faulttest: (c) read-only database", flush=True)
        with _phase(outcomes["c"]):
            fault_read_only(data, load, servers, name, url, options, outcomes["c"])
    if "d" in wanted:
        print("faulttest: (d) full SQLite database", flush=True)
        with _phase(outcomes["d"]):
            fault_full_sqlite(options, outcomes["d"])
    if "b" in wanted:
        if options.skip_restart:
            outcomes["b"].status = "SKIPPED"
            outcomes["b"].details.append("     --skip-restart given")
        else:
            print("faulttest: (b) PostgreSQL restart during load", flush=True)
            with _phase(outcomes["b"]):
                if asyncio.run(fault_restart(load, servers, options, outcomes["b"])):
                    _verified(url, data, load, outcomes["b"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench faulttest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--server", type=ServerConfig.parse, default=ServerConfig(2, 4),
                        help="each instance: sync:N or gthread:NxT (default gthread:2x4)")
    parser.add_argument("--phase-seconds", type=float, default=60.0,
                        help="seconds of load in each of (a) and (b) (60)")
    parser.add_argument("--capacity", type=int, default=0,
                        help="check-ins the seeded people must allow for (default: both "
                        f"load phases at {TARGET_RATE:,}/s; a client that runs out stops "
                        "and the report says so)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds before a client gives up on an answer and retries")
    parser.add_argument("--only", default="abcd", help="which faults, e.g. 'acd' (abcd)")
    parser.add_argument("--skip-restart", action="store_true",
                        help="do not restart PostgreSQL (b is reported as skipped)")
    parser.add_argument("--quiet-wait", type=float, default=900.0,
                        help="seconds to wait for others' tests to finish before (b) (900)")
    parser.add_argument("--pg-version", default="15", help="pg_ctlcluster version (15)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    return run(options)


if __name__ == "__main__":
    raise SystemExit(main())
