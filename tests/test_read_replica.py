"""Dashboards, reports and exports read a real streaming replica; writes and
the pages shown right after a write stay on the primary; a stopped replica
sends the dashboards back to the primary with a warning (issue 13 item 4,
truyvet.core.db_router).

The standby is made here, once for the module: ``pg_basebackup`` of the
cluster that holds the test database (the whole cluster: the test database
comes with it), started on a free port from a temporary folder as the
``postgres`` user (PostgreSQL refuses to run as root), streaming from the
primary. The replica alias points at the test database on it. The standby
is stopped and its folder removed at the end, whatever happens.

The primary must accept replication connections from 127.0.0.1 for the
postgres role; ``.ci/allow-local-replication`` makes sure of it (CI runs it
before the PostgreSQL suite).

The tests are transactional: a standby only ever sees committed rows.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.checkins.models import CheckInMethod
from truyvet.checkins.services import checkin_record
from truyvet.core.db_router import REPLICA, replica_health
from truyvet.reports.models import GeneratedReport
from truyvet.reports.rollups import rollups_fold
from truyvet.reports.tests.conftest import register
from truyvet.venues.models import Venue, VenueType

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="a streaming replica is a PostgreSQL feature; SQLite, the "
                              "one-machine set-up, has none"),
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA]),
]

ROUTER = "truyvet.core.db_router.ReplicaRouter"
# The name the app's replica connection gives itself, to find it among the
# standby's sessions.
APPLICATION = "truyvet-replica-test"
WAIT_SECONDS = 30
# A hot standby refuses to start with less of these than its primary has.
COPIED_SETTINGS = ("max_connections", "max_worker_processes", "max_wal_senders",
                   "max_prepared_transactions", "max_locks_per_transaction")
WRITES = ("INSERT", "UPDATE", "DELETE")
REPORT_TABLES = ("reports_areaday", "reports_venueactivity", "reports_venueday")


# --- The standby -------------------------------------------------------------------------------


def _primary() -> dict[str, str]:
    params = connections[DEFAULT_DB_ALIAS].settings_dict
    return {"host": params["HOST"] or "127.0.0.1", "port": str(params["PORT"] or 5432),
            "user": params["USER"] or "postgres", "dbname": params["NAME"]}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_binaries() -> Path:
    major = connections[DEFAULT_DB_ALIAS].pg_version // 10000
    binaries = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (binaries / "pg_basebackup").exists():
        pytest.fail(f"PostgreSQL {major}'s server programs are not in {binaries} (Debian's "
                    f"postgresql-{major} package puts them there)")
    return binaries


@dataclass
class Standby:
    folder: Path
    port: int
    binaries: Path
    as_server_user: list[str]  # runs a command as the user that owns the cluster

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def run(self, *command: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the server's own programs, our arguments
            [*self.as_server_user, *command], cwd=self.folder, capture_output=True, text=True,
            timeout=timeout, check=False,
        )

    def pg_ctl(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.binaries / "pg_ctl"), "-D", str(self.data), *arguments)

    def running(self) -> bool:
        return self.pg_ctl("status").returncode == 0

    def start(self) -> None:
        started = self.pg_ctl("-l", str(self.folder / "server.log"), "-w", "-t", "60", "start")
        if started.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"the standby did not start: {started.stderr}\n{log}")
        self.wait_until("streaming from the primary",
                        "SELECT status = 'streaming' FROM pg_stat_wal_receiver")

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self.pg_ctl("-m", mode, "-w", "stop")

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A query of our own on the standby (not through the app)."""
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname=_primary()["dbname"], autocommit=True,
                             application_name="truyvet-replica-test-admin") as admin:
            return admin.execute(query, params).fetchall()

    def wait_until(self, what: str, query: str, params: tuple[Any, ...] = ()) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                if self.sql(query, params) == [(True,)]:
                    return
            except psycopg.OperationalError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the standby was not {what} after {WAIT_SECONDS} s")

    def catch_up(self) -> None:
        """Waits until the standby has replayed everything the primary has
        committed so far."""
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
            lsn = cursor.fetchone()[0]
        self.wait_until("caught up", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")


def _server_user() -> tuple[list[str], int, int]:
    """How to run the server's programs: as postgres when we are root (the
    server refuses root), else as ourselves."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root, and there is no postgres user to run the standby as")
    return ["runuser", "-u", "postgres", "--"], account.pw_uid, account.pw_gid


def _configure(standby: Standby, owner: tuple[int, int]) -> None:
    """The standby's own configuration: the base backup copies the data
    folder only (Debian keeps postgresql.conf and pg_hba.conf in /etc), and
    ``-R`` has written primary_conninfo and standby.signal into it."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        copied = {}
        for name in COPIED_SETTINGS:
            cursor.execute(f"SHOW {name}")
            copied[name] = cursor.fetchone()[0]
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(standby.port),
        "unix_socket_directories": f"'{standby.folder}'",
        "hot_standby": "on",
        "shared_buffers": "'16MB'",
        "fsync": "off",  # a throwaway copy
        # The whole text of a dashboard's queries in pg_stat_activity.
        "track_activity_query_size": "65536",
        **copied,
    }
    files = {
        "postgresql.conf": "".join(f"{key} = {value}\n" for key, value in settings.items()),
        "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        "pg_ident.conf": "",
    }
    for name, text in files.items():
        path = standby.data / name
        path.write_text(text)
        os.chown(path, *owner)


