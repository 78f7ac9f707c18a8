"""Model instances from hand-written SQL on the hot paths (decision 0013):
the ORM's query building cost more than the reads it built, and
``RawQuerySet`` more than a plain cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
        column = field.get_col(field.model._meta.db_table)
        for converter in (*connection.ops.get_db_converters(column),
                          *column.get_db_converters(connection)):
            converted[index] = converter(converted[index], column, connection)
    return converted


def instance_from_row(model: type[Model], connection: BaseDatabaseWrapper,
                      values: Sequence[Any]) -> Any:
    """An instance of ``model`` from its concrete fields' ``values`` in order."""
    fields = list(model._meta.concrete_fields)
    return model.from_db(connection.alias, [f.attname for f in fields],
                         python_values(connection, fields, values))
