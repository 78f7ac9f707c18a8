"""Reference data kept in a process for a bound of seconds (decisions 0013
and 0015): administrative units, communes' level histories. A scan reads
them on every request; they change rarely, and through the process that
changes them they are forgotten at once (its owner calls ``clear``), while
another process sees the change within the bound.

The values are shared between requests and threads: read them, never
change them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class KeptInProcess(Generic[Key, Value]):
    """{key: value}, each kept ``seconds`` after it was read."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._kept: dict[Key, tuple[float, Value]] = {}

    def many(self, keys: Iterable[Key], read: Callable[[set[Key]], dict[Key, Value]],
             *, absent: Callable[[], Value] | None = None) -> dict[Key, Value]:
        """{key: value} for ``keys``: from memory, the others by one call of
        ``read(missing)``. A key ``read`` leaves out is left out here too,
        and read again next time; with ``absent``, it is kept as
        ``absent()`` instead (a commune without levels)."""
        now = time.monotonic()
        found: dict[Key, Value] = {}
        missing: set[Key] = set()
        for key in keys:
            kept = self._kept.get(key)
            if kept is not None and kept[0] > now:
                found[key] = kept[1]
            else:
                missing.add(key)
        if missing:
            fresh = read(missing)
            if absent is not None:
                fresh = {key: fresh[key] if key in fresh else absent() for key in missing}
            until = now + self.seconds
            for key, value in fresh.items():
                self._kept[key] = (until, value)
            found.update(fresh)
        return found

    def clear(self) -> None:
        self._kept.clear()
