"""Read replicas for dashboards and reports.

When ``DATABASE_REPLICA_URL`` is set, settings add a ``"replica"`` alias (a
streaming replica of the primary) and install ``ReplicaRouter``. Writes and
migrations go to ``"default"``, and so does every read not made through
``reporting_read`` (unless it follows a relation from an object read on the
replica).

What may read from the replica is a choice made where the read is written,
because lag is harmless on a dashboard and wrong almost everywhere else (a
login, a check-in's duplicate test, a page shown right after a write). A
router sees only the model, so a selector that serves a dashboard, a report
or an export opts in explicitly::

    return reporting_read(lambda using: _figures(scope, using=using))

where every query of ``_figures`` is ``Model.objects.using(using)``. The
alias is ``reporting_db()``: the replica when one is configured and
answering, else the primary; and the primary inside a transaction on the
primary, because code that reads while it writes must see its own writes.

A replica that cannot be reached (stopped, restarting, unreachable, or a
kept connection to it that died) is not an error: the read
runs again on the primary, a warning is logged, and for the next
``REPLICA_RETRY_SECONDS`` this process sends reporting reads straight to the
primary without trying the replica. There is no probe: the replica is tried
by the reads themselves, so a healthy replica costs nothing extra and a dead
one costs one failed attempt per process per window.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
)

REPLICA = "replica"
# How long reporting reads stay on the primary after the replica failed to
# answer, before one of them tries the replica again.
REPLICA_RETRY_SECONDS = 30.0

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ReplicaHealth:
    """Whether this process is reading the primary because the replica
    failed to answer. Per process on purpose: each instance finds out for
    itself, at the cost of one failed read, and a stale answer from another
    instance could keep a recovered replica unused."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._down_until = 0.0
        self._was_down = False

    def is_down(self) -> bool:
        return self.clock() < self._down_until

    def mark_down(self, error: BaseException) -> None:
        self._down_until = self.clock() + REPLICA_RETRY_SECONDS
        self._was_down = True
        logger.warning(
            "The read replica did not answer (%s); dashboard and report reads go to the "
            "primary for the next %.0f s.", str(error).strip() or type(error).__name__,
            REPLICA_RETRY_SECONDS,
        )

    def mark_answering(self) -> None:
        if self._was_down:
            self._was_down = False
            logger.info("The read replica answers again; dashboard and report reads use it.")

    def reset(self) -> None:
        self._down_until = 0.0
        self._was_down = False


replica_health = ReplicaHealth()


def replica_configured() -> bool:
    return REPLICA in connections.settings


def reporting_db() -> str:
    """The alias for dashboard and report reads: the replica when one is
    configured, answering, and the caller is not inside a transaction on the
    primary; else the primary."""
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if replica_health.is_down():
        return DEFAULT_DB_ALIAS
    return REPLICA


def reporting_read(read: Callable[[str], T]) -> T:
    """``read(alias)`` with ``alias`` from ``reporting_db()``; when that is the
    replica and the replica cannot be reached, ``read(primary)`` instead
    (see the module's docstring).

    ``read`` only reads, may therefore run twice, and returns evaluated
    results (lists, numbers), not lazy querysets, so that every query runs
    inside it."""
    alias = reporting_db()
    if alias != REPLICA:
        return read(alias)
    try:
        result = read(alias)
    except (OperationalError, InterfaceError) as error:
        replica = connections[REPLICA]
        # An error of the read itself (a query cancelled on the replica, say)
        # is the caller's, as it would be on the primary; only a replica
        # that no longer answers at all sends the read to the primary.
        if replica.connection is not None and replica.is_usable():
            raise
        with contextlib.suppress(DatabaseError):
            replica.close()
        replica_health.mark_down(error)
        return read(DEFAULT_DB_ALIAS)
    replica_health.mark_answering()
    return result


class ReplicaRouter:
    """Every write, and every read that does not name the replica, goes to
    the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        instance = hints.get("instance")
        if (instance is not None and instance._state.db == REPLICA
                and replica_health.is_down()):
            # A relation followed from an object read on the replica before
            # it stopped answering.
            return DEFAULT_DB_ALIAS
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
