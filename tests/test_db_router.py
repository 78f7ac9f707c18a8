"""Dashboard and report reads go to the read replica when one is configured
(truyvet.core.db_router); writes, migrations and other reads stay on the
primary; a replica that does not answer sends them to the primary with a
warning.

The replica here is a second connection to the test database (what Django's
TEST MIRROR does). A read through it sees only committed rows, so these tests
read the administrative units the session loaded, outside any test
transaction, and roll back what they write. tests/test_read_replica.py runs
the same routing against a real streaming standby on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet import testing
from truyvet.core import db_router
from truyvet.core.db_router import (
    REPLICA,
    ReplicaRouter,
    replica_health,
    reporting_db,
    reporting_read,
)
from truyvet.places.models import AdministrativeUnit
from truyvet.reports.models import AreaDay
from truyvet.reports.selectors import Scope, dashboard_build, inactive_venues_all

ROOT = Path(__file__).resolve().parent.parent
ROUTER = "truyvet.core.db_router.ReplicaRouter"
WARNING = "The read replica did not answer"


@pytest.fixture(autouse=True)
def _replica_answering() -> Iterator[None]:
    """Each test starts with the replica taken as answering (the state is
    per process)."""
    replica_health.reset()
    yield
    replica_health.reset()


def _add_replica(settings: Any, **changes: Any) -> None:
    name = str(connections[DEFAULT_DB_ALIAS].settings_dict["NAME"])
    # pytest-django sets up the test database only for a session that has a
    # test asking for it (the first test below does): never the real one.
    assert name.startswith("test_") or "mode=memory" in name, f"not a test database: {name}"
    connections.settings[REPLICA] = {
        **connections[DEFAULT_DB_ALIAS].settings_dict, "TEST": {"MIRROR": DEFAULT_DB_ALIAS},
        **changes,
    }
    settings.DATABASE_ROUTERS = [ROUTER]


def _remove_replica() -> None:
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture
def replica(django_db_setup: Any, django_db_blocker: Any, settings: Any) -> Iterator[str]:
    """A "replica" alias on the test database, and the router installed, as
    settings make them from DATABASE_REPLICA_URL."""
    _add_replica(settings)
    with django_db_blocker.unblock():
        try:
            yield REPLICA
        finally:
            _remove_replica()


def _unreachable(tmp_path: Path) -> dict[str, Any]:
    """Settings that point the replica alias at a database that cannot be
    opened: a closed local port, or an SQLite file in a missing folder."""
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return {"HOST": "127.0.0.1", "PORT": str(port)}
    return {"NAME": str(tmp_path / "absent" / "replica.sqlite3")}


@pytest.fixture
def dead_replica(
    django_db_setup: Any, django_db_blocker: Any, settings: Any, tmp_path: Path
) -> Iterator[str]:
    """A configured replica that does not answer."""
    _add_replica(settings, **_unreachable(tmp_path))
    with django_db_blocker.unblock():
        try:
            yield REPLICA
        finally:
            _remove_replica()


@pytest.fixture
def units(replica: str) -> testing.TestUnits:
    return testing.ensure_test_units()


def _after_the_retry_window(monkeypatch: pytest.MonkeyPatch) -> None:
    later = replica_health.clock() + db_router.REPLICA_RETRY_SECONDS + 1
    monkeypatch.setattr(replica_health, "clock", lambda: later)


def _period() -> tuple[Any, Any]:
    today = timezone.localdate()
    return today - timedelta(days=6), today


def test_without_a_replica_dashboards_read_the_primary(db: Any) -> None:
    assert reporting_db() == DEFAULT_DB_ALIAS
    assert reporting_read(lambda using: using) == DEFAULT_DB_ALIAS


def test_the_dashboard_is_read_from_the_replica_and_not_the_primary(
    replica: str, units: testing.TestUnits
) -> None:
    since, until = _period()
    with CaptureQueriesContext(connections[REPLICA]) as on_replica, \
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        board = dashboard_build(scope=Scope(unit=units.ha_lang), since=since, until=until)

    assert "Thị trấn Thanh Nhật" in [row.unit.name for row in board.units]
    assert all(row.unit._state.db == REPLICA for row in board.units)
    tables = " ".join(query["sql"] for query in on_replica.captured_queries)
    assert "reports_areaday" in tables and "venues_venue" in tables
    assert on_primary.captured_queries == []


def test_an_exports_inactive_venue_list_is_read_from_the_replica(
    replica: str, units: testing.TestUnits
) -> None:
    with CaptureQueriesContext(connections[REPLICA]) as on_replica, \
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        inactive_venues_all(Scope(unit=units.ha_lang))

    assert any("venues_venue" in query["sql"] for query in on_replica.captured_queries)
    assert on_primary.captured_queries == []


def test_other_reads_go_to_the_primary_even_with_a_replica(
    replica: str, units: testing.TestUnits
) -> None:
    assert router.db_for_read(AdministrativeUnit) == DEFAULT_DB_ALIAS
    assert router.db_for_read(AreaDay) == DEFAULT_DB_ALIAS
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        AdministrativeUnit.objects.get(pk=units.ha_lang.pk)
    assert on_replica.captured_queries == []


def test_writes_always_go_to_the_primary(replica: str, units: testing.TestUnits) -> None:
    assert router.db_for_write(AreaDay) == DEFAULT_DB_ALIAS
    assert router.db_for_write(AdministrativeUnit) == DEFAULT_DB_ALIAS

    unit = AdministrativeUnit.objects.using(reporting_db()).get(pk=units.an_lac.pk)
    assert unit._state.db == REPLICA
    with transaction.atomic():
        unit.name = "Xã An Lạc (sửa)"
        with CaptureQueriesContext(connections[REPLICA]) as on_replica, \
                CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            unit.save(update_fields=["name"])
        transaction.set_rollback(True)
    assert on_replica.captured_queries == []
    assert [q for q in on_primary.captured_queries if q["sql"].startswith("UPDATE")]


def test_inside_a_transaction_reads_stay_on_the_primary_to_see_its_own_writes(
    replica: str,
) -> None:
    with transaction.atomic():
        assert reporting_db() == DEFAULT_DB_ALIAS
        assert reporting_read(lambda using: using) == DEFAULT_DB_ALIAS
    assert reporting_db() == REPLICA


def test_migrations_never_run_on_the_replica() -> None:
    assert ReplicaRouter().allow_migrate(REPLICA, "checkins") is False
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "checkins") is True


def test_a_replica_that_does_not_answer_sends_the_dashboard_to_the_primary_with_a_warning(
    dead_replica: str, caplog: pytest.LogCaptureFixture
) -> None:
    units = testing.ensure_test_units()
    since, until = _period()
    with caplog.at_level(logging.WARNING, logger="truyvet.core.db_router"), \
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        board = dashboard_build(scope=Scope(unit=units.ha_lang), since=since, until=until)

    assert "Thị trấn Thanh Nhật" in [row.unit.name for row in board.units]
    assert any("reports_areaday" in query["sql"] for query in on_primary.captured_queries)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and WARNING in warnings[0].getMessage()
    assert reporting_db() == DEFAULT_DB_ALIAS


def test_while_the_replica_is_out_it_is_not_tried_again_until_the_retry_window_ends(
    dead_replica: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []
    replica = connections[REPLICA]
    real_connect = replica.get_new_connection

    def counted(params: Any) -> Any:
        attempts.append(REPLICA)
        return real_connect(params)

    monkeypatch.setattr(replica, "get_new_connection", counted)
    read = lambda using: AdministrativeUnit.objects.using(using).count()  # noqa: E731
    with caplog.at_level(logging.WARNING, logger="truyvet.core.db_router"):
        first = reporting_read(read)
        second = reporting_read(read)
        third = reporting_read(read)
        assert len(attempts) == 1  # one failed attempt, then straight to the primary

        _after_the_retry_window(monkeypatch)
        fourth = reporting_read(read)

    assert first == second == third == fourth > 0
    assert len(attempts) == 2  # tried again once the window had passed
    assert sum(WARNING in r.getMessage() for r in caplog.records) == 2


def test_once_the_window_has_passed_a_replica_that_answers_again_is_used_again(
    replica: str, units: testing.TestUnits, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replica_health.mark_down(OperationalError("connection refused"))
    assert reporting_read(lambda using: using) == DEFAULT_DB_ALIAS

    _after_the_retry_window(monkeypatch)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="truyvet.core.db_router"):
        assert reporting_read(
            lambda using: AdministrativeUnit.objects.using(using).get(pk=units.ha_lang.pk)
        )._state.db == REPLICA
    assert [r.getMessage() for r in caplog.records if r.name == "truyvet.core.db_router"] == [
        "The read replica answers again; dashboard and report reads use it."]


def test_an_error_of_the_read_itself_on_a_working_replica_is_raised_not_hidden(
    replica: str, units: testing.TestUnits
) -> None:
    def read(using: str) -> None:
        assert AdministrativeUnit.objects.using(using).exists()
        raise OperationalError("canceling statement due to conflict with recovery")

    with pytest.raises(OperationalError, match="conflict with recovery"):
        reporting_read(read)
    assert not replica_health.is_down()
    assert reporting_db() == REPLICA


def _settings_in_a_fresh_process(**environ: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({'aliases': sorted(settings.DATABASES), "
        "'routers': list(getattr(settings, 'DATABASE_ROUTERS', [])), "
        "'replica': settings.DATABASES.get('replica', {}).get('NAME'), "
        "'mirror': settings.DATABASES.get('replica', {}).get('TEST', {}).get('MIRROR')}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env |= {"DJANGO_SETTINGS_MODULE": "truyvet.settings", **environ}
    return subprocess.run(  # noqa: S603 - our own interpreter and settings
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )


def test_database_replica_url_adds_the_replica_alias_and_the_router(tmp_path: Path) -> None:
    done = _settings_in_a_fresh_process(
        DATABASE_URL=f"sqlite:///{tmp_path / 'primary.sqlite3'}",
        DATABASE_REPLICA_URL=f"sqlite:///{tmp_path / 'replica.sqlite3'}",
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {
        "aliases": ["default", "replica"], "routers": [ROUTER],
        "replica": str(tmp_path / "replica.sqlite3"), "mirror": "default",
    }

    without = json.loads(_settings_in_a_fresh_process(
        DATABASE_URL=f"sqlite:///{tmp_path / 'primary.sqlite3'}"
    ).stdout)
    assert without["aliases"] == ["default"] and without["routers"] == []


def test_a_replica_on_another_engine_stops_start_up(tmp_path: Path) -> None:
    done = _settings_in_a_fresh_process(
        DATABASE_URL=f"sqlite:///{tmp_path / 'primary.sqlite3'}",
        DATABASE_REPLICA_URL="postgres://reader@10.0.0.12:5432/truyvet",
    )
    assert done.returncode != 0
    assert "DATABASE_REPLICA_URL must use the same database engine" in done.stderr
