"""Dashboard and report reads go to the read replica when one is configured
(truyvet.core.db_router); writes, migrations and other reads stay on the
primary.

The replica here is a second connection to the test database (what Django's
TEST MIRROR does). A read through it sees only committed rows, so these tests
read the administrative units the session loaded, outside any test
transaction, and roll back what they write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from truyvet import testing
from truyvet.core.db_router import REPLICA, ReplicaRouter, reporting_db
from truyvet.places.models import AdministrativeUnit

ROOT = Path(__file__).resolve().parent.parent
ROUTER = "truyvet.core.db_router.ReplicaRouter"


class Rollup:
    """Stands for a rollup model that declares its reads replica-safe."""

    replica_reads = True


@pytest.fixture
def replica(django_db_setup: Any, django_db_blocker: Any, settings: Any) -> Iterator[str]:
    """A "replica" alias on the test database, and the router installed, as
    settings make them from DATABASE_REPLICA_URL."""
    name = str(connections[DEFAULT_DB_ALIAS].settings_dict["NAME"])
    # pytest-django sets up the test database only for a session that has a
    # test asking for it (the first test below does): never the real one.
    assert name.startswith("test_") or "mode=memory" in name, f"not a test database: {name}"
    connections.settings[REPLICA] = {
        **connections[DEFAULT_DB_ALIAS].settings_dict, "TEST": {"MIRROR": DEFAULT_DB_ALIAS},
    }
    settings.DATABASE_ROUTERS = [ROUTER]
    with django_db_blocker.unblock():
        try:
            yield REPLICA
        finally:
            connections[REPLICA].close()
            del connections[REPLICA]
            del connections.settings[REPLICA]


@pytest.fixture
def units(replica: str) -> testing.TestUnits:
    return testing.ensure_test_units()


def test_without_a_replica_dashboards_read_the_primary(db: Any) -> None:
    assert reporting_db() == DEFAULT_DB_ALIAS
    assert ReplicaRouter().db_for_read(Rollup) == DEFAULT_DB_ALIAS


def test_a_dashboard_selector_using_reporting_db_reads_the_replica(
    replica: str, units: testing.TestUnits
) -> None:
    with CaptureQueriesContext(connections[REPLICA]) as on_replica, \
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        names = list(
            AdministrativeUnit.objects.using(reporting_db())
            .filter(parent=units.ha_lang).values_list("name", flat=True)
        )

    assert "Thị trấn Thanh Nhật" in names
    assert len(on_replica.captured_queries) == 1
    assert on_primary.captured_queries == []


def test_reads_of_a_model_marked_replica_reads_are_routed_to_the_replica(
    replica: str, units: testing.TestUnits, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AdministrativeUnit, "replica_reads", True, raising=False)

    assert router.db_for_read(AdministrativeUnit) == REPLICA
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert AdministrativeUnit.objects.get(pk=units.ha_lang.pk).name == "Huyện Hạ Lang"
    assert len(on_replica.captured_queries) == 1


def test_other_models_are_read_from_the_primary_even_with_a_replica(
    replica: str, units: testing.TestUnits
) -> None:
    assert router.db_for_read(AdministrativeUnit) == DEFAULT_DB_ALIAS
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        AdministrativeUnit.objects.get(pk=units.ha_lang.pk)
    assert on_replica.captured_queries == []


def test_writes_always_go_to_the_primary(replica: str, units: testing.TestUnits) -> None:
    assert router.db_for_write(Rollup) == DEFAULT_DB_ALIAS
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
        assert router.db_for_read(Rollup) == DEFAULT_DB_ALIAS
    assert reporting_db() == REPLICA


def test_migrations_never_run_on_the_replica() -> None:
    assert ReplicaRouter().allow_migrate(REPLICA, "checkins") is False
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "checkins") is True


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
