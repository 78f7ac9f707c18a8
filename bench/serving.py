"""What the benchmarks and the load and fault suites share: the real server
(gunicorn with ``truyvet serve``'s arguments) started on 127.0.0.1 with
keys from the environment and the check-in rate limits off, a minimal
keep-alive HTTP/1.1 client for asyncio (no dependency, cheap enough that
one process can drive the server), fresh PostgreSQL databases, and the
machine's description for the reports.
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
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "bench"
DOC = ROOT / "docs" / "performance.md"
HOST = "127.0.0.1"  # load goes to this machine only
DEFAULT_POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


# --- HTTP -----------------------------------------------------------------------------------


def http_request(method: str, path: str, body: Any = None, token: str = "",
                 headers: dict[str, str] | None = None) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive) to ``HOST``."""
    data = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


@dataclass
class Response:
    status: int
    close: bool
    body: bytes
    headers: dict[str, str]


async def read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, close = 0, False
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _sep, value = line.partition(b":")
        key = name.strip().lower().decode("latin-1")
        if not key:
            continue
        headers[key] = value.strip().decode("latin-1")
        if key == "content-length":
            length = int(value)
        elif key == "connection" and value.strip().lower() == b"close":
            close = True
    if headers.get("transfer-encoding", "").lower() == "chunked":
        # A WSGI app without Content-Length (the lean reference has no
        # middleware to add one) is sent chunked by gunicorn.
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
        return Response(status, close, b"".join(parts), headers)
    body = await reader.readexactly(length) if length else b""
    return Response(status, close, body, headers)


class Connection:
    """One keep-alive connection to ``port``, reopened as needed (a sync
    worker closes it after every response; a killed server drops it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0
        self.stale = 0  # kept-alive connections the server had closed meanwhile

    async def send(self, request: bytes, timeout: float) -> Response:
        """Raises OSError, asyncio.IncompleteReadError or TimeoutError on a
        transport failure (the connection is then closed). A kept-alive
        connection that fails is retried once on a new one, as HTTP clients
        do: the server may have closed it while it was idle."""
        reused = self.writer is not None
        try:
            return await self._send_once(request, timeout)
        except (OSError, asyncio.IncompleteReadError):
            if not reused:
                raise
            self.stale += 1
            return await self._send_once(request, timeout)

    async def _send_once(self, request: bytes, timeout: float) -> Response:
        try:
            if self.writer is None or self.reader is None:
                self.reader, self.writer = await asyncio.wait_for(
                    asyncio.open_connection(HOST, self.port), timeout)
                self.opened += 1
            self.writer.write(request)
            response = await asyncio.wait_for(read_response(self.reader), timeout)
        except BaseException:
            self.close()
            raise
        if response.close:
            self.close()
        return response

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --- Load -----------------------------------------------------------------------------------

# The next request to send and how many items (check-ins, scans) it carries.
RequestMaker = Callable[[], tuple[bytes, int]]


@dataclass
class Tally:
    """What the clients of one run saw: latency per answered request,
    answers per status (-1 for a transport failure), items accepted,
    connections opened, and the first failure's text."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    checkins: int = 0
    connections: int = 0
    sample_error: str = ""


