"""Model instances from hand-written SQL on the hot paths, and a few rows
written the same way (decisions 0013 and 0015): the ORM's query building
cost more than the reads and writes it built, and ``RawQuerySet`` more than
a plain cursor."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model


def columns_of(model: type[Model], alias: str, connection: BaseDatabaseWrapper) -> str:
    """``alias."col", …`` for every concrete field of ``model``, in order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(str(f.column))}" for f in model._meta.concrete_fields)


def python_values(connection: BaseDatabaseWrapper, fields: Sequence[Field[Any, Any]],
                  values: Sequence[Any]) -> list[Any]:
    """``values`` as read for ``fields``, converted as the ORM converts them
    (SQLite's text datetimes and UUIDs, for instance)."""
    converted = list(values)
    for index, field in enumerate(fields):
        if converted[index] is None:
            continue
        column, converters = _converters(connection, field)
        for converter in converters:
            converted[index] = converter(converted[index], column, connection)
    return converted


def _converters(connection: BaseDatabaseWrapper, field: Field[Any, Any]
                ) -> tuple[Any, tuple[Any, ...]]:
    """A field's column and the converters the ORM would run on it, found
    once per connection: finding them cost more than converting (most
    fields on PostgreSQL have none). Kept on the connection object, which
    belongs to one thread, as its converters do."""
    kept: dict[Field[Any, Any], tuple[Any, tuple[Any, ...]]] = connection.__dict__.setdefault(
        "_rawrows_converters", {})
    found = kept.get(field)
    if found is None:
        column = field.get_col(field.model._meta.db_table)
        found = kept[field] = (column, (*connection.ops.get_db_converters(column),
                                        *column.get_db_converters(connection)))
    return found


def instance_from_row(model: type[Model], connection: BaseDatabaseWrapper,
                      values: Sequence[Any]) -> Any:
    """An instance of ``model`` from its concrete fields' ``values`` in order."""
    fields = list(model._meta.concrete_fields)
    return model.from_db(connection.alias, [f.attname for f in fields],
                         python_values(connection, fields, values))


def instances_from_row(connection: BaseDatabaseWrapper, row: Sequence[Any],
                       *models: type[Model]) -> list[Any]:
    """One instance per model from a row that holds each model's concrete
    fields in turn (``columns_of`` for each, in the same order), or None for
    a model whose primary key is NULL: the side of a LEFT JOIN that found
    nothing."""
    instances: list[Any] = []
    start = 0
    for model in models:
        width = len(model._meta.concrete_fields)
        values = row[start:start + width]
        instances.append(instance_from_row(model, connection, values)
                         if values[0] is not None else None)
        start += width
    return instances


def instances_insert(*objects: Model) -> None:
    """Inserts new ``objects`` (of any models), each with every concrete
    field (an automatic primary key left to the database, and not read
    back), all or none. For a hot path's few rows, where the ORM's ``save``
    cost more to build than to run; a unique violation raises Django's
    ``IntegrityError`` as ``save`` would, and leaves nothing written.

    On PostgreSQL the inserts travel as one message (Django's psycopg cursor
    binds values on the client, so a message may hold several statements).
    Outside a transaction the server runs that message as one implicit
    transaction: no BEGIN and COMMIT round trips. Inside one, or on SQLite
    (one statement at a time), they run in a savepoint or a transaction of
    their own."""
    connection = connections[router.db_for_write(type(objects[0]))]
    quote = connection.ops.quote_name
    statements: list[str] = []
    values: list[Any] = []
    for obj in objects:
        meta = obj._meta
        fields = [f for f in meta.concrete_fields
                  if not (f.primary_key and getattr(obj, f.attname) is None)]
        statements.append("INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - model names
            quote(meta.db_table), ", ".join(quote(str(f.column)) for f in fields),
            ", ".join(["%s"] * len(fields))))
        values.append([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
    one_message = connection.vendor == "postgresql"
    with (contextlib.nullcontext() if one_message and not connection.in_atomic_block
          else transaction.atomic(using=connection.alias)), connection.cursor() as cursor:
        if one_message:
            cursor.execute("; ".join(statements), [v for own in values for v in own])
        else:
            for sql, own in zip(statements, values, strict=True):
                cursor.execute(sql, own)
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias
