"""CPU per item of the batch endpoint, in process (issue 18): what one
offline queue costs the app and the database, without the HTTP server and
the load generator sharing the cores.

    python -m bench batchcpu                                # 500 and 5,000 items, PostgreSQL
    python -m bench batchcpu --sizes 500 --repeats 20
    python -m bench batchcpu --database-url postgres://postgres@127.0.0.1:5432/mine --keep

A fresh PostgreSQL database is seeded as ``python -m bench checkins`` seeds
it (a Hạ Lang-sized district, 100,000 past check-ins, controllers at venues,
3,000 people with personal QRs), unless ``--database-url`` names one seeded
by an earlier ``--keep`` run (the keys are then read from ``--keys``). Then
queues of ``--sizes`` staff scans of random personal QRs (times within the
last hour, as the HTTP bench sends them) are posted through Django's test
client with a controller's bearer token: the whole request (authentication,
parsing, the service, the answer), as a served request runs it. A queue
larger than the endpoint's limit (``BATCH_MAX_ITEMS``) is posted as that
many requests one after the other.

Per size it prints the app's CPU per item (this process's user + system
time), the database's (the PostgreSQL backend serving this process, read
from /proc), the statements per request, and the personal QR signature
cache's hit rate during the measured requests. The first request of each
size is a warm-up and is not counted. The 1-minute load average is printed
before and after: a busy machine inflates even CPU times.

The verdict compares app + database CPU per item with what 50,000
check-ins/s on 2 cores leaves (40 µs an item for everything, the HTTP
server and a load generator included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.serving import (
    KEYS,
    RESULTS,
    cpu_of,
    django_setup,
    postgres_create,
    postgres_drop,
    server_env,
)

TARGET_PER_S = 50_000
CORES = 2
BUDGET_US = CORES * 1e6 / TARGET_PER_S  # 40 µs of CPU per item, everything included


def _items(rng: random.Random, venue: str, qrs: list[str], size: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {"id": str(uuid.uuid4()), "kind": "staff_scan", "venue": venue,
         "payload": rng.choice(qrs),
         "scanned_at": (now - timedelta(seconds=rng.uniform(0, 3600))).isoformat()}
        for _item in range(size)
    ]


def _seed(url: str, keys_path: Path) -> dict[str, Any]:
    out = RESULTS / f"batchcpu-{uuid.uuid4().hex[:8]}.json"
    subprocess.run(  # noqa: S603 - this benchmark's own seeder
        [sys.executable, "-m", "bench", "checkins", "seed", "--database-url", url,
         "--out", str(out)],
        check=True, env=server_env(url),
    )
    data: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    data["keys"] = KEYS
    keys_path.write_text(json.dumps(data))
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench batchcpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--database-url", help="a database seeded by an earlier --keep run")
    parser.add_argument("--keys", type=Path, default=None,
                        help="what the seeding made (default var/bench/batchcpu-seed.json)")
    parser.add_argument("--keep", action="store_true", help="keep the database made")
    parser.add_argument("--seed-only", action="store_true",
                        help="seed a database, keep it and stop (compare code on copies of it)")
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--repeats", type=int, default=8, help="measured requests per size")
    parser.add_argument("--profile", help="write a cProfile of the measured requests here")
    parser.add_argument("--statements", action="store_true",
                        help="print the statements of the measured requests by wall time")
    options = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    keys_path = options.keys or RESULTS / "batchcpu-seed.json"
    name = ""
    if options.database_url:
        url = options.database_url
        data = json.loads(keys_path.read_text())
    else:
        name, url = postgres_create(options.postgres_url, prefix="truyvet_bench_batchcpu")
    try:
        if not options.database_url:
            data = _seed(url, keys_path)
        if options.seed_only:
            return 0
        return _measure(url, data, options)
    finally:
        if name and not (options.keep or options.seed_only):
            postgres_drop(options.postgres_url, name)
        elif name:
            print(f"kept {url} (seed in {keys_path})")


def _measure(url: str, data: dict[str, Any], options: argparse.Namespace) -> int:
    os.environ.update(data["keys"])
    for limit in ("IP", "USER", "STAFF"):
        os.environ[f"CHECKIN_RATELIMIT_{limit}_PER_MINUTE"] = "0"
    django_setup(url)
    from django.db import connection
    from django.test import Client

    from truyvet.checkins.personal_qr import personal_qr_signature_cache_info
    from truyvet.checkins.services.batch import BATCH_MAX_ITEMS

    rng = random.Random(18)  # noqa: S311 - a fixed mix
    client = Client()
    controller = data["controllers"][0]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {controller['token']}"}
    statements = [0]
    timings: dict[str, list[float]] = {}

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = timings.setdefault(" ".join(sql.split())[:110], [0, 0.0])
            spent[0] += 1
            spent[1] += time.perf_counter() - started

    def post(items: list[dict[str, Any]]) -> int:
        accepted = 0
        for start in range(0, len(items), BATCH_MAX_ITEMS):
            response = client.post("/api/v1/checkins/batch",
                                   {"items": items[start:start + BATCH_MAX_ITEMS]},
                                   content_type="application/json", **headers)
            if response.status_code != 200:
                raise SystemExit(f"batch answered {response.status_code}: "
                                 f"{response.content[:300]!r}")
            accepted += response.json()["accepted"]
        return accepted

    print(f"batchcpu: load average {os.getloadavg()[0]:.2f} before; {url.rsplit('/', 1)[-1]}")
    profiler = None
    if options.profile:
        import cProfile

        profiler = cProfile.Profile()
    worst = 0.0
    for size in (int(s) for s in options.sizes.split(",")):
        post(_items(rng, controller["venue"], data["personal_qrs"], size))  # warm-up
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = int(cursor.fetchone()[0])
        hits0, misses0, _size = personal_qr_signature_cache_info()
        app = db = wall = 0.0
        accepted = 0
        statements[0] = 0
        for _repeat in range(options.repeats):
            items = _items(rng, controller["venue"], data["personal_qrs"], size)
            db0, app0, wall0 = cpu_of([backend]), time.process_time(), time.perf_counter()
            with connection.execute_wrapper(count):
                if profiler is not None:
                    profiler.enable()
                accepted += post(items)
                if profiler is not None:
                    profiler.disable()
            app += time.process_time() - app0
            wall += time.perf_counter() - wall0
            db += cpu_of([backend]) - db0
        hits, misses, _size = personal_qr_signature_cache_info()
        items_done = size * options.repeats
        requests = options.repeats * -(-size // BATCH_MAX_ITEMS)
        per_item = (app + db) / items_done * 1e6
        worst = max(worst, per_item)
        looked = (hits - hits0) + (misses - misses0)
        print(f"{size:>6,} items × {options.repeats}: app {app / items_done * 1e6:7.1f} µs/item, "
              f"db {db / items_done * 1e6:6.1f} µs/item, wall {wall / items_done * 1e6:7.1f} "
              f"µs/item, {statements[0] / requests:.1f} statements/request, "
              f"{accepted:,}/{items_done:,} accepted, signature cache hit rate "
              f"{(hits - hits0) / looked if looked else 0:.1%}")
    if profiler is not None:
        profiler.dump_stats(options.profile)
    if options.statements:
        for sql, (calls, spent) in sorted(timings.items(), key=lambda kv: -kv[1][1])[:25]:
            print(f"{spent * 1e3:9.1f} ms {int(calls):5d}× {sql}")
    print(f"batchcpu: load average {os.getloadavg()[0]:.2f} after")
    verdict = "meets" if worst <= BUDGET_US else f"misses by {worst / BUDGET_US:.1f}×"
    print(f"verdict: app + db CPU {worst:.1f} µs/item against {BUDGET_US:.0f} µs/item "
          f"(≥ {TARGET_PER_S:,}/s on {CORES} cores, HTTP and load generator included): "
          f"{verdict}")
    return 0
