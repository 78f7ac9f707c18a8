"""Load suite (``make loadtest``, issue 7 item 5): many concurrent clients
send check-ins to several app instances sharing one PostgreSQL, retrying
as real clients do, and afterwards the database holds exactly the
acknowledged check-ins, none twice.

    python -m bench loadtest                      # 1,000,000 check-ins, 200 clients, 2 instances
    python -m bench loadtest --checkins 20000 --clients 20 --instances 2   # a quick try
    python -m bench loadtest --keep-db            # leave the database for a look afterwards

What it does:

1. creates a fresh PostgreSQL database (``truyvet_loadtest_<random>``) and
   seeds it in a child process, as ``python -m bench checkins`` does:
   ``migrate`` (so it runs whatever the check-in migrations are now),
   ``truyvet synth`` venues and people, one controller per client at a venue
   of its own, people with personal QRs and citizens with bearer tokens;
2. starts ``--instances`` gunicorn instances on 127.0.0.1 (``truyvet
   serve``'s arguments; ``DEBUG=0``; the check-in rate limits off, since one
   load generator stands in for thousands of phones);
3. runs ``--clients`` asyncio clients, each a controller's device on a
   keep-alive connection to instance ``client % instances``. Most requests
   are offline-queue uploads (``POST /checkins/batch`` of 50-100 personal-QR
   scans with client UUIDs); some are single scans (``/checkins/staff-scan``
   and citizens' ``/checkins/scan``). A request that times out, loses its
   connection or gets a 5xx is sent again, with the same ids, to the next
   instance (as a reverse proxy would), after ``Retry-After`` when given;
   a small share of batches is deliberately sent a second time to another
   instance after it was answered, and must come back entirely as
   duplicates;
4. verifies, straight from the database: the check-in ids equal the
   acknowledged ids (none missing, none that was never acknowledged), no
   visit is stored twice (every scan is of a person at a venue more than
   the longest dwell time away from their other scans there, so each is
   a visit of its own), no merge receipts (each visit has its own
   created receipt), and no 5xx answers at all;
5. drops the database (``--keep-db`` keeps it).

Every figure printed comes from this run: requests and check-ins acked,
p50/p99 per request kind, throughput, status counts, and the verification.
The load generator shares the machine's cores with the servers and the
database; its CPU share is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.serving import (
    DEFAULT_POSTGRES_URL,
    RESULTS,
    ROOT,
    Connection,
    Response,
    Server,
    ServerConfig,
    http_request,
    machine,
    percentile,
    postgres_create,
    postgres_drop,
    server_env,
)

KINDS = ("batch", "staff-scan", "scan")
# Scans of one person at one venue are one slot apart: more than the venue's
# dwell time plus the merge window plus the jitter, so that none merges into
# another or checks the person out, and each is a visit of its own: rows must
# equal acknowledged ids. The seed gives the controllers' venues a dwell time
# of VENUE_DWELL_MINUTES (a checkpoint's), so a person has SLOTS slots in the
# window; the seed makes enough people for the run's check-ins from that.
VENUE_DWELL_MINUTES = 60
MERGE_MINUTES = 30  # settings.CHECKIN_MERGE_MINUTES's default; the seed reports the real one
JITTER_MINUTES = 25
WINDOW = timedelta(days=19, hours=12)  # inside the 21-day retention


def slot_length(merge_minutes: int = MERGE_MINUTES) -> timedelta:
    return timedelta(minutes=VENUE_DWELL_MINUTES + merge_minutes + JITTER_MINUTES + 5)


def slot_count(merge_minutes: int = MERGE_MINUTES) -> int:
    """Distinct times per person at one venue: 234 with the defaults."""
    return int(WINDOW / slot_length(merge_minutes))


SLOT = slot_length()
SLOTS = slot_count()


# --- Seeding (child process) ---------------------------------------------------------


def seed(options: argparse.Namespace) -> dict[str, Any]:
    """``bench.checkin_http.seed`` (migrate, synth, accounts, tokens) plus
    each controller's venue QR, for the citizens' scans at that venue."""
    from bench.checkin_http import seed as checkin_seed

    data = checkin_seed(argparse.Namespace(
        database_url=options.database_url, venues=options.venues, people=options.people,
        citizens=options.citizens, qrs=options.qrs, controllers=options.controllers,
        background=0,
    ))
    from django.conf import settings

    from truyvet.checkins.models import CheckIn, ScanReceipt
    from truyvet.venues.models import Venue
    from truyvet.venues.qr import venue_qr_payload

    codes = [c["venue"] for c in data["controllers"]]
    # A checkpoint's dwell time at every controller's venue, so that a person
    # can be scanned there every ``slot_length()`` (see SLOTS).
    Venue.objects.filter(code__in=codes).update(dwell_minutes=VENUE_DWELL_MINUTES)
    venues = {v.code: v for v in Venue.objects.filter(code__in=codes)}
    data["merge_minutes"] = int(settings.CHECKIN_MERGE_MINUTES)
    for controller in data["controllers"]:
        controller["venue_qr"] = venue_qr_payload(venues[controller["venue"]])
    data["tables"] = {"checkin": CheckIn._meta.db_table, "receipt": ScanReceipt._meta.db_table}
    return data


@dataclass(frozen=True)
class SeedSizes:
    """How many of each the seed makes for a run of ``checkins`` over
    ``clients``: citizens (with bearer tokens), people with personal QRs,
    and people in all."""

    citizens: int
    qrs: int
    people: int


def seed_sizes(*, clients: int, checkins: int, merge_minutes: int = MERGE_MINUTES) -> SeedSizes:
    """Enough people with personal QRs that each client scans people of its
    own (as each venue has its own visitors) and has ``checkins / clients``
    distinct (person, time) scans, each person taking ``slot_count()``
    scans, with a quarter to spare for clients that get ahead of the others."""
    citizens = max(2 * clients, 50)
    qrs = max(3000, int(checkins / slot_count(merge_minutes) * 1.25) + clients)
    return SeedSizes(citizens=citizens, qrs=qrs, people=citizens + qrs + 500)


def seed_database(database_url: str, *, clients: int, checkins: int, env: dict[str, str],
                  out: Path) -> dict[str, Any]:
    """Migrates and seeds the database for ``checkins`` over ``clients``
    (``seed_sizes``), in a child process; returns what the clients need."""
    sizes = seed_sizes(clients=clients, checkins=checkins)
    subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-m", "bench.loadtest", "seed", "--database-url", database_url,
         "--out", str(out), "--venues", str(max(300, clients + 50)),
         "--people", str(sizes.people), "--citizens", str(sizes.citizens),
         "--qrs", str(sizes.qrs), "--controllers", str(clients)],
        check=True, cwd=ROOT, env=env,
    )
    data: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return data


# --- The load --------------------------------------------------------------------------


@dataclass
class Stats:
    acked: set[int] = field(default_factory=set)  # uuid.int of acknowledged scans
    rejected: dict[int, str] = field(default_factory=dict)  # uuid.int -> code
    statuses: Counter[int] = field(default_factory=Counter)  # every answer, retries included
    status_by_kind: dict[str, Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    requests: Counter[str] = field(default_factory=Counter)  # logical requests completed
    attempts: int = 0
    retries: int = 0
    transport_errors: Counter[str] = field(default_factory=Counter)
    duplicates_answered: int = 0  # items answered "duplicate" (retries, re-sends)
    resends: int = 0
    resend_mismatches: int = 0  # a deliberate re-send not answered entirely as duplicates
    retry_after_missing: int = 0  # 503s without Retry-After
    samples: dict[str, str] = field(default_factory=dict)  # first body per unusual status
    scheduled: int = 0
    stale_reconnects: int = 0  # idle keep-alive connections found closed, resent at once
    unresolved: int = 0  # scans never answered within give_up_after (the client gave up)
    exhausted: int = 0  # clients that stopped early, out of distinct (person, time) slots

    @property
    def five_xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@dataclass
class Client:
    """One controller's device: its venue, its token, its own sequence of
    (person, time) so that no two scans of the whole run meet."""

    index: int
    controller: dict[str, Any]
    qrs: list[str]
    citizens: list[str]
    start: datetime
    rng: random.Random
    next_qr: int = 0
    next_citizen: int = 0
    quota: int | None = None  # check-ins this client still has to send (None: no limit)
    slot: timedelta = SLOT
    slots: int = SLOTS

    def _time(self, slot: int) -> str:
        at = self.start + slot * self.slot + timedelta(minutes=self.rng.uniform(0, JITTER_MINUTES))
        return at.isoformat()

    @property
    def staff_left(self) -> int:
        """Distinct (person, time) scans this client can still make."""
        return self.slots * len(self.qrs) - self.next_qr

    def staff_item(self) -> dict[str, Any]:
        slot, position = divmod(self.next_qr, len(self.qrs))
        if slot >= self.slots:  # _next_call claims no more than staff_left
            raise RuntimeError("client ran out of distinct (person, time) slots")
        self.next_qr += 1
        return {"id": str(uuid.uuid4()), "venue": self.controller["venue"],
                "payload": self.qrs[position], "scanned_at": self._time(slot)}

    def citizen_scan(self) -> tuple[dict[str, Any], str] | None:
        if not self.citizens:
            return None
        slot, position = divmod(self.next_citizen, len(self.citizens))
        if slot >= self.slots:
            return None
        self.next_citizen += 1
        return ({"id": str(uuid.uuid4()), "venue": self.controller["venue_qr"],
                 "scanned_at": self._time(slot)}, self.citizens[position])


@dataclass
class Call:
    kind: str
    request: bytes
    ids: list[str]


class Load:
    """Clients sending ``total`` check-ins to the instances on ``ports``;
    ``ports`` may be changed while running (a restarted instance keeps its
    port, so it never needs to be)."""

    def __init__(self, data: dict[str, Any], ports: list[int], *, total: int, clients: int,
                 batch_min: int = 50, batch_max: int = 100, single_share: float = 0.05,
                 resend_share: float = 0.02, timeout: float = 60.0, seed: int | None = None,
                 max_retry_after: float = 5.0, give_up_after: float = 600.0) -> None:
        self.data, self.ports, self.total = data, ports, total
        self.batch_min, self.batch_max = batch_min, batch_max
        self.single_share, self.resend_share = single_share, resend_share
        self.timeout, self.max_retry_after = timeout, max_retry_after
        self.give_up_after = give_up_after
        self.stats = Stats()
        self.started = 0.0
        self.finished = 0.0
        self.active = 0.0  # seconds spent in run(), over every call
        self.running = False
        self.stop_after: float | None = None  # seconds; None: until ``total`` is sent
        master = random.Random(seed if seed is not None else secrets.randbits(32))  # noqa: S311 - load, not security
        controllers = data["controllers"]
        if clients > len(controllers):
            raise SystemExit(f"seeded {len(controllers)} controllers for {clients} clients")
        start = datetime.now(UTC) - timedelta(days=20)
        merge = int(data.get("merge_minutes", MERGE_MINUTES))
        slot, slots = slot_length(merge), slot_count(merge)
        citizens = data["citizens"]
        per_client = max(1, len(citizens) // clients)
        # People of its own per client when there are enough, so that the
        # clients' transactions do not queue on each other's person locks.
        everyone = data["personal_qrs"]
        need = total / clients * 1.1
        own_people = ([everyone[i::clients] for i in range(clients)]
                      if len(everyone) // clients * slots >= need else None)
        self.clients = []
        for index in range(clients):
            rng = random.Random(master.getrandbits(32))  # noqa: S311 - load, not security
            qrs = list(own_people[index] if own_people else data["personal_qrs"])
            rng.shuffle(qrs)
            self.clients.append(Client(
                index=index, controller=controllers[index], qrs=qrs,
                citizens=citizens[index * per_client:(index + 1) * per_client],
                start=start, rng=rng, slot=slot, slots=slots,
            ))
        if total > 0:
            # Each client sends its share: taking work from a common pool, the
            # clients that happened to be answered faster ran out of their
            # distinct (person, time) slots.
            base, extra = divmod(total, clients)
            for client in self.clients:
                client.quota = base + (1 if client.index < extra else 0)
        capacity = slots * min(len(c.qrs) for c in self.clients)
        if total / clients > capacity:
            raise SystemExit(f"{total:,} check-ins over {clients} clients needs more than "
                             f"{capacity:,} distinct scans per client; add clients")

    def spare_client(self, scans: int) -> Client:
        """The client with the most distinct (person, time) scans left, for
        probes sent beside the load (faulttest's read-only phase); it must
        have ``scans`` left, or this says so rather than reusing a slot."""
        client = max(self.clients, key=lambda candidate: candidate.staff_left)
        if client.staff_left < scans:
            raise RuntimeError(f"no client has {scans} distinct (person, time) scans left "
                               f"(at most {client.staff_left}); seed more people")
        return client

    # -- requests --

    def _claim(self, client: Client, wanted: int, *, staff: bool = False) -> int:
        left = self.total - self.stats.scheduled
        if client.quota is not None:
            left = min(left, client.quota)
        if staff:
            if client.staff_left <= 0:
                # A time-bound run (faulttest) outlasted the people seeded for
                # it: this client stops; the report says so.
                if client.quota != 0:
                    self.stats.exhausted += 1
                    client.quota = 0
                return 0
            left = min(left, client.staff_left)
        if left <= 0:
            return 0
        if self.stop_after is not None and time.monotonic() - self.started > self.stop_after:
            return 0
        got = min(wanted, left)
        self.stats.scheduled += got
        if client.quota is not None:
            client.quota -= got
        return got

    def _next_call(self, client: Client) -> Call | None:
        roll = client.rng.random()
        if roll < self.single_share / 2:
            made = client.citizen_scan()
            if made is not None and self._claim(client, 1):
                body, token = made
                return Call("scan", http_request("POST", "/api/v1/checkins/scan", body, token),
                            [body["id"]])
        if roll < self.single_share:
            if not self._claim(client, 1, staff=True):
                return None
            item = client.staff_item()
            return Call("staff-scan", http_request(
                "POST", "/api/v1/checkins/staff-scan", item, client.controller["token"]),
                [item["id"]])
        size = self._claim(client, client.rng.randint(self.batch_min, self.batch_max),
                           staff=True)
        if not size:
            return None
        items = [{**client.staff_item(), "kind": "staff_scan"} for _item in range(size)]
        return Call("batch", http_request("POST", "/api/v1/checkins/batch", {"items": items},
                                          client.controller["token"]), [i["id"] for i in items])

    async def _send(self, connections: list[Connection], first: int,
                    call: Call) -> Response | None:
        """Sends ``call`` until it gets an answer that is not a 5xx, moving to
        the next instance after a failure; None after ``give_up_after``
        seconds without one."""
        target = first
        delay = 0.2
        deadline = time.monotonic() + self.give_up_after
        while True:
            if time.monotonic() > deadline:
                self.stats.unresolved += len(call.ids)
                return None
            connection = connections[target % len(connections)]
            self.stats.attempts += 1
            started = time.perf_counter()
            try:
                response = await connection.send(call.request, self.timeout)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                self.stats.transport_errors[type(exc).__name__] += 1
                self.stats.retries += 1
                target += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            elapsed = time.perf_counter() - started
            self.stats.statuses[response.status] += 1
            self.stats.status_by_kind[call.kind][response.status] += 1
            if response.status >= 500 or response.status == 429:
                self.stats.samples.setdefault(
                    str(response.status), response.body[:300].decode(errors="replace"))
                retry_after = response.headers.get("retry-after")
                if response.status == 503 and retry_after is None:
                    self.stats.retry_after_missing += 1
                self.stats.retries += 1
                target += 1
                wait = float(retry_after) if retry_after else delay
                await asyncio.sleep(min(wait, self.max_retry_after) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
                delay = min(delay * 2, 2.0)
                continue
            self.stats.latencies[call.kind].append(elapsed)
            return response

    def _record(self, call: Call, response: Response) -> int:
        """Acks from ``response``; returns how many items were answered as
        duplicates."""
        stats = self.stats
        stats.requests[call.kind] += 1
        if response.status >= 400:
            code = ""
            try:
                code = json.loads(response.body).get("code", "")
            except ValueError:
                pass
            stats.samples.setdefault(str(response.status), response.body[:300].decode(
                errors="replace"))
            for item_id in call.ids:
                stats.rejected[uuid.UUID(item_id).int] = code or str(response.status)
            return 0
        body = json.loads(response.body)
        if call.kind != "batch":
            stats.acked.add(uuid.UUID(call.ids[0]).int)
            return int(bool(body.get("duplicate")))
        duplicates = 0
        for result in body["results"]:
            key = uuid.UUID(result["id"]).int
            if result["ok"]:
                stats.acked.add(key)
                duplicates += bool(result["duplicate"])
            else:
                stats.rejected[key] = result.get("code") or "rejected"
                stats.samples.setdefault(f"item:{result.get('code')}", result.get("error", ""))
        return duplicates

    async def _client(self, client: Client) -> None:
        ports = self.ports
        connections = [Connection(port) for port in ports]
        home = client.index % len(ports)
        try:
            while True:
                call = self._next_call(client)
                if call is None:
                    return
                response = await self._send(connections, home, call)
                if response is None:
                    continue
                duplicates = self._record(call, response)
                self.stats.duplicates_answered += duplicates
                if (call.kind == "batch" and response.status == 200
                        and client.rng.random() < self.resend_share):
                    # The device did not see the answer and sends the queue
                    # again, through the other instance.
                    self.stats.resends += 1
                    again = await self._send(connections, home + 1, call)
                    if again is None:
                        continue
                    before = len(self.stats.acked)
                    repeated = self._record(call, again)
                    self.stats.requests[call.kind] -= 1  # same logical upload
                    self.stats.duplicates_answered += repeated
                    if (again.status != 200 or repeated != len(call.ids)
                            or len(self.stats.acked) != before):
                        self.stats.resend_mismatches += 1
        finally:
            for connection in connections:
                self.stats.stale_reconnects += connection.stale
                connection.close()

    async def run(self, progress: bool = True) -> None:
        """Sends until ``total`` check-ins were sent (or ``stop_after``
        seconds); may be called again after raising ``total``, the clients
        going on with their own sequences."""
        self.started = time.monotonic()
        self.running = True
        reporter = asyncio.create_task(self._progress()) if progress else None
        try:
            await asyncio.gather(*(self._client(c) for c in self.clients))
        finally:
            self.finished = time.monotonic()
            self.running = False
            self.active += self.finished - self.started
            if reporter is not None:
                reporter.cancel()
                print(flush=True)

    def progress_line(self) -> str:
        stats = self.stats
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (f"[{elapsed:6.0f} s] acked {len(stats.acked):>10,} / {self.total:,} "
                f"({len(stats.acked) / elapsed:,.0f}/s)  requests {sum(stats.requests.values()):,}"
                f"  retries {stats.retries:,}  5xx {stats.five_xx:,}  "
                f"load1 {os.getloadavg()[0]:.1f}")

    async def _progress(self) -> None:
        tty = sys.stdout.isatty()
        while True:
            await asyncio.sleep(2 if tty else 15)
            if tty:
                print("\r" + self.progress_line(), end="", flush=True)
            else:
                print(self.progress_line(), flush=True)

    # -- results --

    @property
    def wall(self) -> float:
        return self.active + (time.monotonic() - self.started if self.running else 0.0)

    def latency_rows(self) -> list[tuple[str, int, float, float]]:
        return [
            (kind, self.stats.requests[kind], percentile(self.stats.latencies[kind], 0.5) * 1000,
             percentile(self.stats.latencies[kind], 0.99) * 1000)
            for kind in KINDS if self.stats.latencies[kind]
        ]


# --- Verification ---------------------------------------------------------------------------


@dataclass
class Verdict:
    rows: int
    acked: int
    missing: int  # acknowledged, not in the database
    unacknowledged: int  # in the database, never acknowledged
    duplicate_visits: int
    receipts: int  # of merges or check-outs: none expected, every scan is a visit of its own
    rejected_stored: int
    # Since decision 0013 every scan that made a visit leaves a CREATED
    # receipt (the retry's key): one per stored visit.
    created_receipts: int = 0

    @property
    def ok(self) -> bool:
        return (self.rows == self.acked and not self.missing and not self.unacknowledged
                and not self.duplicate_visits and not self.receipts
                and not self.rejected_stored and self.created_receipts == self.rows)

    def lines(self) -> list[str]:
        return [
            f"database check-in rows:     {self.rows:,}",
            f"acknowledged ids:           {self.acked:,}",
            f"acknowledged but missing:   {self.missing:,}",
            f"stored, never acknowledged: {self.unacknowledged:,}",
            f"duplicate visits:           {self.duplicate_visits:,}",
            f"merge receipts:             {self.receipts:,}",
            f"visits' created receipts:   {self.created_receipts:,}",
            f"rejected but stored:        {self.rejected_stored:,}",
        ]


def verify(database_url: str, tables: dict[str, str], stats: Stats) -> Verdict:
    """Compares the database with what the clients were told, id by id."""
    import psycopg
    from psycopg import sql

    checkin, receipt = sql.Identifier(tables["checkin"]), sql.Identifier(tables["receipt"])
    stored: set[int] = set()
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.cursor().copy(sql.SQL("COPY (SELECT id FROM {}) TO STDOUT").format(
                checkin)) as copy:
            for row in copy.rows():
                stored.add(uuid.UUID(row[0]).int)
        duplicate_visits = _scalar(conn, sql.SQL(
            "SELECT count(*) - count(DISTINCT (person_id, venue_id, arrived_at)) FROM {}"
        ).format(checkin))
        receipts = _scalar(conn, sql.SQL(
            "SELECT count(*) FILTER (WHERE outcome <> 'created'),"
            " count(*) FILTER (WHERE outcome = 'created' AND checkin_id = id) FROM {}"
        ).format(receipt), columns=2)
    return Verdict(
        rows=len(stored), acked=len(stats.acked), missing=len(stats.acked - stored),
        unacknowledged=len(stored - stats.acked), duplicate_visits=int(duplicate_visits),
        receipts=int(receipts[0]), created_receipts=int(receipts[1]),
        rejected_stored=sum(1 for key in stats.rejected if key in stored),
    )


# --- Reporting ------------------------------------------------------------------------------


def report(load: Load, *, header: list[str], verdict: Verdict | None,
           client_cpu: float) -> list[str]:
    stats = load.stats
    lines = [*header]
    lines.append(f"wall time: {load.wall:,.1f} s; load generator CPU: "
                 f"{client_cpu / max(load.wall, 1e-9):.0%} of one core")
    lines.append(f"check-ins acked: {len(stats.acked):,} of {stats.scheduled:,} sent "
                 f"({len(stats.acked) / load.wall:,.0f}/s); rejected items: "
                 f"{len(stats.rejected):,}"
                 + (f" ({', '.join(f'{c}: {n}' for c, n in Counter(stats.rejected.values()).most_common(5))})"  # noqa: E501
                    if stats.rejected else ""))
    total_requests = sum(stats.requests.values())
    lines.append(f"requests: {total_requests:,} ({', '.join(f'{k} {stats.requests[k]:,}' for k in KINDS)})"  # noqa: E501
                 f", {total_requests / load.wall:,.1f}/s; attempts {stats.attempts:,}, "
                 f"retries {stats.retries:,}, deliberate re-sends {stats.resends:,} "
                 f"({stats.resend_mismatches} not answered entirely as duplicates), "
                 f"items answered as duplicates {stats.duplicates_answered:,}"
                 + (f"; NEVER ANSWERED (client gave up): {stats.unresolved:,} scans"
                    if stats.unresolved else "")
                 + (f"; {stats.exhausted} client(s) stopped early, out of distinct "
                    f"(person, time) slots" if stats.exhausted else ""))
    lines.append("statuses: " + ", ".join(f"{s}: {n:,}" for s, n in sorted(stats.statuses.items()))
                 + (f"; transport errors: {dict(stats.transport_errors)}"
                    if stats.transport_errors else "")
                 + (f"; idle keep-alive connections reopened: {stats.stale_reconnects:,}"
                    if stats.stale_reconnects else ""))
    lines.append(f"5xx answers: {stats.five_xx:,}"
                 + (f" (503 without Retry-After: {stats.retry_after_missing})"
                    if stats.statuses.get(503) else ""))
    lines.append("| Request | Count | p50 ms | p99 ms |")
    lines.append("|---|---:|---:|---:|")
    for kind, count, p50, p99 in load.latency_rows():
        lines.append(f"| {kind} | {count:,} | {p50:,.1f} | {p99:,.1f} |")
    for status, sample in stats.samples.items():
        lines.append(f"first {status} body: {sample[:200]}")
    if verdict is not None:
        lines += verdict.lines()
    return lines


def describe_machine() -> str:
    info = machine()
    return (f"machine: {info['cpus']} CPUs; {info['cpu']}; RAM {info['ram']}; "
            f"Python {info['python']}")


def _scalar(conn: Any, query: Any, columns: int = 1) -> Any:
    """The one value an aggregate query returns (or the row of ``columns``
    values)."""
    row = conn.execute(query).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {query!r}")
    return row[0] if columns == 1 else tuple(row)


def postgres_version(database_url: str) -> str:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return str(_scalar(conn, "SHOW server_version")).split(" ")[0]


# --- Command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "seed"])
    parser.add_argument("--checkins", type=int, default=1_000_000,
                        help="check-ins to send in all (default 1,000,000)")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients (200)")
    parser.add_argument("--instances", type=int, default=2, help="gunicorn instances (2)")
    parser.add_argument("--server", type=ServerConfig.parse, default=ServerConfig(2, 4),
                        help="each instance: sync:N or gthread:NxT (default gthread:2x4)")
    parser.add_argument("--batch-min", type=int, default=50)
    parser.add_argument("--batch-max", type=int, default=100)
    parser.add_argument("--single-share", type=float, default=0.05,
                        help="share of requests that are single scans (0.05)")
    parser.add_argument("--resend-share", type=float, default=0.02,
                        help="share of answered batches deliberately sent again (0.02)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before a client gives up on an answer and retries")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--no-progress", action="store_true")
    # seed (child process)
    parser.add_argument("--database-url")
    parser.add_argument("--out")
    parser.add_argument("--venues", type=int, default=300)
    parser.add_argument("--people", type=int, default=4000)
    parser.add_argument("--citizens", type=int, default=400)
    parser.add_argument("--qrs", type=int, default=3000)
    parser.add_argument("--controllers", type=int, default=200)
    return parser


def run(options: argparse.Namespace) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    name, url = postgres_create(options.postgres_url, prefix="truyvet_loadtest")
    servers: list[Server] = []
    try:
        print(f"loadtest: database {name}; seeding ...", flush=True)
        data = seed_database(url, clients=options.clients, checkins=options.checkins,
                             env=server_env(url),
                             out=RESULTS / f"loadtest-seed-{name}.json")
        print(f"loadtest: seeded in {data['seconds']} s ({len(data['controllers'])} "
              f"controllers at their venues, {len(data['personal_qrs']):,} personal QRs, "
              f"{len(data['citizens']):,} citizens)", flush=True)
        log = RESULTS / "loadtest-server.log"
        log.unlink(missing_ok=True)
        for _index in range(options.instances):
            servers.append(Server(options.server, url, log, access_log=False))
        print(f"loadtest: {options.instances} instance(s), {options.server.label} each, on "
              f"ports {', '.join(str(s.port) for s in servers)}; {options.clients} clients "
              f"sending {options.checkins:,} check-ins", flush=True)
        load = Load(data, [s.port for s in servers], total=options.checkins,
                    clients=options.clients, batch_min=options.batch_min,
                    batch_max=options.batch_max, single_share=options.single_share,
                    resend_share=options.resend_share, timeout=options.timeout)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        asyncio.run(load.run(progress=not options.no_progress))
        after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
        load_after = os.getloadavg()
        for server in servers:
            server.stop()
        servers.clear()
        verdict = verify(url, data["tables"], load.stats)
        header = [
            "== Load test",
            describe_machine(),
            f"PostgreSQL {postgres_version(url)}; {options.instances} gunicorn instance(s), "
            f"{options.server.label} each; {options.clients} clients; batches of "
            f"{options.batch_min}-{options.batch_max} items, {options.single_share:.0%} single "
            f"scans, {options.resend_share:.0%} of batches re-sent",
            f"load average (1 min) before: {load_before[0]:.2f}, after: {load_after[0]:.2f}",
        ]
        lines = report(load, header=header, verdict=verdict, client_cpu=client_cpu)
        passed = verdict.ok and load.stats.five_xx == 0 and not load.stats.resend_mismatches \
            and len(load.stats.acked) == options.checkins and not load.stats.unresolved
        lines.append(f"RESULT: {'PASS' if passed else 'FAIL'} (rows == acked ids, no duplicates, "
                     "no 5xx, every re-sent batch answered as duplicates, every check-in acked)")
        print("\n".join(lines), flush=True)
        (RESULTS / "loadtest-last.txt").write_text("\n".join(lines) + "\n")
        return 0 if passed else 1
    finally:
        for server in servers:
            server.stop()
        if options.keep_db:
            print(f"loadtest: kept database {name} ({url})")
        else:
            postgres_drop(options.postgres_url, name)


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.command == "seed":
        Path(options.out).write_text(json.dumps(seed(options)))
        return 0
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    return run(options)


if __name__ == "__main__":
    raise SystemExit(main())
