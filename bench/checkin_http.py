"""Check-in throughput over HTTP: the single and batch check-in endpoints of
the real server (gunicorn, as ``truyvet serve`` runs it) on 127.0.0.1, beside
the same server's no-op endpoint, on SQLite and PostgreSQL.

    python -m bench checkins                          # defaults below, writes docs/performance.md
    python -m bench checkins --databases sqlite --duration 5 --configs granian:2x4
    python -m bench checkins profile --databases postgresql   # CPU/request in-process
    python -m bench checkins --scenarios noop,scan --clients 64
    python -m bench checkins --postgres-url postgres://postgres@127.0.0.1:5432

For each database a fresh one is made (``var/bench/checkins-<random>.sqlite3``,
or ``truyvet_bench_checkins_<random>`` on the PostgreSQL server, dropped
afterwards) and seeded in a child process through ``truyvet synth`` (a Hạ
Lang-sized district: venues, people and a background of past check-ins) and
the services (citizens' accounts and bearer tokens, controllers at venues,
personal QR tokens). Then, for each server configuration (``granian:NxT`` is
granian with N workers of T blocking threads, what ``truyvet serve`` runs
with N = WEB_CONCURRENCY, default 3, and T = 4; ``gthread:NxT`` and ``sync:N``
are gunicorn's threaded and sync workers, ``WEB_SERVER=gunicorn``), the
server is started with ``truyvet serve``'s arguments (access log included,
written to ``var/bench/``), with ``DEBUG=0`` and the check-in rate
limits switched off (``CHECKIN_RATELIMIT_*=0``: one load generator stands in
for thousands of phones), and these are measured in turn:

- **no-op**: ``GET /api/v1/health``, which touches no database: the ceiling
  of this server on this machine;
- **scan**: ``POST /api/v1/checkins/scan`` by many citizens (bearer tokens)
  at many venues, each with a fresh client UUID;
- **staff-scan**: ``POST /api/v1/checkins/staff-scan`` by controllers at
  their venues, each scanning a random person's personal QR;
- **batch**: ``POST /api/v1/checkins/batch`` with ``--batch-size`` staff scans
  (personal QRs, times within the last hour), as a controller's offline queue;
- **lean reference** (PostgreSQL only): ``../shared/anchors/lean_checkin.py``
  (``--lean``), a ~100-line citizen scan with nothing wasted, set up by its own
  ``setup`` command in its own database and served by gunicorn with the same
  workers and threads, loaded by the same generator with its tokens and codes.
  It is the yardstick of the citizen scan's second target: at least
  ``LEAN_SHARE`` of the reference's rate *in the same run*, so that other work
  on the machine lowers both alike. Its code is run, never copied.

The 1-minute load average is recorded before every row (before its
warm-up), and each row says whether its target is met or by how much it is
missed. ``--settle-load 0.5`` waits before each row until the average is
below 0.5, as the quiet run in docs/performance.md asks.

The load generator is ``bench.serving``'s: N concurrent asyncio clients with
keep-alive HTTP/1.1 connections (reconnecting when a sync worker closes
one), only to 127.0.0.1, each scenario bounded by ``--duration`` seconds and
``--max-requests`` requests after a short warm-up. It shares the machine's
cores with the server and the database; its own CPU use is reported.
"Check-ins/s" counts acknowledged check-ins (2xx; for the batch, the items
it accepted); p50/p99 are per request; RSS is per gunicorn worker at the end
of the scenario (the largest).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.serving import (
    DOC,
    HOST,
    RESULTS,
    ROOT,
    GranianConfig,
    Server,
    ServerConfig,
    Tally,
    bench_parser,
    comma_list,
    cpu_of,
    databases_run,
    django_setup,
    granian_command,
    load_run,
    machine,
    make_server,
    percentile,
    performance_section_write,
    postgres_create,
    postgres_drop,
    read_response,
    server_config,
    server_env,
)
from bench.serving import http_request as _request

SECTION = "## Check-in throughput"
TARGET_SINGLE = 1_500
TARGET_BATCH = 50_000
TARGET_P99_MS = 50.0  # at 70% of the sustained rate
LEAN_SHARE = 0.60  # the citizen scan's rate against the lean reference's, same run
SCENARIOS = ("noop", "lean", "scan", "staff", "batch")
LABELS = {"noop": "no-op (GET /health)", "lean": "lean reference (anchor)",
          "scan": "citizen scan", "staff": "staff scan", "batch": "batch"}
LEAN_DEFAULT = ROOT.parent / "shared" / "anchors" / "lean_checkin.py"


class LeanServer(Server):
    """The lean reference under gunicorn, from its own directory, with the
    same workers and threads as the server it is compared with."""

    ready_path = "/api/noop"

    def __init__(self, config: ServerConfig, dsn: str, log: Path, anchor: Path) -> None:
        self.anchor = anchor
        env = dict(os.environ, DSN=dsn)
        super().__init__(config, dsn, log, env=env, access_log=False)

    def _start(self) -> subprocess.Popen[bytes]:
        if isinstance(self.config, GranianConfig):  # as its docstring says too
            return subprocess.Popen(  # noqa: S603 - the anchor, run as its docstring says
                granian_command(self.config, f"{self.anchor.stem}:wsgi", self.port, False),
                cwd=self.anchor.parent, env=self.env, stdout=self.log, stderr=self.log,
            )
        return subprocess.Popen(  # noqa: S603 - the anchor, run as its docstring says
            [sys.executable, "-m", "gunicorn", f"{self.anchor.stem}:wsgi",
             "--bind", f"{HOST}:{self.port}", "--workers", str(self.config.workers),
             "--threads", str(self.config.threads), "--backlog", "2048"],
            cwd=self.anchor.parent, env=self.env, stdout=self.log, stderr=self.log,
        )


def lean_setup(anchor: Path, dsn: str) -> dict[str, list[str]]:
    """Runs the anchor's own ``setup`` (its database and a wrk script) and
    reads the bearer tokens and venue codes it wrote."""
    script = RESULTS / f"lean-{secrets.token_hex(4)}.lua"
    subprocess.run(  # noqa: S603 - the anchor's documented set-up
        [sys.executable, str(anchor), "setup"], check=True, cwd=anchor.parent,
        env=dict(os.environ, DSN=dsn, LUA_OUT=str(script)), stdout=subprocess.DEVNULL,
    )
    text = script.read_text()
    script.unlink()
    lists = {name: json.loads("[" + found.group(1) + "]") for name, found in (
        (name, re.search(rf"local {name} = \{{(.*?)\}}\n", text)) for name in ("toks", "codes"))
        if found}
    return {"tokens": lists["toks"], "codes": lists["codes"]}


# --- Seeding (child process) ----------------------------------------------------------


def seed(options: argparse.Namespace) -> dict[str, Any]:
    """Migrates and fills the database; returns what the load generator
    needs: citizens' tokens, venue QR payloads, controllers' tokens and
    venues, personal QR tokens."""
    django_setup(options.database_url)
    from django.core.management import call_command
    from django.db import transaction

    from truyvet.accounts.models import Person, User
    from truyvet.accounts.services import token_issue
    from truyvet.checkins.personal_qr import personal_qr_token
    from truyvet.checkins.synth import SynthPlan, synth_generate
    from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus
    from truyvet.venues.qr import venue_qr_payload

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    synth_generate(plan=SynthPlan(
        district="048", venues=options.venues, people=options.people,
        checkins=options.background, days=21,
    ))
    venues = list(Venue.objects.filter(status=VenueStatus.ACTIVE).order_by("pk"))
    people = list(
        Person.objects.filter(user__isnull=True).order_by("pk")[: options.citizens + options.qrs]
    )
    if len(venues) < options.controllers or len(people) < options.citizens:
        raise SystemExit("seed: synth made fewer venues or people than asked for")
    rng = random.Random(2021)  # noqa: S311 - test data
    out: dict[str, Any] = {"citizens": [], "venues": [], "controllers": [], "personal_qrs": []}
    with transaction.atomic():
        for index, person in enumerate(people[: options.citizens]):
            user = User(phone=f"+8498{index:07d}", person=person)
            user.set_unusable_password()  # no hashing: the bench logs in by token
            user.save()
            out["citizens"].append(token_issue(user=user, label="bench", days=2))
        for index, venue in enumerate(rng.sample(venues, options.controllers)):
            person = Person.objects.create(full_name=f"Người kiểm soát {index}")
            user = User(phone=f"+8497{index:07d}", person=person)
            user.set_unusable_password()
            user.save()
            # At the door since the venue opened, so its queue's scans of the
            # whole retention period are taken (a newcomer's are not: issue 12).
            VenueStaff.objects.create(venue=venue, phone=user.phone, user=user,
                                      role=StaffRole.CONTROLLER, added_at=venue.created_at)
            out["controllers"].append(
                {"token": token_issue(user=user, label="bench", days=2), "venue": venue.code}
            )
        out["venues"] = [venue_qr_payload(v) for v in venues]
        out["personal_qrs"] = [personal_qr_token(p) for p in people[options.citizens:]]
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("SELECT sqlite_version()")
        out["database_version"] = str(cursor.fetchone()[0]).split(" ")[0]
    from truyvet.checkins.models import CheckIn

    out["background_checkins"] = CheckIn.objects.count()
    out["database"] = connection.vendor
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


# --- In-process profile (child process) ------------------------------------------------------


PROFILE_PATHS = {"scan": "/api/v1/checkins/scan", "staff": "/api/v1/checkins/staff-scan",
                 "noop": "/api/v1/health"}


def _profile_request(scenario: str, data: dict[str, Any], rng: random.Random
                     ) -> tuple[str, dict[str, Any] | None, str]:
    """(path, JSON body or None for a GET, bearer token) of the next request."""
    if scenario == "noop":
        return PROFILE_PATHS["noop"], None, ""
    if scenario == "scan":
        return (PROFILE_PATHS["scan"],
                {"venue": rng.choice(data["venues"]), "id": str(uuid.uuid4())},
                rng.choice(data["citizens"]))
    who = rng.choice(data["controllers"])
    return (PROFILE_PATHS["staff"],
            {"venue": who["venue"], "payload": rng.choice(data["personal_qrs"]),
             "id": str(uuid.uuid4())}, who["token"])


def profile(options: argparse.Namespace) -> dict[str, Any]:
    """CPU time per request of this process (the app's share: Django,
    django-ninja, the services and the database driver; not the database
    server's) and the statements of one request, through Django's test
    client against a seeded database; with ``--cprofile``, the top of a
    profile of the same requests."""
    django_setup(options.database_url)
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    data = json.loads(Path(options.seed_file).read_text())
    client = Client()
    rng = random.Random(2021)  # noqa: S311 - load, not security
    out: dict[str, Any] = {"database": connection.vendor, "scenarios": {}}

    def send(scenario: str) -> int:
        path, body, token = _profile_request(scenario, data, rng)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        if body is None:
            return int(client.get(path, **headers).status_code)
        return int(client.post(path, data=json.dumps(body), content_type="application/json",
                               **headers).status_code)

    for scenario in options.profile_scenarios:
        for _warm in range(options.profile_warmup):
            send(scenario)
        with CaptureQueriesContext(connection) as captured:
            status = send(scenario)
        statements = [q["sql"] for q in captured.captured_queries]
        statuses: Counter[int] = Counter()
        started = time.process_time()
        for _index in range(options.profile_requests):
            statuses[send(scenario)] += 1
        cpu_ms = (time.process_time() - started) * 1000 / options.profile_requests
        found: dict[str, Any] = {
            "cpu_ms_per_request": round(cpu_ms, 3), "statements": len(statements),
            "statement_heads": [" ".join(sql.split()[:6])[:100] for sql in statements],
            "status_of_counted": status, "statuses": {str(k): v for k, v in statuses.items()},
        }
        if options.cprofile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _index in range(options.profile_requests):
                send(scenario)
            profiler.disable()
            report = io.StringIO()
            pstats.Stats(profiler, stream=report).sort_stats(options.cprofile_sort).print_stats(
                options.cprofile)
            found["cprofile"] = report.getvalue()
        out["scenarios"][scenario] = found
    return out


def _remove_sqlite(tag: str) -> None:
    for path in RESULTS.glob(f"checkins-{tag}.sqlite3*"):
        path.unlink(missing_ok=True)


def run_profile(options: argparse.Namespace) -> int:
    """Seeds a fresh database per ``--databases`` and profiles the hot
    endpoints in a child process configured as served (``profile``)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    for vendor in options.databases:
        tag = secrets.token_hex(4)
        if vendor == "sqlite":
            path = RESULTS / f"checkins-{tag}.sqlite3"
            url = f"sqlite:///{path}"
            cleanup: Callable[[], Any] = functools.partial(_remove_sqlite, tag)
        else:
            name, url = postgres_create(options.postgres_url, prefix=options.db_prefix)
            cleanup = functools.partial(postgres_drop, options.postgres_url, name)
        seed_file = RESULTS / f"checkins-seed-{tag}.json"
        try:
            subprocess.run(  # noqa: S603 - our own script
                [sys.executable, "-m", "bench.checkin_http", "seed", "--database-url", url,
                 "--out", str(seed_file), "--venues", str(options.venues),
                 "--people", str(options.people), "--citizens", str(options.citizens),
                 "--qrs", str(options.qrs), "--controllers", str(options.controllers),
                 "--background", str(options.background)],
                check=True, cwd=ROOT, env=server_env(url),
            )
            report = RESULTS / f"checkins-profile-{tag}.json"
            subprocess.run(  # noqa: S603 - our own script
                [sys.executable, "-m", "bench.checkin_http", "profile-run", "--database-url",
                 url, "--seed-file", str(seed_file), "--out", str(report),
                 "--profile-requests", str(options.profile_requests),
                 "--profile-warmup", str(options.profile_warmup),
                 "--profile-scenarios", ",".join(options.profile_scenarios),
                 "--cprofile", str(options.cprofile), "--cprofile-sort", options.cprofile_sort],
                check=True, cwd=ROOT, env=server_env(url),
            )
            found = json.loads(report.read_text())
            report.unlink()
        finally:
            seed_file.unlink(missing_ok=True)
            cleanup()
        print(f"== {vendor} (1-minute load average {os.getloadavg()[0]:.2f})")
        for scenario, result in found["scenarios"].items():
            print(f"{scenario}: {result['cpu_ms_per_request']:.3f} ms CPU per request "
                  f"in-process, {result['statements']} statements "
                  f"(statuses {result['statuses']})")
            for head in result["statement_heads"]:
                print(f"    {head}")
            if result.get("cprofile"):
                print(result["cprofile"])
    return 0


# --- Load generator -----------------------------------------------------------------------


_ACCEPTED = re.compile(rb'"accepted":\s*(\d+)')


def _accepted(body: bytes) -> int:
    """The items a batch's answer says it accepted."""
    found = _ACCEPTED.search(body)
    return int(found.group(1)) if found else 0


def request_maker(scenario: str, data: dict[str, Any], batch_size: int,
                  rng: random.Random) -> tuple[Callable[[], tuple[bytes, int]], bool]:
    """A function making the next request of ``scenario`` (and how many
    check-ins it carries), and whether responses are batch answers."""
    citizens, venues = data["citizens"], data["venues"]
    controllers, qrs = data["controllers"], data["personal_qrs"]

    if scenario == "noop":
        health = _request("GET", "/api/v1/health")
        return (lambda: (health, 0)), False
    if scenario == "lean":
        lean = data["lean"]

        def lean_scan() -> tuple[bytes, int]:
            body = {"code": rng.choice(lean["codes"]), "client_id": str(uuid.uuid4())}
            return _request("POST", "/api/scan", body, rng.choice(lean["tokens"])), 1
        return lean_scan, False
    if scenario == "scan":
        def scan() -> tuple[bytes, int]:
            body = {"venue": rng.choice(venues), "id": str(uuid.uuid4())}
            return _request("POST", "/api/v1/checkins/scan", body, rng.choice(citizens)), 1
        return scan, False
    if scenario == "staff":
        def staff() -> tuple[bytes, int]:
            who = rng.choice(controllers)
            body = {"venue": who["venue"], "payload": rng.choice(qrs), "id": str(uuid.uuid4())}
            return _request("POST", "/api/v1/checkins/staff-scan", body, who["token"]), 1
        return staff, False

    def batch() -> tuple[bytes, int]:
        who = rng.choice(controllers)
        now = datetime.now(UTC)
        items = [
            {"id": str(uuid.uuid4()), "kind": "staff_scan", "venue": who["venue"],
             "payload": rng.choice(qrs),
             "scanned_at": (now - timedelta(seconds=rng.uniform(0, 3600))).isoformat()}
            for _item in range(batch_size)
        ]
        return _request("POST", "/api/v1/checkins/batch", {"items": items}, who["token"]), \
            batch_size
    return batch, True


def load(port: int, make: Callable[[], tuple[bytes, int]], *, clients: int, seconds: float,
         max_requests: int, batch: bool) -> tuple[Tally, float, float]:
    """Runs ``clients`` connections for ``seconds``; returns the tally, the
    wall time and the CPU seconds this process used."""
    return load_run(port, make, clients=clients, seconds=seconds, max_requests=max_requests,
                    accepted=_accepted if batch else None)


# --- Measuring ------------------------------------------------------------------------------


def postgres_cpu(server_url: str, name: str) -> Callable[[], float]:
    """CPU seconds so far of the PostgreSQL backends serving database
    ``name`` (same machine: their /proc entries are readable)."""
    import psycopg

    def cpu() -> float:
        with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
            pids = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])]
        return cpu_of(pids)
    return cpu