@pytest.fixture(scope="module")
def standby(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Standby]:
    """A streaming standby of the test cluster, removed after the module."""
    as_user, uid, gid = _server_user()
    with django_db_blocker.unblock():
        binaries = _server_binaries()
    folder = Path(tempfile.mkdtemp(prefix="truyvet-standby-"))
    os.chown(folder, uid, gid)
    folder.chmod(0o700)
    made = Standby(folder=folder, port=_free_port(), binaries=binaries,
                   as_server_user=as_user)
    try:
        primary = _primary()
        copied = made.run(
            str(made.binaries / "pg_basebackup"), "-h", primary["host"], "-p", primary["port"],
            "-U", primary["user"], "-D", str(made.data), "-R", "-X", "stream", "-c", "fast",
            "--no-sync",
        )
        if copied.returncode != 0:
            hint = (" Run .ci/allow-local-replication to let the primary accept replication "
                    "connections from 127.0.0.1." if "pg_hba.conf" in copied.stderr else "")
            pytest.fail(f"pg_basebackup failed: {copied.stderr.strip()}.{hint}")
        with django_db_blocker.unblock():
            _configure(made, (uid, gid))
        made.start()
        yield made
    finally:
        made.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_alias(standby: Standby) -> Iterator[str]:
    """The "replica" alias on the standby's copy of the test database, as
    settings make it from DATABASE_REPLICA_URL (a mirror under test, so the
    test framework neither creates nor flushes it)."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    connections.settings[REPLICA] = {
        **primary, "HOST": "127.0.0.1", "PORT": str(standby.port),
        "OPTIONS": {**primary["OPTIONS"], "application_name": APPLICATION},
        "TEST": {**primary["TEST"], "MIRROR": DEFAULT_DB_ALIAS},
    }
    try:
        yield REPLICA
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


@pytest.fixture(autouse=True)
def _replica_in_service(replica_alias: str, standby: Standby, settings: Any) -> Iterator[None]:
    """The router installed, the standby running and replaying, and the
    replica taken as answering, at the start of each test."""
    settings.DATABASE_ROUTERS = [ROUTER]
    # These tests follow each dashboard read to the database that serves it;
    # the page's short cache of figures (decision 0020) would answer without
    # reading, and has its own tests (reports/tests/test_dashboard_cache.py).
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 0
    if not standby.running():
        standby.start()
    standby.resume_replay()
    replica_health.reset()
    yield
    connections[REPLICA].close()
    replica_health.reset()


# --- State, built through the services ---------------------------------------------------------


@dataclass
class Town:
    market: Venue  # has visits
    shop: Venue  # never had one: inactive
    officer: Any
    scope: str  # the district's id, as in the URLs


@pytest.fixture
def town(personas: Any, media: Path) -> Town:
    units = personas.units
    market = register(personas, name="Chợ Thanh Nhật", venue_type=VenueType.MARKET,
                      commune=units.thanh_nhat, phone="0912345001")
    shop = register(personas, name="Tạp hoá Hồng Nhung", venue_type=VenueType.SHOP,
                    commune=units.thanh_nhat, phone="0912345002")
    now = timezone.now()
    for person, hours in ((personas.citizen.person, 2), (personas.other_citizen.person, 1)):
        checkin_record(venue=market, person=person, arrived_at=now - timedelta(hours=hours),
                       method=CheckInMethod.MANUAL)
    rollups_fold()  # the worker's fold, which counts the scans (decision 0022)
    return Town(market=market, shop=shop, officer=personas.district_officer,
                scope=str(units.ha_lang.pk))


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tmp_path}}}
    return tmp_path


def _period() -> dict[str, str]:
    today = timezone.localdate()
    return {"since": (today - timedelta(days=6)).isoformat(), "until": today.isoformat()}


def _sql(capture: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in capture.captured_queries]


def _mentions(queries: list[str], tables: tuple[str, ...]) -> bool:
    return any(table in query for query in queries for table in tables)


def _writes(queries: list[str]) -> list[str]:
    return [query for query in queries if query.lstrip().upper().startswith(WRITES)]


def _scans_on_dashboard(client: Client, town: Town) -> int:
    page = client.get(f"/reports/{town.scope}/", _period())
    assert page.status_code == 200
    return int(page.context["dashboard"].totals.scans)


# --- The tests -------------------------------------------------------------------------------


def test_dashboards_charts_and_exports_read_the_standby(
    client: Client, town: Town, standby: Standby
) -> None:
    standby.catch_up()
    client.force_login(town.officer)
    requests = {
        "dashboard page": (f"/reports/{town.scope}/", _period()),
        "chart": (f"/reports/{town.scope}/chart/checkins.svg", _period()),
        "API dashboard": (f"/api/v1/reports/{town.scope}/dashboard", _period()),
        "XLSX export": (f"/reports/{town.scope}/export.xlsx", _period()),
    }
    for what, (url, query) in requests.items():
        with CaptureQueriesContext(connections[REPLICA]) as on_replica, \
                CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            response = client.get(url, query)

        assert response.status_code == 200, what
        assert _mentions(_sql(on_replica), REPORT_TABLES), what
        assert not _mentions(_sql(on_primary), REPORT_TABLES), what
        assert _writes(_sql(on_replica)) == [], what
        # The standby itself ran them: the session of the app's replica
        # connection there last ran the last query Django sent to it.
        backend = connections[REPLICA].connection.info.backend_pid
        sessions = standby.sql(
            "SELECT query, datname, application_name, pg_is_in_recovery() "
            "FROM pg_stat_activity WHERE pid = %s", (backend,))
        assert sessions == [
            (_sql(on_replica)[-1], _primary()["dbname"], APPLICATION, True)], what

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert _scans_on_dashboard(client, town) == 2


def test_while_the_standby_lags_pages_shown_after_a_write_read_the_primary(
    client: Client, town: Town, standby: Standby
) -> None:
    standby.catch_up()
    client.force_login(town.officer)
    assert _scans_on_dashboard(client, town) == 2
    standby.pause_replay()
    try:
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            checkin_record(venue=town.market, person=town.officer.person,
                           arrived_at=timezone.now(), method=CheckInMethod.MANUAL)
            rollups_fold()  # counted on the primary, as the worker would
        assert _sql(on_replica) == []

        # The dashboard lags: it reads the standby, which has not replayed the visit.
        assert _scans_on_dashboard(client, town) == 2

        # Reminders sent from the inactive-venue page show on the page that follows.
        with CaptureQueriesContext(connections[REPLICA]) as on_replica, \
                CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            reminded = client.post(f"/reports/{town.scope}/inactive/",
                                   {"venue": [town.shop.code]}, follow=True)
        assert reminded.status_code == 200
        shop = next(entry for entry in reminded.context["page"].venues
                    if entry.venue.pk == town.shop.pk)
        assert (shop.reminders, shop.last_reminded_on) == (1, timezone.localdate())
        assert _sql(on_replica) == []
        assert any("reports_venuereminder" in query for query in _writes(_sql(on_primary)))

        # A report file made on the files page is listed on the page that follows.
        with CaptureQueriesContext(connections[REPLICA]) as on_replica, \
                CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            made = client.post(f"/reports/{town.scope}/files/",
                               {"action": "generate", "file_format": "xlsx", **_period()},
                               follow=True)
        assert made.status_code == 200
        assert [report.pk for report in made.context["reports"]] == list(
            GeneratedReport.objects.values_list("pk", flat=True)) != []
        assert _mentions(_sql(on_replica), REPORT_TABLES)  # the file's figures
        assert _writes(_sql(on_replica)) == []
        assert any("reports_generatedreport" in query for query in _writes(_sql(on_primary)))
    finally:
        standby.resume_replay()

    standby.catch_up()
    assert _scans_on_dashboard(client, town) == 3


def test_a_stopped_standby_sends_dashboards_to_the_primary_with_a_warning(
    client: Client, town: Town, standby: Standby, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    standby.catch_up()
    client.force_login(town.officer)
    assert _scans_on_dashboard(client, town) == 2  # through the replica's connection
    assert connections[REPLICA].connection is not None

    standby.stop()
    with caplog.at_level(logging.WARNING, logger="truyvet.core.db_router"), \
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        assert _scans_on_dashboard(client, town) == 2

    assert _mentions(_sql(on_primary), REPORT_TABLES)
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in warnings] == ["truyvet.core.db_router"]
    assert "The read replica did not answer" in warnings[0].getMessage()

    # Within the retry window the replica is not tried again: no connection
    # attempt, no second warning.
    attempts: list[int] = []
    replica = connections[REPLICA]
    real_connect = replica.get_new_connection
    monkeypatch.setattr(replica, "get_new_connection",
                        lambda params: attempts.append(1) or real_connect(params))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="truyvet.core.db_router"):
        assert _scans_on_dashboard(client, town) == 2
        assert client.get(f"/reports/{town.scope}/export.csv",
                          {"table": "days", **_period()}).status_code == 200
    assert attempts == []
    assert caplog.records == []
