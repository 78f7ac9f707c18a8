"""Writing many model rows set-wise (decision 0014).

Django's ``bulk_create`` on PostgreSQL sends its rows as one statement whose
parameters psycopg quotes in Python, value by value (arrays of JSON text are
the worst: 36,000 tracing contacts took over a minute there). On PostgreSQL
inserts use ``COPY`` instead, its rows formatted by psycopg's C code:

- ``rows_insert(model, objects)``: new rows in one ``COPY``; the primary
  keys the database gave them are *not* read back (ask for them by a key of
  your own, as ``tracing.services`` does by case and person);
- ``rows_update(model, objects, fields)``: rows already stored get ``fields``
  from the objects (``bulk_update`` in batches of 1,000 for now);
- ``values_insert(model, names, rows)``: new rows given as tuples of field
  values, primary keys included, with no model instance built at all (an
  offline batch's visits, receipts and audit rows, decision 0021). A unique
  violation raises Django's ``IntegrityError``, as ``bulk_create`` would.

Django's debug cursor logs each ``COPY`` as one statement, so query-count
pins see them.

On SQLite ``rows_insert`` is ``bulk_create``. Both run inside the caller's
transaction; nothing here commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import Enum
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
    """Writes the fields ``names`` of stored ``objects`` (by primary key):
    ``bulk_update`` on every database for now (a staging table and one
    ``UPDATE ... FROM`` would need DDL with names in its text, which this
    project's SQL rule, ``tests/test_hardening.py``, keeps to the modules
    read for it); updates are the rarer path (a trace run again)."""
    if objects:
        model._default_manager.bulk_update(objects, list(names), batch_size=1000)


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
