"""Rate limits that parallel requests raced past (issue 12, lows).

The attack: 24 parallel wrong passwords for one phone were each checked
(11 in all) against a limit of 5, and OTP guesses raced past their limit
of 5: the count was read before the check and written after it, so every
request in flight saw the same old count. Now each attempt takes its slot
atomically before the password or code is compared.

The first two tests interleave deterministically, on any database: more
attempts arrive while the first one's password (or code) is being
checked. The others race real threads, against PostgreSQL (the database
cache and the code rows) and against Redis.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections

from truyvet.accounts import services
from truyvet.accounts.models import OtpPurpose
from truyvet.accounts.services import PersonInput, account_create, otp_request
from truyvet.core.errors import ServiceError
from truyvet.testing import PASSWORD

PHONE = "+84987000555"
WRONG = "not-the-password"
PARALLEL = 16
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def account(db: Any) -> Any:
    return account_create(phone=PHONE, password=PASSWORD,
                          person=PersonInput(full_name="Đinh Văn Khoá"))


def _outcome(attempt: Callable[[], Any]) -> str:
    try:
        attempt()
    except ServiceError as exc:
        return str(exc.status)
    return "ok"


class CountingChecks:
    """Wraps the expensive check (a password hash, a code's digest): counts
    how often it really ran, and widens the race window the way argon2's
    hashing time did in production."""

    def __init__(self, original: Callable[..., Any], delay: float = 0.0) -> None:
        self.original, self.delay, self.calls = original, delay, 0
        self.during: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            during, self.during = self.during, None
        if during is not None:
            during()  # requests that arrive while this check runs
        time.sleep(self.delay)
        return self.original(*args, **kwargs)


# --- In flight: more attempts arrive while one is being checked --------------------------


def test_passwords_tried_while_one_is_checked_still_count_against_the_limit(
    account: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import django.contrib.auth

    checks = CountingChecks(django.contrib.auth.authenticate)
    monkeypatch.setattr(django.contrib.auth, "authenticate", checks)
    answers: list[str] = []
    checks.during = lambda: answers.extend(
        _outcome(lambda: services.account_login(phone=PHONE, password=WRONG))
        for _ in range(10)
    )

    answers.append(_outcome(lambda: services.account_login(phone=PHONE, password=WRONG)))

    assert checks.calls == settings.LOGIN_MAX_FAILURES
    assert Counter(answers) == {"401": settings.LOGIN_MAX_FAILURES,
                                "429": 11 - settings.LOGIN_MAX_FAILURES}


def test_codes_guessed_while_one_is_checked_still_count_against_the_limit(
    db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    otp_request(phone=PHONE, purpose=OtpPurpose.REGISTER)
    checks = CountingChecks(services._otp_digest)
    monkeypatch.setattr(services, "_otp_digest", checks)

    def guess() -> str:
        return _outcome(lambda: services.otp_verify(
            phone=PHONE, purpose=OtpPurpose.REGISTER, code="000000"))

    answers: list[str] = []
    checks.during = lambda: answers.extend(guess() for _ in range(10))
    answers.append(guess())

    assert checks.calls == settings.OTP_MAX_ATTEMPTS


# --- Real threads ---------------------------------------------------------------------


def _in_parallel(attempt: Callable[[], str], count: int = PARALLEL) -> list[str]:
    """Runs ``attempt`` in ``count`` threads released at the same instant,
    each with its own database connection (as separate requests have)."""
    barrier = threading.Barrier(count)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome = attempt()
            with lock:
                results.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _parallel_wrong_passwords(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import django.contrib.auth

    account_create(phone=PHONE, password=PASSWORD, person=PersonInput(full_name="Đinh Văn Khoá"))
    checks = CountingChecks(django.contrib.auth.authenticate, delay=0.05)
    monkeypatch.setattr(django.contrib.auth, "authenticate", checks)

    answers = _in_parallel(lambda: _outcome(
        lambda: services.account_login(phone=PHONE, password=WRONG)))

    assert len(answers) == PARALLEL
    assert checks.calls == settings.LOGIN_MAX_FAILURES, Counter(answers)
    assert Counter(answers) == {"401": settings.LOGIN_MAX_FAILURES,
                                "429": PARALLEL - settings.LOGIN_MAX_FAILURES}


needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="parallel writers need PostgreSQL (SQLite is the one-machine set-up, where "
           "its write lock serialises every request anyway)",
)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_meet_the_limit_in_the_database_cache(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _parallel_wrong_passwords(settings, monkeypatch)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_code_guesses_meet_the_limit(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    otp_request(phone=PHONE, purpose=OtpPurpose.REGISTER)
    checks = CountingChecks(services._otp_digest, delay=0.05)
    monkeypatch.setattr(services, "_otp_digest", checks)

    answers = _in_parallel(lambda: _outcome(lambda: services.otp_verify(
        phone=PHONE, purpose=OtpPurpose.REGISTER, code="000000")))

    assert len(answers) == PARALLEL
    assert checks.calls == settings.OTP_MAX_ATTEMPTS, Counter(answers)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[None]:
    """The shared cache in Redis (test database 15, keys of this test only)."""
    if not _redis_answers():
        message = "Redis is not answering on 127.0.0.1:6379 (start it: docs/deploy.md)"
        if os.environ.get("TRUYVET_REQUIRE_REDIS") == "1":  # set in CI
            pytest.fail(message)
        pytest.skip(message)
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_TEST_URL, "KEY_PREFIX": f"race-{uuid.uuid4().hex}",
    }}
    yield


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_meet_the_limit_in_redis(
    redis_cache: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _parallel_wrong_passwords(settings, monkeypatch)


def test_a_parallel_burst_on_redis_allows_exactly_the_limit(redis_cache: None) -> None:
    from truyvet.core import ratelimit

    key = f"burst-{uuid.uuid4().hex}"
    answers = _in_parallel(
        lambda: str(ratelimit.hit(key, limit=5, window_seconds=3600)[0]), count=24)

    assert Counter(answers) == {"True": 5, "False": 19}


def test_a_parallel_burst_of_two_key_hits_on_redis_allows_exactly_the_limit(
    redis_cache: None,
) -> None:
    """``hit_many`` (a check-in's per-address and per-account limits, one
    round trip): each key's limit holds as ``hit``'s does."""
    from truyvet.core import ratelimit

    address, account = f"ip-{uuid.uuid4().hex}", f"user-{uuid.uuid4().hex}"
    answers = _in_parallel(lambda: str(ratelimit.hit_many(
        [(address, 50), (account, 5)], window_seconds=3600)[0]), count=24)

    assert Counter(answers) == {"None": 5, account: 19}
    assert ratelimit.peek(address, window_seconds=3600) == 24
    assert ratelimit.peek(account, window_seconds=3600) == 24


def test_two_keys_cost_one_round_trip_to_redis(
    redis_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from truyvet.core import ratelimit

    sent: list[str] = []
    single = redis.Redis.execute_command
    batched = redis.client.Pipeline.execute
    monkeypatch.setattr(redis.Redis, "execute_command",
                        lambda self, *args, **kw: sent.append("single") or single(
                            self, *args, **kw))
    monkeypatch.setattr(redis.client.Pipeline, "execute",
                        lambda self, *args, **kw: sent.append("pipeline") or batched(
                            self, *args, **kw))
    keys = [(f"ip-{uuid.uuid4().hex}", 10), (f"user-{uuid.uuid4().hex}", 10)]

    assert ratelimit.hit_many(keys, window_seconds=60)[0] is None
    assert sent == ["pipeline"]
