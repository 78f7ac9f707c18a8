"""Writing many model rows set-wise (decisions 0014 and 0021).

Django's ``bulk_create`` on PostgreSQL sends its rows as one statement whose
parameters psycopg quotes in Python, value by value (arrays of JSON text are
the worst: 36,000 tracing contacts took over a minute there). On PostgreSQL
inserts use ``COPY`` instead, its rows formatted by psycopg's C code:

- ``rows_insert(model, objects)``: new rows in one ``COPY``; the primary
  keys the database gave them are *not* read back (ask for them by a key of
  your own);
- ``rows_update(model, objects, fields)``: rows already stored get ``fields``
  from the objects (``bulk_update`` in batches of 1,000 for now);
- ``values_insert(model, names, rows)``: new rows given as tuples of field
  values, primary keys included, with no model instance built at all (an
  offline batch's visits, receipts and audit rows, decision 0023). A unique
  violation raises Django's ``IntegrityError``, as ``bulk_create`` would.

Django's debug cursor logs each ``COPY`` as one statement, so query-count
pins see them.

On SQLite ``rows_insert`` is ``bulk_create``. Both run inside the caller's
transaction; nothing here commits.

Columns of numbers go to and from PostgreSQL as binary arrays through
``column_cursor``: one statement can then read or write tens of thousands
of rows (``unnest`` of bound arrays, ``array_agg`` of results) with no
Python object per value (the exposure search reads its candidates that
way, and ``tracing.services`` stores a trace's contacts). ``Int64Array``,
``TimestampArray`` and ``TextArray`` are such parameters; bigint[] and
timestamptz[] results come back as numpy arrays.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from enum import Enum
from operator import attrgetter
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import psycopg
import psycopg.adapt
from django.db import connection, connections
from django.db.models import Field, JSONField, Model
from psycopg.postgres import types as postgres_types


def _reader(field: Field[Any, Any], *, add: bool) -> Callable[[Model], Any]:
    """How to read ``field`` of an object as COPY takes it: the attribute as
    it is (psycopg adapts ints, text, times, UUIDs and None itself), JSON
    dumped once, ``auto_now`` fields stamped. Django's ``get_db_prep_save``
    per value cost more than the COPY."""
    name = field.attname
    if isinstance(field, JSONField):
        encoder = field.encoder

        def dumped(obj: Model) -> str | None:
            value = getattr(obj, name)
            return None if value is None else json.dumps(value, cls=encoder)

        return dumped
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, add)
    return attrgetter(name)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def rows_insert(model: type[Model], objects: Sequence[Model]) -> None:
    """Inserts ``objects`` (their primary keys left to the database)."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(_quote(str(f.column)) for f in fields)
    readers = [_reader(f, add=True) for f in fields]
    with connection.cursor() as cursor, cursor.copy(
        f"COPY {_quote(model._meta.db_table)} ({columns}) FROM STDIN"
    ) as copy:
        for obj in objects:
            copy.write_row([read(obj) for read in readers])


def rows_update(model: type[Model], objects: Sequence[Model], names: Sequence[str]) -> None:
    """Writes the fields ``names`` of stored ``objects`` (by primary key):
    ``bulk_update`` on every database for now (a staging table and one
    ``UPDATE ... FROM`` would need DDL with names in its text, which this
    project's SQL rule, ``tests/test_hardening.py``, keeps to the modules
    read for it); updates are the rarer path (a trace run again)."""
    if objects:
        model._default_manager.bulk_update(objects, list(names), batch_size=1000)


# PostgreSQL counts timestamps in microseconds from 2000-01-01 UTC.
POSTGRES_EPOCH_MICROSECONDS = 946_684_800 * 1_000_000


class _BinaryArray:
    """A one-dimensional array parameter without NULLs, already in
    PostgreSQL's binary array format (``array_send``: dimensions, a NULL
    flag and the element type, a size and lower bound per dimension, then
    each element as its length and its bytes, big-endian)."""

    element = "int8"  # the element type's name
    __slots__ = ("binary", "length")

    def __init__(self, binary: bytes, length: int) -> None:
        self.binary, self.length = binary, length

    @classmethod
    def _header(cls, length: int) -> bytes:
        oid = postgres_types[cls.element].oid
        if not length:
            return struct.pack(">iii", 0, 0, oid)
        return struct.pack(">iiiii", 1, 0, oid, length, 1)

    @classmethod
    def _fixed(cls, values: npt.NDArray[np.int64]) -> bytes:
        elements = np.empty(len(values), dtype=[("length", ">i4"), ("value", ">i8")])
        elements["length"] = 8
        elements["value"] = values
        return cls._header(len(values)) + elements.tobytes()


class Int64Array(_BinaryArray):
    """A bigint[] parameter from integers."""

    @classmethod
    def of(cls, values: npt.ArrayLike) -> Int64Array:
        column = np.asarray(values, dtype=np.int64)
        return cls(cls._fixed(column), len(column))


