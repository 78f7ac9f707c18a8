"""The app tier keeps no state of its own (issue 7, item 2): rate limits hold
across separate processes, whether the shared cache is the database table
(default) or Redis (REDIS_URL); sessions live in the database; nothing in
the code caches changing data in process memory."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parent.parent
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
LIMIT, HITS_PER_PROCESS, PROCESSES = 10, 8, 3

HIT_SCRIPT = f"""
import json, sys, time, django
django.setup()
from truyvet.core import ratelimit
key, hits, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))  # all processes start hitting together
allowed = sum(ratelimit.hit(key, limit={LIMIT}, window_seconds=86400)[0] for _ in range(hits))
print(json.dumps({{"allowed": allowed}}))
"""


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "REDIS_"))}
    return env | {"DJANGO_SETTINGS_MODULE": "truyvet.settings", **extra}


def _hit_from_separate_processes(env: dict[str, str]) -> list[int]:
    key = f"xproc-{uuid.uuid4().hex}"
    start = time.time() + 3  # time for every interpreter to start
    running = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", HIT_SCRIPT, key, str(HITS_PER_PROCESS), str(start)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(PROCESSES)
    ]
    allowed = []
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        allowed.append(json.loads(out.strip().splitlines()[-1])["allowed"])
    return allowed


def _database_shared_with_the_processes(tmp_path: Path) -> str:
    """The suite's own test database on PostgreSQL (the processes connect to
    it as other app instances would); a fresh SQLite file otherwise."""
    from django.db import connection

    if connection.vendor == "postgresql":
        db = connection.settings_dict
        return (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}")
    return f"sqlite:///{tmp_path / 'shared.sqlite3'}"


def test_a_rate_limit_in_the_database_cache_holds_across_processes(
    tmp_path: Path, db: Any
) -> None:
    env = _environment(DATABASE_URL=_database_shared_with_the_processes(tmp_path),
                       TRUYVET_VAR_DIR=str(tmp_path))
    created = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert created.returncode == 0, created.stderr

    allowed = _hit_from_separate_processes(env)

    assert sum(allowed) == LIMIT, allowed  # 24 attempts, one limit of 10 shared by all
    assert all(count < LIMIT for count in allowed)  # no process had a limit of its own


def _redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_a_rate_limit_in_redis_holds_across_processes(tmp_path: Path) -> None:
    if not _redis_answers():
        message = "Redis is not answering on 127.0.0.1:6379 (start it: docs/deploy.md)"
        # CI starts Redis and sets this, so there the test can never be skipped.
        if os.environ.get("TRUYVET_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)

    allowed = _hit_from_separate_processes(
        _environment(REDIS_URL=REDIS_TEST_URL, TRUYVET_VAR_DIR=str(tmp_path),
                     DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    )

    assert sum(allowed) == LIMIT, allowed
    assert all(count < LIMIT for count in allowed)


def test_redis_url_without_the_redis_package_stops_start_up(tmp_path: Path) -> None:
    """A deployment that sets REDIS_URL learns at start-up, not at the first
    rate-limited request, that the client library is missing."""
    script = (
        "import sys; sys.modules['redis'] = None\n"  # as if it were not installed
        "import django; django.setup()"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=_environment(REDIS_URL=REDIS_TEST_URL, TRUYVET_VAR_DIR=str(tmp_path)), check=False,
    )
    assert done.returncode != 0
    assert "REDIS_URL needs the redis package" in done.stderr


def test_sessions_and_the_cache_live_outside_the_process() -> None:
    assert django_settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    backend = django_settings.CACHES["default"]["BACKEND"]
    assert backend in {"django.core.cache.backends.db.DatabaseCache",
                       "django.core.cache.backends.redis.RedisCache"}


# Process-wide caches that are fine: what they hold cannot change while the
# process runs (package data files, keys parsed from settings, fonts, a
# template's hash) or belongs to a one-off command (the synthetic loader).
PROCESS_CACHES_REVIEWED = {
    "truyvet/places/services.py:_package_divisions": "vietnam-provinces' JSON file",
    "truyvet/accounts/identity.py:province_codes": "vietnam-provinces' JSON file",
    "truyvet/checkins/personal_qr.py:_private_key_from": "key parsed from a setting",
    "truyvet/core/signing.py:_key_ring": "keys parsed from settings",
    "truyvet/checkins/cards.py:_fonts": "registers a font with reportlab once",
    "truyvet/venues/importing.py:venue_type_lookup": "labels of a fixed list of choices",
    "truyvet/core/middleware.py:inline_style_hashes": "hash of a template file",
    "truyvet/checkins/synth/generate.py:_hamlets": "synthetic data command",
    "truyvet/checkins/synth/generate.py:_folded": "synthetic data command",
    "truyvet/certificates/dccschema.py:_validators": "DCC JSON schemas shipped with the code",
    "truyvet/certificates/dccschema.py:valueset": "DCC value sets shipped with the code",
    "truyvet/checkins/personal_qr.py:_signature_verified": "good personal QR tokens by exact "
    "text and key: a valid signature stays valid; revocation and rotation are read from the "
    "database on every scan, a claim's expiry when it is read (decisions 0013, 0023)",
    "truyvet/core/api_auth.py:_token_backends": "the bearer-token backends of the settings",
}
def _cached_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = getattr(target, "attr", getattr(target, "id", ""))
                if name in {"cache", "lru_cache"}:
                    found.append(node.name)
    return found


def test_no_module_caches_data_that_can_change_between_requests() -> None:
    """functools.cache and lru_cache on module functions live as long as the
    process: each instance would answer from its own stale copy. Every such
    cache must be one reviewed here (cached_property on a per-request object
    is fine and not counted)."""
    unreviewed = []
    for path in sorted((ROOT / "truyvet").rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        relative = str(path.relative_to(ROOT))
        for name in _cached_functions(path):
            if f"{relative}:{name}" not in PROCESS_CACHES_REVIEWED:
                unreviewed.append(f"{relative}:{name}")
    assert not unreviewed, (
        f"review these process-wide caches and list them in PROCESS_CACHES_REVIEWED: "
        f"{unreviewed}"
    )


def test_background_work_runs_in_the_worker_process_not_the_web_process(
    settings: Any,
) -> None:
    """`truyvet worker` is django-q2's qcluster, a process tree of its own;
    the web process only enqueues (TASK_SYNC is for debugging)."""
    from truyvet import cli

    assert settings.Q_CLUSTER.get("sync") in (False, None)
    assert "qcluster" in Path(cli.__file__).read_text(encoding="utf-8")