async def keepalive_client(port: int, make: RequestMaker, deadline: float, budget: list[int],
                           tally: Tally, *, interval: float = 0.0,
                           accepted: Callable[[bytes], int] | None = None) -> None:
    """One client on one keep-alive connection (reopened when the server
    closes it) until ``deadline`` or until the shared ``budget`` of requests
    is spent: a request, its answer, then the next one ``interval`` seconds
    after the previous one started (at once when 0: back to back; the first
    after a random part of it, so clients do not start in step).
    ``accepted`` reads how many items a 2xx answer took (a batch's); by
    default the items the request carried."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    if interval:
        await asyncio.sleep(random.uniform(0, interval))  # noqa: S311 - spread the starts
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        request, items = make()
        began = time.perf_counter()
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection(HOST, port)
                tally.connections += 1
            started = time.perf_counter()
            writer.write(request)
            response = await read_response(reader)
            tally.latencies.append(time.perf_counter() - started)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            tally.statuses[-1] += 1
            tally.sample_error = tally.sample_error or repr(exc)
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        tally.statuses[response.status] += 1
        if 200 <= response.status < 300:
            tally.checkins += accepted(response.body) if accepted else items
        elif not tally.sample_error:
            tally.sample_error = (f"{response.status}: "
                                  f"{response.body[:300].decode(errors='replace')}")
        if response.close:
            writer.close()
            reader = writer = None
        pause = interval - (time.perf_counter() - began)
        if pause > 0:
            await asyncio.sleep(pause)
    if writer is not None:
        writer.close()


def load_run(port: int, make: RequestMaker, *, clients: int, seconds: float, max_requests: int,
             interval: float = 0.0,
             accepted: Callable[[bytes], int] | None = None) -> tuple[Tally, float, float]:
    """``clients`` concurrent ``keepalive_client``s for ``seconds`` (at most
    ``max_requests`` requests in all): the tally, the wall time and the CPU
    seconds this process used."""
    tally = Tally()
    budget = [max_requests]

    async def run() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(
            keepalive_client(port, make, deadline, budget, tally, interval=interval,
                             accepted=accepted)
            for _index in range(clients)))

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    asyncio.run(run())
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return tally, wall, (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)


# --- The server -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    workers: int
    threads: int

    @classmethod
    def parse(cls, text: str) -> ServerConfig:
        kind, _sep, size = text.partition(":")
        if kind == "sync":
            return cls(workers=int(size), threads=1)
        if kind == "gthread":
            workers, _x, threads = size.partition("x")
            return cls(workers=int(workers), threads=int(threads or 4))
        raise argparse.ArgumentTypeError(f"unknown server configuration {text!r}")

    @property
    def label(self) -> str:
        if self.threads == 1:
            return f"sync × {self.workers}"
        return f"gthread {self.workers} × {self.threads}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bench_keys() -> dict[str, str]:
    """Fresh keys for one run, set as production sets them (from the
    environment, not from files under ./var), shared by the seeder and the
    server."""
    import base64

    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "QR_SIGNING_KEYS": f"b1:{secrets.token_urlsafe(32)}",
        "PERSONAL_QR_PRIVATE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


KEYS = bench_keys()


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server (and of its seeder): production mode,
    this run's keys, and the check-in rate limits off (one load generator
    stands in for thousands of phones)."""
    env = dict(os.environ)
    env.update(KEYS)
    env.update({
        "DATABASE_URL": database_url, "DEBUG": "0", "LOG_LEVEL": "WARNING",
        "CHECKIN_RATELIMIT_IP_PER_MINUTE": "0", "CHECKIN_RATELIMIT_USER_PER_MINUTE": "0",
        "CHECKIN_RATELIMIT_STAFF_PER_MINUTE": "0",
    })
    env.update(extra)
    return env


class Server:
    """gunicorn with ``truyvet serve``'s arguments but the given workers and
    threads (sync workers when threads is 1), on ``port`` (a free one by
    default). ``env`` overrides ``server_env(database_url)``."""

    ready_path = "/api/v1/health"  # answers 200 once a worker serves

    def __init__(self, config: ServerConfig, database_url: str, log: Path, *,
                 port: int | None = None, env: dict[str, str] | None = None,
                 access_log: bool = True, extra_args: list[str] | None = None) -> None:
        self.config, self.port = config, port or free_port()
        self.log = log.open("ab")
        self.database_url = database_url
        self.env = env or server_env(database_url)
        self.access_log = access_log
        self.extra_args = extra_args or []
        self.process = self._start()
        self._wait_ready()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own server
            [sys.executable, "-m", "gunicorn", "truyvet.wsgi:application",
             "--bind", f"{HOST}:{self.port}", "--workers", str(self.config.workers),
             "--threads", str(self.config.threads),
             *(["--access-logfile", "-"] if self.access_log else []),
             "--graceful-timeout", "20", "--backlog", "2048", *self.extra_args],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}; "
                                 f"see {self.log.name}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as sock:
                    sock.sendall(http_request("GET", self.ready_path))
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        if len(self.workers()) >= self.config.workers:
                            return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("the server did not come up within 90 s")

    def workers(self) -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def worker_rss_mib(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return sizes

    def cpu_seconds(self) -> float:
        """User + system time of the workers so far."""
        return cpu_of(self.workers())

    def kill9(self) -> list[int]:
        """SIGKILL to the master and every worker at once, as a crash or the
        OOM killer would: nothing is finished, nothing is flushed. Returns
        the pids killed."""
        pids = [*self.workers(), self.process.pid]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        return pids

    def restart(self) -> None:
        """A new server on the same port, as a supervisor would start it."""
        self.process = self._start()
        self._wait_ready()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- Measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GranianConfig(ServerConfig):
    """granian (a Rust HTTP server) with ``workers`` processes of ``threads``
    blocking threads each, as ``truyvet serve`` would run it with
    ``SERVER=granian``."""

    @property
    def label(self) -> str:
        return f"granian {self.workers} × {self.threads}"


def server_config(text: str) -> ServerConfig:
    """``sync:N``, ``gthread:NxT`` (gunicorn) or ``granian:NxT``."""
    kind, _sep, size = text.partition(":")
    if kind == "granian":
        workers, _x, threads = size.partition("x")
        return GranianConfig(workers=int(workers), threads=int(threads or 4))
    return ServerConfig.parse(text)


def granian_command(config: ServerConfig, app: str, port: int, access_log: bool) -> list[str]:
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", HOST,
            "--port", str(port), "--workers", str(config.workers),
            "--blocking-threads", str(config.threads), "--backlog", "2048",
            "--access-log" if access_log else "--no-access-log", app]


