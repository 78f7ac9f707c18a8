"""Writing many model rows set-wise (decision 0014).

Django's ``bulk_create`` on PostgreSQL sends its rows as one statement whose
parameters psycopg quotes in Python, value by value (arrays of JSON text are
the worst: 36,000 tracing contacts took over a minute there); ``bulk_update``
writes a ``CASE WHEN`` per field and row. On PostgreSQL these use ``COPY``
instead, its rows formatted by psycopg's C code:

- ``rows_insert(model, objects)``: new rows in one ``COPY``; the primary
  keys the database gave them are *not* read back (ask for them by a key of
  your own, as ``tracing.services`` does by case and person);
- ``rows_update(model, objects, fields)``: rows already stored get ``fields``
  from the objects: one ``COPY`` into a temporary table, then one ``UPDATE
  ... FROM`` it.

On SQLite they are ``bulk_create`` and ``bulk_update``. Both run inside the
caller's transaction; nothing here commits.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from django.db import connection
from django.db.models import Field, JSONField, Model


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
    """Writes the fields ``names`` of stored ``objects`` (by primary key)."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, list(names))
        return
    meta = model._meta
    key = meta.pk
    assert key is not None
    fields = [meta.get_field(name) for name in names]
    concrete = [f for f in fields if isinstance(f, Field) and f.concrete]
    table = _quote(meta.db_table)
    staging = _quote(f"_rows_update_{secrets.token_hex(4)}")
    every = [key, *concrete]
    columns = ", ".join(_quote(str(f.column)) for f in every)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608 - quoted names
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        readers = [_reader(f, add=False) for f in every]
        with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row([read(obj) for read in readers])
        assignments = ", ".join(f"{_quote(str(f.column))} = s.{_quote(str(f.column))}"
                                for f in concrete)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {staging} s "  # noqa: S608 - quoted names
            f"WHERE {table}.{_quote(str(key.column))} = s.{_quote(str(key.column))}"
        )
        cursor.execute(f"DROP TABLE {staging}")
