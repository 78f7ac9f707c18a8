"""Shared test set-up: a cheap password hasher, SMS kept in memory, Cao Bằng's
administrative units loaded once, and the named personas of truyvet.testing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import transaction
from django.utils import translation

from truyvet.core import sms

# Browser fixtures (Playwright + Debian's chromium) for any app's tests.
pytest_plugins = ["truyvet.testing_browser"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    from truyvet.testing import ensure_test_units

    with django_db_blocker.unblock():
        ensure_test_units()


@pytest.fixture(autouse=True)
def _fast_and_offline(settings: Any) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SMS_BACKEND = "memory"
    sms.outbox.clear()
    # In-process caches of the scan hot paths (decisions 0013, 0015): a test's
    # rolled-back venues and tokens must not be found by the next one.
    from truyvet.accounts.backends import token_cache_forget
    from truyvet.certificates.status_selectors import colour_rules_cache_clear
    from truyvet.places.cache import units_cache_clear
    from truyvet.places.levels import commune_levels_cache_clear
    from truyvet.venues.qr import venue_qr_cache_clear

    token_cache_forget()
    venue_qr_cache_clear()
    units_cache_clear()
    commune_levels_cache_clear()
    colour_rules_cache_clear()
    # The test client leaves the last request's language active on the
    # thread; every test starts from the default, Vietnamese.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _rate_limit_counters_do_not_outlive_a_committing_test(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """Transactional and live-server tests commit for real, and the flush
    after them empties model tables only, not the database cache table that
    holds rate-limit counters. Without this, limits counted by one such test
    (staff invitations to a persona's phone, say) refuse the next one."""
    yield
    marker = request.node.get_closest_marker("django_db")
    commits = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if commits:
        cache = caches["default"]
        if isinstance(cache, DatabaseCache):  # Redis tests use their own database
            cache.clear()


@pytest.fixture(autouse=True)
def _on_commit_runs_when_a_service_commits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside a test's wrapping transaction nothing ever commits, so SMS that
    services send with ``transaction.on_commit`` would never go out. Here a
    service's outermost atomic block counts as the commit it would be in
    production: its hooks run when it exits cleanly, and are dropped with it
    when it rolls back (Django already discards those of a rolled-back
    savepoint)."""
    original_exit = transaction.Atomic.__exit__

    def exit_and_run_hooks(self: Any, exc_type: Any, exc: Any, tb: Any) -> Any:
        result = original_exit(self, exc_type, exc, tb)
        connection = transaction.get_connection(self.using)
        if exc_type is None and all(b._from_testcase for b in connection.atomic_blocks):
            pending, connection.run_on_commit = connection.run_on_commit, []
            for _savepoints, hook, _robust in pending:
                hook()
        return result

    monkeypatch.setattr(transaction.Atomic, "__exit__", exit_and_run_hooks)
    yield


@pytest.fixture
def units(db: Any) -> Any:
    from truyvet.testing import ensure_test_units

    return ensure_test_units()


@pytest.fixture
def personas(units: Any) -> Any:
    from truyvet.testing import Personas

    return Personas.create(units)
