"""Fixed-window counters in the shared cache (database or Redis), so limits
hold across every app instance rather than per process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


@contextmanager
def _counter_lock(bucket: str) -> Iterator[None]:
    """Makes add-then-increment one step for every process. Redis increments
    atomically by itself; the database cache reads and rewrites the value, so
    concurrent hits from several instances could both read 3 and both write
    4. There the step runs in a transaction that holds a lock: SQLite's
    IMMEDIATE transactions take the write lock at BEGIN (see settings), and
    PostgreSQL takes an advisory lock on the bucket until commit."""
    backend = caches["default"]
    if not isinstance(backend, DatabaseCache):
        yield
        return
    alias = router.db_for_write(backend.cache_model_class)
    with transaction.atomic(using=alias):
        connection = connections[alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [bucket])
        yield


def hit(key: str, *, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one event for ``key``. Returns (allowed, seconds until the window resets)."""
    window = int(time.time()) // window_seconds
    bucket = f"rl:{key}:{window}"
    with _counter_lock(bucket):
        # add() is atomic: only the first caller in a window creates the counter.
        cache.add(bucket, 0, timeout=window_seconds + 5)
        try:
            count = cache.incr(bucket)
        except ValueError:  # evicted between add and incr
            cache.set(bucket, 1, timeout=window_seconds + 5)
            count = 1
    reset_in = window_seconds - int(time.time()) % window_seconds
    return count <= limit, reset_in


def peek(key: str, *, window_seconds: int) -> int:
    window = int(time.time()) // window_seconds
    return int(cache.get(f"rl:{key}:{window}", 0))


def clear(key: str, *, window_seconds: int) -> None:
    window = int(time.time()) // window_seconds
    cache.delete(f"rl:{key}:{window}")