class TimestampArray(_BinaryArray):
    """A timestamptz[] parameter from microseconds since 1970 (UTC)."""

    element = "timestamptz"

    @classmethod
    def of(cls, micros: npt.ArrayLike) -> TimestampArray:
        column = np.asarray(micros, dtype=np.int64) - POSTGRES_EPOCH_MICROSECONDS
        return cls(cls._fixed(column), len(column))


class TextArray(_BinaryArray):
    """A text[] parameter from strings."""

    element = "text"

    @classmethod
    def of(cls, values: Sequence[str]) -> TextArray:
        encoded = [value.encode() for value in values]
        size = struct.Struct(">i").pack
        parts = [cls._header(len(encoded))]
        for item in encoded:
            parts += (size(len(item)), item)
        return cls(b"".join(parts), len(encoded))


class _ArrayDumper(psycopg.adapt.Dumper):
    format = psycopg.pq.Format.BINARY

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self.oid = postgres_types[cast(Any, cls).element].array_oid

    def dump(self, obj: Any) -> bytes:
        return cast(bytes, obj.binary)


class _Int64ArrayLoader(psycopg.adapt.Loader):
    """A one-dimensional array of 8-byte integers with no NULLs, in binary
    (bigint[]; timestamptz[], which is microseconds since 2000), as a numpy
    int64 array: the elements are read in place, none becomes a Python
    object. The format is PostgreSQL's ``array_send``: dimensions, a NULL
    flag and the element type, a size and lower bound per dimension, then
    each element as its length and its bytes, big-endian."""

    format = psycopg.pq.Format.BINARY

    def load(self, data: Any) -> npt.NDArray[np.int64]:
        dimensions, has_nulls = struct.unpack_from(">ii", data)
        if dimensions == 0:
            return np.empty(0, dtype=np.int64)
        if dimensions != 1 or has_nulls:
            raise psycopg.DataError("expected a one-dimensional array without NULLs")
        elements = np.frombuffer(data, dtype=[("length", ">i4"), ("value", ">i8")], offset=20)
        if (elements["length"] != 8).any():
            raise psycopg.DataError("expected 8-byte array elements")
        return elements["value"].astype(np.int64)


class _ColumnCursor(psycopg.Cursor[Any]):
    """Binds parameters on the server, reads results in binary, loads
    bigint[] and timestamptz[] as numpy arrays (``_Int64ArrayLoader``),
    dumps the array parameters below, and never prepares a statement:
    behind PgBouncer in transaction mode a prepared statement is not there
    on the next transaction's connection."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        for name in ("int8", "timestamptz"):
            self.adapters.register_loader(postgres_types[name].array_oid, _Int64ArrayLoader)
        for array in (Int64Array, TimestampArray, TextArray):
            self.adapters.register_dumper(array, _ArrayDumper)

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                binary: bool | None = None) -> Any:
        return super().execute(query, params, prepare=False, binary=True)


def column_cursor(using: str = "default") -> Any:
    """A Django cursor (query logging, error wrapping, execute wrappers) over
    a ``_ColumnCursor``."""
    connection = connections[using]
    connection.ensure_connection()
    # django-stubs type these as taking Django's wrapper; they take the driver's cursor.
    cursor = cast(Any, _ColumnCursor(connection.connection))
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def _dumper(field: Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a value of ``field`` goes into COPY when psycopg cannot adapt it as
    it is: JSON dumped once; a choice (an ``Enum``, which psycopg would write
    by its *name*) as its value; None for everything else."""
    if isinstance(field, JSONField):
        encoder = field.encoder
        return lambda value: None if value is None else json.dumps(value, cls=encoder)
    if field.choices:
        return lambda value: value.value if isinstance(value, Enum) else value
    return None


def values_insert(model: type[Model], names: Sequence[str],
                  rows: Sequence[Sequence[Any]]) -> None:
    """Inserts ``rows``, each the values of the fields ``names`` (attribute
    names: ``venue_id``, not ``venue``) in that order, primary keys and
    defaults included: the caller gives every value. On PostgreSQL one
    ``COPY`` formatted by psycopg's C code; elsewhere ``bulk_create`` of
    instances built from the tuples."""
    if not rows:
        return
    meta = model._meta
    fields = [_field_by_attname(model, name) for name in names]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(names, row, strict=True))) for row in rows]
        )
        return
    dumpers = [(index, dump) for index, field in enumerate(fields)
               if (dump := _dumper(field)) is not None]
    columns = ", ".join(_quote(str(f.column)) for f in fields)
    sql = f"COPY {_quote(meta.db_table)} ({columns}) FROM STDIN"
    # Django wraps execute() errors (a duplicate key becomes IntegrityError),
    # not copy()'s: wrapped here, so that callers catch what they expect.
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.copy(sql) as copy:
        if dumpers:
            for row in rows:
                values = list(row)
                for index, dump in dumpers:
                    values[index] = dump(values[index])
                copy.write_row(values)
        else:
            for row in rows:
                copy.write_row(row)


def _field_by_attname(model: type[Model], name: str) -> Field[Any, Any]:
    for field in model._meta.concrete_fields:
        if field.attname == name:
            return field
    raise ValueError(f"{model.__name__} has no concrete field {name!r}")
