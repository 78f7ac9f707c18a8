"""Check-in rows as columns (numpy arrays), for the generator and the writer.

Ten million rows never become Python objects: a day's visits are drawn as
arrays (``Columns``), the estimated ends are cut set-wise where the person's
next arrival elsewhere comes first (``cut_estimated_ends``, the rule
``checkins.services`` applies as scans are recorded), and each batch goes to
PostgreSQL as one binary ``COPY`` payload built with numpy structured arrays
(``copy_binary``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from truyvet.checkins.models import CheckInMethod, DepartureKind

Ints = NDArray[np.int64]
Small = NDArray[np.int8]

# Codes stored in ``Columns.kind`` and ``Columns.method``: indexes into these.
KINDS: tuple[str, ...] = tuple(kind.value for kind in DepartureKind)
METHODS: tuple[str, ...] = tuple(method.value for method in CheckInMethod)
ESTIMATED = KINDS.index(DepartureKind.ESTIMATED.value)
NEVER = np.iinfo(np.int64).max


@dataclass
class Columns:
    """Check-in rows: times in whole UTC epoch seconds; ``kind`` and
    ``method`` as indexes into ``KINDS`` and ``METHODS``."""

    arrived: Ints
    venue: Ints
    person: Ints
    received: Ints
    ends: Ints
    kind: Small
    method: Small

    def __len__(self) -> int:
        return len(self.arrived)

    @classmethod
    def empty(cls) -> Columns:
        none = np.zeros(0, dtype=np.int64)
        small = np.zeros(0, dtype=np.int8)
        return cls(none, none, none, none, none, small, small)

    @classmethod
    def concat(cls, parts: Sequence[Columns]) -> Columns:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(part, f.name) for part in parts])
                     for f in fields(cls)))

    def take(self, index: NDArray[np.intp] | slice) -> Columns:
        return Columns(*(getattr(self, f.name)[index] for f in fields(self)))

    def rows(self) -> list[tuple[int, int, int, int, int, str, str]]:
        """As ``(arrived, venue, person, received, ends, kind, method)`` tuples."""
        kinds = [KINDS[code] for code in self.kind.tolist()]
        methods = [METHODS[code] for code in self.method.tolist()]
        return list(zip(self.arrived.tolist(), self.venue.tolist(), self.person.tolist(),
                        self.received.tolist(), self.ends.tolist(), kinds, methods,
                        strict=True))


class Tables:
    """Several cumulative weight tables searched at once: ``draw(groups, u)``
    is ``bisect(cumulative[g], u * cumulative[g][-1])`` for each pair, as one
    ``searchsorted`` over the tables laid end to end (table g scaled into
    [g, g + 1])."""

    def __init__(self, cumulatives: Sequence[Sequence[float] | NDArray[np.float64]]) -> None:
        keys: list[NDArray[np.float64]] = []
        self.starts = np.zeros(len(cumulatives), dtype=np.int64)
        offset = 0
        for group, cumulative in enumerate(cumulatives):
            values = np.asarray(cumulative, dtype=np.float64)
            top = values[-1] if len(values) and values[-1] > 0 else 1.0
            keys.append(group + values / top)
            self.starts[group] = offset
            offset += len(values)
        self.keys = np.concatenate(keys) if keys else np.zeros(0)

    def draw(self, groups: Ints, u: NDArray[np.float64]) -> Ints:
        """The index within each row's table."""
        values = groups + u
        # Searched in ascending order, numpy's binary search starts from the
        # last answer: three times faster on a million draws than in the
        # order drawn.
        order = np.argsort(values)
        found = np.empty(len(values), dtype=np.int64)
        found[order] = np.searchsorted(self.keys, values[order], side="right")
        return found - self.starts[groups]


