"""Read replicas for dashboards and reports.

When ``DATABASE_REPLICA_URL`` is set, settings add a ``"replica"`` alias (a
streaming replica of the primary) and install ``ReplicaRouter``. Writes and
migrations go to ``"default"``, and so does every read not marked below
(unless it follows a relation from an object read on the replica).

What may read from the replica is a choice made where the read is written,
because lag is harmless on a dashboard and wrong almost everywhere else (a
login, a check-in's duplicate test, a page shown right after a write). A
router sees only the model, so there are two explicit ways in:

- a selector that serves a dashboard, a report or an export writes
  ``Model.objects.using(reporting_db())``;
- a model that only dashboards read (a rollup) sets the class attribute
  ``replica_reads = True``, and the router sends its reads to
  ``reporting_db()``.

``reporting_db()`` answers ``"default"`` when there is no replica, and also
inside a transaction on the primary: code that reads while it writes (a job
rebuilding a rollup, say) must see its own writes.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"


def replica_configured() -> bool:
    return REPLICA in connections.settings


def reporting_db() -> str:
    """The alias for dashboard and report reads: the replica when one is
    configured and the caller is not inside a transaction on the primary,
    else the primary."""
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA


class ReplicaRouter:
    """Reads of models with ``replica_reads = True`` go to ``reporting_db()``;
    everything else, and every write, to the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if getattr(model, "replica_reads", False):
            return reporting_db()
        # Django's default: the primary, or, for an object reached from
        # another (``visit.venue``), the database that object came from.
        return None

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both aliases hold the same data, so an object read from the replica
        # may be related to one from the primary.
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica receives the schema through replication.
        return db != REPLICA
