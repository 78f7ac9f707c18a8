"""What the app answers when the database itself fails, in one place.

An unreachable or restarting database, one switched to read-only and one
that is full are not bugs in a request: they are states of the service, and
every client (a browser, the citizens' app, a controller's offline queue)
should be told to come back later rather than shown a server error. So
each becomes a 503 with ``Retry-After`` and a message in the user's
language saying which it is; the JSON API gives it in the API's error shape
(``truyvet.api``), the pages as a small page of their own
(``truyvet.core.middleware.DatabaseFaultMiddleware``).

Nothing is half-saved: services write in transactions, and a transaction
that failed this way is rolled back (or never reached the database). A
connection that broke is not reused: Django marks it after any error other
than a data or integrity error and closes it at the end of the request
(``close_if_unusable_or_obsolete``), and ``CONN_HEALTH_CHECKS`` replaces a
persistent connection that died between requests before it is used, so the
app recovers by itself when the database is back.

Only failures recognised below are faults; any other database error (a
missing table, a bad query) stays a 500, because it is a bug to be seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("truyvet.dbfaults")


@dataclass(frozen=True)
class DatabaseFault:
    code: str
    message: str | Promise
    retry_after: int  # seconds
    status: int = 503


UNAVAILABLE = DatabaseFault(
    "database_unavailable",
    _("Hệ thống tạm thời không kết nối được cơ sở dữ liệu nên chưa xử lý được yêu cầu. "
      "Dữ liệu chưa được ghi; vui lòng thử lại sau ít giây."),
    retry_after=5,
)
BUSY = DatabaseFault(
    "database_busy",
    _("Cơ sở dữ liệu đang quá tải nên chưa xử lý được yêu cầu. Dữ liệu chưa được ghi; "
      "vui lòng thử lại sau ít giây."),
    retry_after=5,
)
READ_ONLY = DatabaseFault(
    "database_read_only",
    _("Cơ sở dữ liệu đang ở chế độ chỉ đọc (bảo trì) nên chưa ghi nhận được thay đổi. "
      "Dữ liệu chưa được ghi; vui lòng thử lại sau."),
    retry_after=60,
)
FULL = DatabaseFault(
    "database_full",
    _("Cơ sở dữ liệu đã hết dung lượng lưu trữ nên chưa ghi nhận được thay đổi. Dữ liệu "
      "chưa được ghi; vui lòng thử lại sau và báo quản trị hệ thống nếu lỗi còn tiếp diễn."),
    retry_after=300,
)

# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/15/errcodes-appendix.html).
_PG_READ_ONLY = {"25006"}  # read_only_sql_transaction (also a hot standby)
_PG_FULL = {"53100"}  # disk_full
_PG_BUSY = {"53000", "53200", "53300", "53400"}  # insufficient resources, too many connections
# admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down),
# database_dropped; class 08 (connection exceptions) is matched by prefix.
_PG_UNAVAILABLE = {"57P01", "57P02", "57P03", "57P04", "57P05"}

# SQLite reports these as OperationalError with a fixed text (sqlite3.c).
_SQLITE_TEXTS = (
    ("attempt to write a readonly database", READ_ONLY),
    ("database or disk is full", FULL),
    ("database is locked", BUSY),
    ("unable to open database file", UNAVAILABLE),
    ("disk i/o error", UNAVAILABLE),
)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from: Django wraps the driver's error
    (``django.db.utils.OperationalError`` from ``psycopg.OperationalError``)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _classify_one(exc: BaseException) -> DatabaseFault | None:
    module = type(exc).__module__
    name = type(exc).__name__
    if module.startswith("psycopg"):
        sqlstate: str | None = getattr(exc, "sqlstate", None)
        if sqlstate in _PG_READ_ONLY:
            return READ_ONLY
        if sqlstate in _PG_FULL:
            return FULL
        if sqlstate in _PG_BUSY:
            return BUSY
        if sqlstate in _PG_UNAVAILABLE or (sqlstate or "").startswith("08"):
            return UNAVAILABLE
        # No SQLSTATE: the client library lost or could not open the
        # connection ("connection refused", "server closed the connection
        # unexpectedly", "the connection is closed").
        # (psycopg.errors.ConnectionTimeout is a subclass: compare the classes.)
        if sqlstate is None and any(
            cls.__name__ in {"OperationalError", "InterfaceError"}
            and cls.__module__.startswith("psycopg") for cls in type(exc).__mro__
        ):
            return UNAVAILABLE
        return None
    if module == "sqlite3" and name == "OperationalError":
        text = str(exc).lower()
        for fragment, fault in _SQLITE_TEXTS:
            if fragment in text:
                return fault
    return None


def database_fault(exc: BaseException) -> DatabaseFault | None:
    """The fault ``exc`` reports, or None if it is not one of the states
    above (then it is a bug and stays a 500)."""
    from django.db import DatabaseError as DjangoDatabaseError

    chain = _chain(exc)
    if not any(isinstance(e, DjangoDatabaseError) or type(e).__module__.startswith(
            ("psycopg", "sqlite3")) for e in chain):
        return None
    for item in chain:
        fault = _classify_one(item)
        if fault is not None:
            return fault
    # Django's own InterfaceError for a connection it already closed.
    from django.db import InterfaceError

    if any(isinstance(e, InterfaceError) for e in chain):
        return UNAVAILABLE
    return None


def log_fault(fault: DatabaseFault, exc: BaseException, request: Any = None) -> None:
    """One line per failed request, no traceback: during a restart there are
    hundreds, and the cause is the database, not the code."""
    path = getattr(request, "path", "") if request is not None else ""
    logger.warning("%s (503) %s: %s: %s", fault.code, path, type(exc).__name__,
                   str(exc).strip().splitlines()[0] if str(exc).strip() else "")
