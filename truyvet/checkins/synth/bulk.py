"""Bulk loading of check-in rows (and of other generated rows given as
columns of text: ``columns_write``, the people), and a small progress bar.

Rows come as columns (``columns.Columns``: numpy arrays, times as whole UTC
epoch seconds), so that millions of them never become model instances. Each
batch is written in its own transaction:

- PostgreSQL: one ``COPY ... FROM STDIN (FORMAT BINARY)`` per batch, the
  payload built by numpy (``columns.copy_binary``);
- SQLite: one ``executemany`` INSERT per batch, with times stored the way
  Django stores them (naive UTC text, so its lookups compare them correctly),
  and ``PRAGMA synchronous=OFF`` with a larger page cache for the duration
  of the load when no transaction is open, both put back afterwards.

Check-in ids are random version 4 UUIDs, as a phone's offline queue makes them,
so running the generator twice appends rather than collides.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from queue import Full, Queue
from typing import Any, TextIO, TypeVar

import numpy as np
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from numpy.typing import NDArray

from truyvet.checkins.models import CheckIn
from truyvet.checkins.synth.columns import COPY_COLUMNS, Columns, copy_binary, uuid4s

# (arrived, venue_id, person_id, received, ends, departure_kind, method)
Row = tuple[int, int, int, int, int, str, str]
# Binary COPY (PostgreSQL) or INSERT parameters (SQLite) for one batch.
Payload = bytes | list[tuple[str, int, int, str, str, str, str, str]]
T = TypeVar("T")

SQLITE_LOAD_CACHE_KIB = 256 * 1024
_COLUMNS = COPY_COLUMNS
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_HMS: list[str] = []


def _clock() -> list[str]:
    """"HH:MM:SS" for every second of a day, built once."""
    if not _HMS:
        _HMS.extend(
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
    return _HMS


class _DayPrefixes(dict[int, str]):
    """"YYYY-MM-DD " for a UTC day number (epoch seconds // 86400), made on
    first use: rows of one batch span a day or two."""

    def __missing__(self, day: int) -> str:
        prefix = datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d ")
        self[day] = prefix
        return prefix


def _uuid_hexes(count: int) -> Iterator[str]:
    """``count`` random version 4 UUIDs as 32 hex digits."""
    pool = os.urandom(16 * count).hex()
    variant = _VARIANT
    for start in range(0, 32 * count, 32):
        raw = pool[start : start + 32]
        yield raw[:12] + "4" + raw[13:16] + variant[raw[16]] + raw[17:]


def _columns() -> list[str]:
    fields = {field.name: field for field in CheckIn._meta.concrete_fields}
    return [connection.ops.quote_name(str(fields[name].column)) for name in _COLUMNS]


class CheckInWriter:
    """Writes batches of rows into the check-in table of the default database."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        # Another table to COPY into (a bare day table before it becomes a
        # partition: ``partitions.partition_bulk_create``), or None.
        self.table: str | None = None
        table = connection.ops.quote_name(CheckIn._meta.db_table)
        columns = ", ".join(_columns())
        self.columns = columns
        if self.vendor == "postgresql":
            self.sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
        elif self.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(_COLUMNS))
            self.sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - names from the models, values bound
        else:  # pragma: no cover - settings allow only these two
            raise NotImplementedError(f"no bulk loader for {self.vendor}")
        self.days = _DayPrefixes()

    def prepare(self, rows: Columns) -> Payload:
        """The batch as the database takes it: binary COPY, or parameter
        rows. Pure computation, so it can run in another thread than
        ``write``."""
        if self.vendor == "postgresql":
            return copy_binary(rows, uuid4s(len(rows)))
        days, clock = self.days, _clock()
        ids = _uuid_hexes(len(rows))
        return [
            (uid, venue, person, days[arrived // 86400] + clock[arrived % 86400],
             days[received // 86400] + clock[received % 86400],
             days[ends // 86400] + clock[ends % 86400], kind, method)
            for uid, (arrived, venue, person, received, ends, kind, method)
            in zip(ids, rows.rows(), strict=True)
        ]

    def write(self, payload: Payload) -> None:
        """Writes one prepared batch in its own transaction."""
        if not payload:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            if isinstance(payload, bytes):
                sql = self.sql if self.table is None else (
                    f"COPY {connection.ops.quote_name(self.table)} ({self.columns}) "
                    "FROM STDIN (FORMAT BINARY)"
                )
                with cursor.copy(sql) as copy:
                    copy.write(payload)
            else:
                cursor.executemany(self.sql, payload)

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Relaxes durability for the load on SQLite, where each commit would
        otherwise wait for the disk. If the generator itself dies the file is
        safe; only a power cut or OS crash during the load can damage it
        (SQLite's documented trade-off), acceptable for generated data.
        Inside an open transaction (tests) SQLite refuses to change the
        safety level, so nothing is changed there."""
        if self.vendor != "sqlite" or connection.in_atomic_block:
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            synchronous = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA cache_size")
            cache_size = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA synchronous=OFF")
            # Seven indexes take turns on every row; with SQLite's default
            # 2 MB page cache each batch rereads them from the OS.
            cursor.execute(f"PRAGMA cache_size={-SQLITE_LOAD_CACHE_KIB:d}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous={synchronous:d}")
                cursor.execute(f"PRAGMA cache_size={cache_size:d}")


def columns_write(model: type[Model], columns: Mapping[str, Sequence[str | None] | str],
                  count: int) -> None:
    """Inserts ``count`` new rows of ``model`` (their primary keys left to
    the database) in one transaction, given column by column as text: each
    attribute name maps to a list of ``count`` texts (``None`` is NULL) or
    to one text for every row. The texts are what both databases take:
    PostgreSQL one text ``COPY`` (rows joined in C: no model instances, no
    per-value adaptation), SQLite one ``executemany``. The caller's texts
    hold no tab, newline or backslash (COPY would read them as separators
    or escapes)."""
    if not count:
        return
    fields = {f.attname: f for f in model._meta.concrete_fields}
    table = connection.ops.quote_name(model._meta.db_table)
    names = list(columns)
    quoted = ", ".join(connection.ops.quote_name(str(fields[name].column)) for name in names)
    values: list[Iterable[str | None]] = [
        repeat(value, count) if isinstance(value, str) else value for value in columns.values()
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            texts = [column if isinstance(column, repeat) else _nulls_marked(column)
                     for column in values]
            with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                rows = map("\t".join, zip(*texts, strict=False))
                copy.write("".join(line + "\n" for line in rows))
        else:
            marks = ", ".join(["%s"] * len(names))
            cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})",  # noqa: S608 - names from the models, values bound
                               list(zip(*values, strict=False)))


def int_rows(queryset: QuerySet[Any, Any], width: int) -> NDArray[np.int64]:
    """The rows of a ``values_list`` queryset of ``width`` integer columns as
    one array, read from the cursor 50,000 at a time: half a million people
    through the ORM's row iterator took seconds."""
    sql, params = queryset.query.sql_with_params()
    chunks = [np.zeros((0, width), dtype=np.int64)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(50_000):
            chunks.append(np.array(rows, dtype=np.int64).reshape(-1, width))
    return np.concatenate(chunks)


def values_taken(model: type[Model], attname: str, values: Sequence[str]) -> set[str]:
    """Which of ``values`` (texts without commas, such as ID numbers) the
    column ``attname`` of ``model`` already holds: one ``= ANY(array)``
    query on PostgreSQL (an IN list of tens of thousands of parameters took
    seconds), the ORM in chunks of 900 elsewhere (SQLite's parameter
    limit)."""
    if not values:
        return set()
    if connection.vendor == "postgresql":
        fields = {field.attname: field for field in model._meta.concrete_fields}
        column = connection.ops.quote_name(str(fields[attname].column))
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            # One text parameter split by the server: psycopg adapting a list
            # of tens of thousands of strings took longer than the query.
            cursor.execute(f"SELECT {column} FROM {table}"  # noqa: S608 - names from the models, values bound
                           f" WHERE {column} = ANY(string_to_array(%s, ','))",
                           [",".join(values)])
            return {row[0] for row in cursor.fetchall()}
    taken: set[str] = set()
    for start in range(0, len(values), 900):
        taken.update(model._default_manager.filter(
            **{f"{attname}__in": values[start : start + 900]}).values_list(attname, flat=True))
    return taken


def _nulls_marked(column: Iterable[str | None]) -> Iterable[str]:
    """A column with NULL as COPY's text format writes it."""
    listed = list(column)
    if None not in listed:
        return listed  # type: ignore[return-value]
    return [r"\N" if value is None else value for value in listed]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def in_background(items: Iterable[T], *, depth: int = 2) -> Iterator[T]:
    """Yields ``items`` while a thread computes the next ``depth`` of them.

    Generating rows is pure Python and the database does its work while the
    writer waits on the socket or on SQLite (both release the GIL), so on two
    cores the next batch is made while the last one is written. The items
    come out in order; an error in the thread is raised here; leaving early
    stops the thread after the item it is making.
    """
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(_DONE)
        except BaseException as error:  # handed to the consumer, raised there
            hand_over(_Failed(error))

    thread = threading.Thread(target=produce, name="synth-rows", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


class ProgressBar:
    """``label [#####.....]  45%  450,000/1,000,000  52,345/s  ETA 0:00:10``
    on stderr. On a terminal it redraws in place; otherwise (``nohup``, CI
    logs) it prints a line every ``every`` seconds."""

    WIDTH = 28

    def __init__(self, *, label: str, total: int, stream: TextIO | None = None,
                 enabled: bool = True, every: float = 10.0) -> None:
        self.label = label
        self.total = max(total, 0)
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = 0.2 if self.tty else every
        self.done = 0
        self.started = time.monotonic()
        self.shown = 0.0

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self.shown >= self.every or self.done >= self.total):
            self.shown = now
            self._draw()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(share * self.WIDTH)
        rate = self.rate
        remaining = (self.total - self.done) / rate if rate > 0 else 0.0
        minutes, seconds = divmod(int(remaining), 60)
        hours, minutes = divmod(minutes, 60)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%}  "
            f"{self.done:,}/{self.total:,}  {rate:,.0f}/s  ETA {hours}:{minutes:02d}:{seconds:02d}"
        )
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if not self.enabled:
            return
        if self.done < self.total or not self.shown:
            self._draw()
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