def settle(options: argparse.Namespace) -> None:
    """Waits, before a row, until the 1-minute load average is below
    ``--settle-load`` (at most ``--settle-max`` seconds), so that each row
    starts on a quiet machine rather than in the wake of the row before: the
    rows themselves load both cores, and the average takes about a minute to
    forget them. 0 measures at once."""
    bound = options.settle_load
    if not bound:
        return
    deadline = time.monotonic() + options.settle_max
    if (load_1m := os.getloadavg()[0]) >= bound:
        print(f"   waiting for the 1-minute load average ({load_1m:.2f}) to fall "
              f"below {bound:g} ...", flush=True)
    while load_1m >= bound and time.monotonic() < deadline:
        time.sleep(2)
        load_1m = os.getloadavg()[0]
    if load_1m >= bound:
        print(f"   the load average is still {load_1m:.2f} after {options.settle_max:g} s: "
              "measuring anyway (other work on this machine?)", flush=True)


def measure(server: Server, scenario: str, data: dict[str, Any],
            options: argparse.Namespace, db_cpu: Callable[[], float]) -> dict[str, Any]:
    settle(options)
    rng = random.Random(secrets.randbits(32))  # noqa: S311 - load, not security
    make, batch = request_maker(scenario, data, options.batch_size, rng)
    clients = options.batch_clients if batch else options.clients
    load_1m = os.getloadavg()[0]  # before the row's warm-up
    # Warm-up: lazy imports, connections, caches.
    load(server.port, make, clients=clients, seconds=options.warmup,
         max_requests=options.max_requests, batch=batch)
    cpu_before, db_before = server.cpu_seconds(), db_cpu()
    tally, wall, client_cpu = load(server.port, make, clients=clients, seconds=options.duration,
                                   max_requests=options.max_requests, batch=batch)
    server_cpu = server.cpu_seconds() - cpu_before
    database_cpu = db_cpu() - db_before
    rss = server.worker_rss_mib()
    requests = sum(n for status, n in tally.statuses.items() if 200 <= status < 300)
    failed = sum(tally.statuses.values()) - requests
    return {
        "scenario": scenario, "server": server.config.label,
        "workers": server.config.workers, "threads": server.config.threads,
        "clients": clients, "batch_size": options.batch_size if batch else None,
        "seconds": round(wall, 2), "requests": requests, "failed": failed,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "sample_error": tally.sample_error, "connections": tally.connections,
        "req_per_s": round(requests / wall, 1),
        "checkins_per_s": round(tally.checkins / wall, 1) if scenario != "noop" else None,
        "p50_ms": round(percentile(tally.latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 1),
        "rss_mib": round(max(rss), 1) if rss else None,
        "server_cpu_ms_per_req": round(server_cpu * 1000 / requests, 2) if requests else None,
        "db_cpu_ms_per_req": round(database_cpu * 1000 / requests, 2) if requests else None,
        # What two otherwise idle cores could serve at the measured CPU cost
        # per request (app workers + database), load generator left out.
        "cpu_bound_checkins_per_s": (
            round(2000 / ((server_cpu + database_cpu) * 1000 / requests)
                  * (tally.checkins / requests if scenario != "noop" else 1), 0)
            if requests and server_cpu + database_cpu > 0 else None
        ),
        "client_cpu_share": round(client_cpu / wall, 2),
        "load_1m": round(load_1m, 2),
    }


def measure_p99(server: Server, scenario: str, data: dict[str, Any],
                options: argparse.Namespace, rate: float) -> dict[str, Any]:
    """Latency at a fixed offered rate (``rate`` requests/s, open loop: each
    request is sent at its planned time whether or not earlier ones were
    answered, so queueing shows): p50 and p99 as the client saw them."""
    settle(options)
    rng = random.Random(secrets.randbits(32))  # noqa: S311 - load, not security
    make, _batch = request_maker(scenario, data, options.batch_size, rng)
    latencies: list[float] = []
    failed = [0]
    load_1m = os.getloadavg()[0]

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  lock: asyncio.Lock) -> None:
        async with lock:  # one request at a time per connection, HTTP/1.1
            started = time.perf_counter()
            writer.write(make()[0])
            response = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            if not 200 <= response.status < 300:
                failed[0] += 1

    async def run() -> None:
        pool = [await asyncio.open_connection(HOST, server.port)
                for _index in range(options.clients)]
        locks = [asyncio.Lock() for _conn in pool]
        tasks = []
        started = time.monotonic()
        count = int(rate * options.duration)
        for index in range(count):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # The least busy connection, as a client pool would pick.
            slot = min(range(len(pool)), key=lambda i: locks[i].locked())
            reader, writer = pool[slot]
            tasks.append(asyncio.ensure_future(one(reader, writer, locks[slot])))
        await asyncio.gather(*tasks, return_exceptions=True)
        for _reader, writer in pool:
            writer.close()

    asyncio.run(run())
    return {"scenario": scenario, "rate": round(rate, 0), "requests": len(latencies),
            "failed": failed[0], "load_1m": round(load_1m, 2),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1)}