class GranianServer(Server):
    """The project under granian, with ``truyvet serve``'s environment."""

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own server
            granian_command(self.config, "truyvet.wsgi:application", self.port,
                             self.access_log),
            cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log,
        )


def make_server(config: ServerConfig, url: str, log: Path) -> Server:
    return (GranianServer if isinstance(config, GranianConfig) else Server)(config, url, log)


def percentile(values: list[float], share: float) -> float:
    """The sample at rank ``share`` of the sorted values (nearest rank on
    0..n-1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def cpu_of(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine() -> dict[str, str]:
    """The machine for the reports: CPUs, CPU model, RAM, Python, OS."""
    import platform

    cpu, ram = "unknown", "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {"cpus": str(os.cpu_count()), "cpu": cpu, "ram": ram,
            "python": platform.python_version(), "os": platform.platform()}


def performance_section_write(heading: str, section: str) -> None:
    """Puts ``section`` in docs/performance.md in place of the one that starts
    with ``heading`` (up to the next "## "), or at the end; each benchmark
    owns its section and leaves the others as they are."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else (
        "# Performance\n\nMeasured numbers behind the quality bars in the brief (§6). "
        "Each section is written by its benchmark under `bench/`.\n\n"
    )
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def django_setup(database_url: str) -> None:
    """Django in this process against ``database_url``, configured as served
    (DEBUG off, so no SQL is kept per query), for a benchmark's child process."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "truyvet.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DEBUG"] = "false"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def analyze() -> None:
    """Planner statistics, and on PostgreSQL the visibility map that lets
    index-only scans skip the table (autovacuum's job in production)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- Command line ------------------------------------------------------------------------------


def comma_list(text: str) -> list[str]:
    """``"a, b,"`` as ``["a", "b"]``, for list options."""
    return [part.strip() for part in text.split(",") if part.strip()]


def bench_parser(prog: str, description: str | None,
                 commands: tuple[str, ...] = ("all", "seed")) -> argparse.ArgumentParser:
    """The arguments every HTTP benchmark takes: the command (``all`` to
    measure; ``seed`` for the child process that fills a database, with
    ``--database-url`` and ``--out``), ``--postgres-url`` and ``--no-doc``."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all", choices=list(commands))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--database-url", help="seed: the database to fill")
    parser.add_argument("--out", help="seed: where to write what was made (JSON)")
    return parser


def databases_run(
    name: str, options: argparse.Namespace,
    run_database: Callable[[str, argparse.Namespace], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """``run_database`` for each of ``options.databases`` (PostgreSQL is
    skipped, and said so, when its server does not answer); the results are
    also kept in ``var/bench/<name>-last.json``. A SIGTERM exits through the
    benchmark's ``finally`` blocks, so a stopped run still stops its server
    and drops its database."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    results: list[dict[str, Any]] = []
    for vendor in options.databases:
        if vendor == "postgresql" and not postgres_reachable(options.postgres_url):
            print(f"{name}: PostgreSQL at {options.postgres_url} is not reachable; skipped",
                  file=sys.stderr)
            continue
        results += run_database(vendor, options)
    if results:
        (RESULTS / f"{name}-last.json").write_text(json.dumps(results, indent=2))
    return results


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_create(server_url: str, prefix: str = "truyvet_bench_checkins") -> tuple[str, str]:
    """A new empty database ``<prefix>_<random>``; returns its name and URL."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"{server_url.rstrip('/')}/{name}"


def postgres_database(server_url: str, name: str, template: str | None = None) -> str:
    """``name`` on the server, created when missing (a copy of ``template``
    when given), so a benchmark reuses the data it seeded before; its URL."""
    import psycopg

    with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
    return f"{server_url.rstrip('/')}/{name}"


def postgres_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable(server_url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(server_url.rstrip("/") + "/postgres", connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False
