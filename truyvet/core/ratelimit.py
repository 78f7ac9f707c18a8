"""Fixed-window counters in the shared cache (database or Redis), so limits
hold across every app instance rather than per process.

A limit is only as good as its atomicity. Callers count an attempt with
``hit`` *before* doing the guarded work (checking a password, a code) and
act on its answer, never ``peek`` first and ``hit`` after: between a peek and
a hit, any number of parallel requests all see the same old count and all
get through (24 parallel wrong passwords were once each checked against a
limit of 5). ``hit`` is one atomic step per backend, so of N parallel
requests exactly ``limit`` are allowed. Work that turned out harmless (a
right password) gives its slot back with ``undo``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction


@contextmanager
def db_exclusive(name: str, *, using: str = "default") -> Iterator[None]:
    """Runs the block in a transaction that no other process runs for the
    same ``name`` at the same time, for check-then-write steps on database
    rows (how many codes a number was sent, say). PostgreSQL takes an
    advisory lock on the name until commit; SQLite's IMMEDIATE transactions
    (see settings) take the database's write lock at BEGIN, which already
    serialises every writer."""
    with transaction.atomic(using=using):
        connection = connections[using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])
        yield


@contextmanager
def _counter_lock(bucket: str) -> Iterator[None]:
    """Makes add-then-increment one step for every process. Redis increments
    atomically by itself; the database cache reads and rewrites the value, so
    concurrent hits from several instances could both read 3 and both write
    4. There the step runs under ``db_exclusive`` on the cache's database."""
    backend = caches["default"]
    if not isinstance(backend, DatabaseCache):
        yield
        return
    with db_exclusive(bucket, using=router.db_for_write(backend.cache_model_class)):
        yield


def _bucket(key: str, window_seconds: int) -> str:
    return f"rl:{key}:{int(time.time()) // window_seconds}"


def hit(key: str, *, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one event for ``key``. Returns (allowed, seconds until the window resets)."""
    bucket = _bucket(key, window_seconds)
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


def hit_many(keys: Sequence[tuple[str, int]], *, window_seconds: int) -> tuple[str | None, int]:
    """Counts one event for each ``(key, limit)`` in order, as ``hit`` does,
    and stops at the first whose limit is exceeded. Returns that key (None
    when all are allowed) and the seconds until the window resets.

    With Redis every key is counted in one round trip (``INCR`` and
    ``EXPIRE`` of each, pipelined): a check-in counts two keys and this is
    on its hot path. Each ``INCR`` is atomic by itself, so the guarantee of
    the module's docstring holds per key; the keys after a refused one are
    counted too there (one request more against them), where the database
    cache stops at the refused one."""
    reset_in = window_seconds - int(time.time()) % window_seconds
    backend = caches["default"]
    if keys and isinstance(backend, RedisCache):
        buckets = [backend.make_and_validate_key(_bucket(key, window_seconds))
                   for key, _limit in keys]
        pipeline = backend._cache.get_client(buckets[0], write=True).pipeline(
            transaction=False)
        for bucket in buckets:
            pipeline.incr(bucket)
            pipeline.expire(bucket, window_seconds + 5)
        counts = pipeline.execute()[0::2]
        for (key, limit), count in zip(keys, counts, strict=True):
            if int(count) > limit:
                return key, reset_in
        return None, reset_in
    for key, limit in keys:
        allowed, reset_in = hit(key, limit=limit, window_seconds=window_seconds)
        if not allowed:
            return key, reset_in
    return None, reset_in


def undo(key: str, *, window_seconds: int) -> None:
    """Takes back one event that ``hit`` counted, when the work it guarded
    turned out not to count (a right password against a per-address limit)."""
    bucket = _bucket(key, window_seconds)
    with _counter_lock(bucket):
        try:
            if int(cache.get(bucket, 0)) > 0:
                cache.decr(bucket)
        except ValueError:  # the window ended meanwhile: nothing to take back
            pass


def peek(key: str, *, window_seconds: int) -> int:
    """The count so far, for display and tests; never to decide whether to
    let a request through (see the module's docstring)."""
    return int(cache.get(_bucket(key, window_seconds), 0))


def clear(key: str, *, window_seconds: int) -> None:
    cache.delete(_bucket(key, window_seconds))