def run_database(vendor: str, options: argparse.Namespace) -> list[dict[str, Any]]:
    """Seeds a fresh database of ``vendor``, measures every configuration
    and scenario, and removes the database."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(4)
    db_cpu: Callable[[], float] = lambda: 0.0  # noqa: E731 - SQLite runs inside the workers
    if vendor == "sqlite":
        path = RESULTS / f"checkins-{tag}.sqlite3"
        url, cleanup = f"sqlite:///{path}", lambda: [
            p.unlink(missing_ok=True) for p in RESULTS.glob(f"checkins-{tag}.sqlite3*")
        ]
    else:
        name, url = postgres_create(options.postgres_url, prefix=options.db_prefix)
        cleanup = functools.partial(postgres_drop, options.postgres_url, name)
        db_cpu = postgres_cpu(options.postgres_url, name)
    lean_name = f"{options.db_prefix}_lean_{tag}"
    lean_url = f"{options.postgres_url.rstrip('/')}/{lean_name}"
    with_lean = vendor == "postgresql" and "lean" in options.scenarios
    if with_lean and not options.lean.exists():
        print(f"checkins: the lean reference {options.lean} is missing; its row is skipped",
              flush=True)
        with_lean = False
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(f"checkins: warning: the 1-minute load average is {load_before:.1f} before "
              "starting: other work on this machine will lower the numbers", flush=True)
    try:
        seed_file = RESULTS / f"checkins-seed-{tag}.json"
        print(f"checkins: seeding {vendor} ...", flush=True)
        subprocess.run(  # noqa: S603 - our own script
            [sys.executable, "-m", "bench.checkin_http", "seed", "--database-url", url,
             "--out", str(seed_file),
             "--venues", str(options.venues), "--people", str(options.people),
             "--citizens", str(options.citizens), "--qrs", str(options.qrs),
             "--controllers", str(options.controllers),
             "--background", str(options.background)],
            check=True, cwd=ROOT, env=server_env(url),
        )
        data = json.loads(seed_file.read_text())
        seed_file.unlink()
        if with_lean:
            data["lean"] = lean_setup(options.lean, lean_url)
        print(f"checkins: seeded {vendor} {data['database_version']} in {data['seconds']} s "
              f"({len(data['venues'])} venues, {len(data['citizens'])} citizens, "
              f"{len(data['controllers'])} controllers, "
              f"{data['background_checkins']:,} past check-ins)", flush=True)
        log = RESULTS / f"checkins-server-{vendor}.log"  # this run's only
        log.unlink(missing_ok=True)
        def record(result: dict[str, Any]) -> None:
            result.update({
                "database": vendor, "database_version": data["database_version"],
                "background_checkins": data["background_checkins"],
                "load_before": round(load_before, 2),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            })
            results.append(result)
            print(_row(result), flush=True)
            if result["failed"]:
                print(f"   {result['failed']} failed; first: {result['sample_error']}",
                      flush=True)

        for config in options.configs:
            if with_lean:
                lean = LeanServer(config, lean_url, log, options.lean)
                try:
                    record(measure(lean, "lean", data, options,
                                   postgres_cpu(options.postgres_url, lean_name)))
                finally:
                    lean.stop()
            server = make_server(config, url, log)
            try:
                for scenario in options.scenarios:
                    if scenario == "lean":
                        continue
                    result = measure(server, scenario, data, options, db_cpu)
                    record(result)
                    if scenario in {"scan", "staff"} and result["req_per_s"] and options.p99:
                        tail = measure_p99(server, scenario, data, options,
                                           0.7 * result["req_per_s"])
                        result["p99_at_70"] = tail
                        print(f"   p99 at 70% of it ({tail['rate']:,.0f} req/s offered, "
                              f"load {tail['load_1m']:.2f}): {tail['p99_ms']} ms "
                              f"(p50 {tail['p50_ms']} ms, {tail['failed']} failed)", flush=True)
            finally:
                server.stop()
    finally:
        cleanup()
        if with_lean:
            postgres_drop(options.postgres_url, lean_name)
    return results


# --- Reporting ------------------------------------------------------------------------------


def _database_label(result: dict[str, Any]) -> str:
    name = "PostgreSQL" if result["database"] == "postgresql" else "SQLite"
    return f"{name} {result['database_version']}"


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _row(r: dict[str, Any]) -> str:
    what = LABELS[r["scenario"]] + (f" ({r['batch_size']} items)" if r["batch_size"] else "")
    return (
        f"| {_database_label(r)} | {r['server']} | {what} | {r['clients']} "
        f"| {_fmt(r['req_per_s'])} | {_fmt(r['checkins_per_s'])} | {_fmt(r['p50_ms'], 1)} "
        f"| {_fmt(r['p99_ms'], 1)} | {_fmt(r['rss_mib'])} | {_fmt(r['server_cpu_ms_per_req'], 2)} "
        f"| {_fmt(r.get('db_cpu_ms_per_req'), 2)} | {r['client_cpu_share']:.0%} "
        f"| {_fmt(r.get('cpu_bound_checkins_per_s'))} | {r['failed']} "
        f"| {_fmt(r.get('load_1m'), 2)} |"
    )


HEADER = (
    "| Database | Server | Endpoint | Clients | Req/s | Check-ins/s | p50 ms | p99 ms "
    "| RSS/worker MiB | App CPU ms/req | DB CPU ms/req | Load gen. CPU "
    "| CPU-bound est./s | Failed | Load 1 min |\n"
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def best(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per database and scenario, the configuration with the most
    check-ins/s (requests/s for the no-op)."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in results:
        key = (r["database"], r["scenario"])
        score = r["checkins_per_s"] if r["checkins_per_s"] is not None else r["req_per_s"]
        old = chosen.get(key)
        if old is None or score > (old["checkins_per_s"] or old["req_per_s"]):
            chosen[key] = r
    order = {s: i for i, s in enumerate(SCENARIOS)}
    return sorted(chosen.values(),
                  key=lambda r: (r["database"] != "sqlite", order[r["scenario"]]))


def _verdict(got: float, target: float, unit: str = "/s") -> str:
    return ("meets it" if got >= target
            else f"misses it by {target - got:,.0f}{unit} ({got / target:.0%} of it)")


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    """Per best row: the target, met or missed by how much; for the citizen
    scan also its share of the lean reference measured in the same run; and
    the p99 at 70% of the sustained rate."""
    lines = []
    chosen = best(results)
    for r in chosen:
        if r["scenario"] in {"noop", "lean"}:
            continue
        target = TARGET_BATCH if r["scenario"] == "batch" else TARGET_SINGLE
        got = r["checkins_per_s"] or 0.0
        noop = next((n for n in chosen
                     if n["database"] == r["database"] and n["scenario"] == "noop"), None)
        ceiling = (f"; {got / noop['req_per_s']:.0%} of the no-op ceiling in requests"
                   if noop and noop["req_per_s"] and r["scenario"] != "batch" else "")
        lines.append(f"- {_database_label(r)}, {LABELS[r['scenario']]}: {got:,.0f} check-ins/s "
                     f"against a target of {target:,}/s (load {r.get('load_1m', 0):.2f}): "
                     f"{_verdict(got, target)}{ceiling}.")
        lean = next((n for n in chosen
                     if n["database"] == r["database"] and n["scenario"] == "lean"), None)
        if r["scenario"] == "scan" and lean and lean["checkins_per_s"]:
            share = got / lean["checkins_per_s"]
            lines.append(
                f"  - against the lean reference in the same run ({lean['checkins_per_s']:,.0f}/s, "
                f"load {lean.get('load_1m', 0):.2f}): {share:.0%}, target ≥ {LEAN_SHARE:.0%}: "
                + ("meets it" if share >= LEAN_SHARE
                   else f"misses it by {LEAN_SHARE - share:.0%} of the reference") + ".")
        tail = r.get("p99_at_70")
        if tail:
            lines.append(
                f"  - p99 at 70% of that rate ({tail['rate']:,.0f} req/s offered, load "
                f"{tail['load_1m']:.2f}): {tail['p99_ms']:,.1f} ms, target ≤ {TARGET_P99_MS:g} ms: "
                + ("meets it" if tail["p99_ms"] <= TARGET_P99_MS
                   else f"misses it by {tail['p99_ms'] - TARGET_P99_MS:,.1f} ms") + ".")
    return lines


def write_doc(results: list[dict[str, Any]], options: argparse.Namespace) -> None:
    info = machine()
    chosen = best(results)
    section = "\n".join([
        SECTION,
        "",
        "Check-ins over HTTP on 127.0.0.1 against the real server (granian, or gunicorn, with "
        "`truyvet serve`'s arguments, access log on, `DEBUG=0`, signing keys from the "
        "environment as in production), written by `python -m bench checkins` "
        "(`bench/checkin_http.py`). **The check-in rate limits "
        "were switched off for the server under test** (`CHECKIN_RATELIMIT_*=0`): one load "
        "generator stands in for thousands of phones. Targets (brief §6): ≥ "
        f"{TARGET_SINGLE:,} single check-ins/s and ≥ {TARGET_BATCH:,}/s through the batch "
        "endpoint on one 2-core machine with PostgreSQL, the citizen scan at ≥ "
        f"{LEAN_SHARE:.0%} of the lean reference (`../shared/anchors/lean_checkin.py`, run "
        "as a row of the same run with the same server configuration and load generator, so "
        "that other work on the machine lowers both alike), and a p99 ≤ "
        f"{TARGET_P99_MS:g} ms at 70% of the sustained rate (open loop). The 1-minute load "
        "average is recorded before every row, before its warm-up (last column)"
        + (f"; each row first waited until it was below {options.settle_load:g} (at most "
           f"{options.settle_max:g} s, `--settle-load`)." if options.settle_load else "."),
        "",
        f"Machine: {info['cpus']} CPUs; {info['cpu']}; {info['ram']} RAM; "
        f"Python {info['python']}; {info['os']}. The load generator (Python asyncio, "
        "keep-alive HTTP/1.1), the server and the database share these cores. Measured "
        f"{max(r['measured_at'] for r in results)[:10]}, {options.duration:g} s per row "
        f"after {options.warmup:g} s of warm-up, on a fresh database per run seeded with "
        f"{results[0]['background_checkins']:,} past check-ins. 1-minute load average "
        "before each database's run: "
        + ", ".join(sorted({f"{_database_label(r)} {r['load_before']:.2f}" for r in results}))
        + " (anything above ~0.3 means other work shared the machine and the numbers are "
        "low).",
        "",
        "Best configuration per database and endpoint:",
        "",
        HEADER,
        *[_row(r) for r in chosen],
        "",
        *verdicts(results),
        "",
        "<details><summary>Every configuration measured</summary>",
        "",
        HEADER,
        *[_row(r) for r in results],
        "",
        "</details>",
        "",
        "Req/s and check-ins/s count 2xx answers only (a batch counts the items it "
        "accepted); p50/p99 are per request as the client saw them, queueing included; "
        "RSS is the largest gunicorn worker at the end of the row; app CPU is the workers' "
        "user + system time per request (SQLite's work included), DB CPU that of the "
        "PostgreSQL backends serving the benchmark database; load gen. CPU is the share of "
        "one core the load generator used. *CPU-bound est.* is not a measurement: it is what "
        "two otherwise idle cores would serve at the measured app + DB CPU cost per request "
        "(check-ins/s; requests/s for the no-op), for comparing rows measured while other "
        "work shared the machine. `sync × N` is N sync "
        "workers (one connection each, closed after every response); `gthread N × T` is "
        "N workers with T threads and keep-alive, `truyvet serve`'s default being 3 × 4.",
        "",
        "Reproduce: `make bench`, or `python -m bench checkins --help` for databases, "
        "server configurations, durations and sizes.",
        "",
    ])
    performance_section_write(SECTION, section)


# --- Command line -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = bench_parser("python -m bench checkins", __doc__,
                          commands=("all", "seed", "profile", "profile-run"))
    parser.add_argument("--databases", type=comma_list, default=["sqlite", "postgresql"],
                        help="sqlite, postgresql or both (default both)")
    parser.add_argument("--configs", type=lambda t: [server_config(c) for c in comma_list(t)],
                        default=[ServerConfig(3, 4), GranianConfig(2, 4), GranianConfig(3, 4)],
                        help="server configurations: sync:N, gthread:NxT (gunicorn), "
                             "granian:NxT (default gthread:3x4,granian:2x4,granian:3x4; "
                             "the lean reference runs under each); profile: all runs "
                             "in-process, no server")
    parser.add_argument("--scenarios", type=comma_list, default=list(SCENARIOS),
                        help=f"any of {', '.join(SCENARIOS)}")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per row")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds before each row")
    parser.add_argument("--settle-load", type=float, default=0.0,
                        help="before each row, wait until the 1-minute load average is "
                             "below this (0: don't wait; 0.5 for the quiet run "
                             "docs/performance.md carries)")
    parser.add_argument("--settle-max", type=float, default=240.0,
                        help="longest wait for --settle-load, in seconds")
    parser.add_argument("--clients", type=int, default=32,
                        help="concurrent connections for single requests")
    parser.add_argument("--batch-clients", type=int, default=4,
                        help="concurrent connections posting batches")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--max-requests", type=int, default=1_000_000,
                        help="upper bound on requests per row")
    parser.add_argument("--venues", type=int, default=300)
    parser.add_argument("--people", type=int, default=6000)
    parser.add_argument("--citizens", type=int, default=2000, help="with accounts and tokens")
    parser.add_argument("--qrs", type=int, default=3000, help="people with personal QRs")
    parser.add_argument("--controllers", type=int, default=40)
    parser.add_argument("--background", type=int, default=100_000,
                        help="past check-ins loaded by synth before measuring")
    parser.add_argument("--lean", type=Path, default=LEAN_DEFAULT,
                        help="the lean reference (an anchor, run beside the project)")
    parser.add_argument("--db-prefix", default="truyvet_bench_checkins",
                        help="prefix of the PostgreSQL databases made (and dropped) by the run")
    parser.add_argument("--no-p99", dest="p99", action="store_false",
                        help="skip the latency rows at 70%% of the sustained rate")
    parser.add_argument("--profile-requests", type=int, default=500,
                        help="profile: requests counted per endpoint")
    parser.add_argument("--profile-warmup", type=int, default=100,
                        help="profile: requests before counting, per endpoint")
    parser.add_argument("--profile-scenarios", type=comma_list, default=["noop", "scan", "staff"],
                        help="profile: any of noop, scan, staff")
    parser.add_argument("--cprofile", type=int, default=0,
                        help="profile: print this many lines of a cProfile of each endpoint")
    parser.add_argument("--cprofile-sort", default="cumulative",
                        help="profile: cumulative or tottime")
    parser.add_argument("--seed-file", help="profile-run: what seed wrote")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.command == "seed":
        Path(options.out).write_text(json.dumps(seed(options)))
        return 0
    if options.command == "profile-run":
        Path(options.out).write_text(json.dumps(profile(options)))
        return 0
    if options.command == "profile":
        return run_profile(options)
    unknown = set(options.scenarios) - set(SCENARIOS) | set(options.databases) - {
        "sqlite", "postgresql"}
    if unknown:
        print(f"unknown: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if shutil.which("free") is None:
        print("note: `free` is missing; memory total comes out unknown", file=sys.stderr)
    print(HEADER)
    results = databases_run("checkins", options, run_database)
    if not results:
        return 1
    print("\nBest per database and endpoint:\n" + HEADER)
    for r in best(results):
        print(_row(r))
    for line in verdicts(results):
        print(line)
    if not options.no_doc:
        write_doc(results, options)
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
