"""Fixed-window counters in the shared cache (database or Redis), so limits
hold across every app instance rather than per process."""

from __future__ import annotations

import time

from django.core.cache import cache


def hit(key: str, *, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one event for ``key``. Returns (allowed, seconds until the window resets)."""
    window = int(time.time()) // window_seconds
    bucket = f"rl:{key}:{window}"
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