def cut_estimated_ends(rows: Columns) -> None:
    """A person cannot be in two places: where the person's next arrival at
    another venue comes before a visit's *estimated* end, that arrival ends
    the visit (in place). Real check-outs stand. Set-wise: rows ordered by
    person and arrival; each run of consecutive visits at one venue takes the
    first arrival of the person's next run."""
    count = len(rows)
    if count < 2:
        return
    # One sort key, person then arrival (arrivals span days, far below 2**32
    # seconds): half the time of a two-key lexsort.
    order = np.argsort(rows.person * (1 << 32) + (rows.arrived - rows.arrived.min()),
                       kind="stable")
    person, venue, arrived = rows.person[order], rows.venue[order], rows.arrived[order]
    starts_run = np.ones(count, dtype=bool)
    starts_run[1:] = (person[1:] != person[:-1]) | (venue[1:] != venue[:-1])
    run = np.cumsum(starts_run) - 1
    first = np.flatnonzero(starts_run)
    following = np.full(len(first), NEVER, dtype=np.int64)
    same = person[first[1:]] == person[first[:-1]]
    following[:-1] = np.where(same, arrived[first[1:]], NEVER)
    next_elsewhere = following[run]
    ends = rows.ends[order]
    cut = (rows.kind[order] == ESTIMATED) & (next_elsewhere < ends)
    rows.ends[order[cut]] = next_elsewhere[cut]


# --- PostgreSQL binary COPY ------------------------------------------------------------

COPY_COLUMNS = ("id", "venue", "person", "arrived_at", "received_at", "ends_at",
                "departure_kind", "method")
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_POSTGRES_EPOCH = 946_684_800  # 2000-01-01 UTC in Unix seconds


def uuid4s(count: int, random: np.random.Generator | None = None) -> NDArray[np.uint8]:
    """``count`` random version 4 UUIDs as rows of 16 bytes (from the OS's
    random source unless a generator is given)."""
    if random is None:
        import os

        raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    else:
        raw = random.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return raw


def _record_type(kind: str, method: str) -> np.dtype:
    """One row of a binary COPY whose text columns hold ``kind`` and
    ``method``: every field big-endian, each behind its byte length."""
    parts: list[tuple[str, str]] = [("fields", ">i2")]
    for name, layout in (("id", "V16"), ("venue", ">i8"), ("person", ">i8"),
                         ("arrived", ">i8"), ("received", ">i8"), ("ends", ">i8"),
                         ("kind", f"S{len(kind.encode())}"),
                         ("method", f"S{len(method.encode())}")):
        parts += [(f"{name}_size", ">i4"), (name, layout)]
    return np.dtype(parts)


def _microseconds(seconds: Ints) -> Ints:
    return (seconds - _POSTGRES_EPOCH) * 1_000_000


def copy_binary(rows: Columns, ids: NDArray[np.uint8]) -> bytes:
    """The rows as a ``COPY ... (FORMAT BINARY)`` payload in ``COPY_COLUMNS``
    order. Records are fixed-size per (departure kind, method), so each such
    group is one structured array."""
    chunks = [_SIGNATURE]
    combined = rows.kind.astype(np.int64) * len(METHODS) + rows.method
    for code in np.unique(combined).tolist():
        kind, method = KINDS[code // len(METHODS)], METHODS[code % len(METHODS)]
        where = np.flatnonzero(combined == code)
        record = np.zeros(len(where), dtype=_record_type(kind, method))
        record["fields"] = len(COPY_COLUMNS)
        record["id_size"] = 16
        record["id"] = ids[where].view("V16").ravel()
        for name, column in (("venue", rows.venue), ("person", rows.person)):
            record[f"{name}_size"] = 8
            record[name] = column[where]
        for name, column in (("arrived", rows.arrived), ("received", rows.received),
                             ("ends", rows.ends)):
            record[f"{name}_size"] = 8
            record[name] = _microseconds(column[where])
        record["kind_size"] = len(kind.encode())
        record["kind"] = kind.encode()
        record["method_size"] = len(method.encode())
        record["method"] = method.encode()
        chunks.append(record.tobytes())
    chunks.append(_TRAILER)
    return b"".join(chunks)
