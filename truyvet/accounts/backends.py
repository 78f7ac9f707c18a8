"""How people prove who they are: a password for their phone number (pages,
``PhoneBackend``) or a bearer token (mobile apps, ``TokenBackend``).

Both are Django authentication backends listed in
``settings.AUTHENTICATION_BACKENDS``, so ``truyvet.core.api_auth`` checks a
bearer token with ``django.contrib.auth.authenticate`` and never needs to
know that tokens are kept in ``accounts.AccessToken``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.db import DatabaseError, connections, router
from django.db.models import Field
from django.http import HttpRequest
from django.utils import timezone

from truyvet.accounts.models import AccessToken, User
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.core.rawrows import python_values

logger = logging.getLogger(__name__)

# A token's last-used time is written at most this often, to keep reads cheap.
LAST_USED_RESOLUTION_SECONDS = 60

# Tokens checked in the database, by hash: (monotonic expiry of this entry, the
# token's own expiry, the account's fields). See ``TokenBackend``.
_CHECKED: dict[str, tuple[float, datetime, dict[str, Any]]] = {}


def token_cache_forget(*, key_hash: str | None = None, user_id: int | None = None) -> None:
    """Forgets checked tokens: one by its hash, every token of an account,
    or all when neither is given. Called when a token is deleted and when
    an account is saved (``AccountsConfig.ready``), so this instance refuses
    a revoked token, or a deactivated account, at its next request."""
    if key_hash is not None:
        _CHECKED.pop(key_hash, None)
    elif user_id is not None:
        for found, (_until, _expires, fields) in list(_CHECKED.items()):
            if fields.get("id") == user_id:
                _CHECKED.pop(found, None)
    else:
        _CHECKED.clear()


def hash_token(raw: str) -> str:
    """What is stored of a token: only its hash, so a leaked table grants nothing."""
    return hashlib.sha256(raw.encode()).hexdigest()


class PhoneBackend(ModelBackend):
    """Authenticates by phone number written any common way (0912 345 678,
    +84912345678, 84912345678): the number is normalised before lookup."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None,
        password: str | None = None, **kwargs: Any,
    ) -> Any:
        raw = username or kwargs.get("phone")
        if not raw or password is None:
            return None
        try:
            phone = normalize_phone(raw)
        except PhoneError:
            return None
        return super().authenticate(request, username=phone, password=password)


class TokenBackend(BaseBackend):
    """Authenticates an API call by the bearer token ``token_issue`` gave the
    caller: unexpired, of an active account. Never used for sessions (a
    session remembers ``PhoneBackend``), so ``get_user`` stays the base's."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, *, bearer_token: str
    ) -> User | None:
        """One indexed read of the token and its account, in plain SQL (the
        ORM's query cost more to build than to run), remembered for
        ACCESS_TOKEN_CACHE_SECONDS (decision 0013): within that bound a
        token deleted, or an account deactivated, through another instance
        may still be accepted here; through this one it is refused at once
        (``token_cache_forget``). Nothing is written on the request's way:
        the last-used time is noted in memory (``_note_used``). Each
        request gets its own ``User``."""
        key_hash = hash_token(bearer_token)
        now = timezone.now()
        found = _CHECKED.get(key_hash)
        if found is not None:
            until, expires_at, fields = found
            if time.monotonic() < until and now < expires_at:
                return User(**fields)
            _CHECKED.pop(key_hash, None)
        row = _token_row(key_hash, now)
        if row is None:
            return None
        token_id, expires_at, last_used_at, *values = row
        user = User.from_db(_alias(), [f.attname for f in User._meta.concrete_fields], values)
        _note_used(token_id, last_used_at, now)
        if settings.ACCESS_TOKEN_CACHE_SECONDS:
            fields = {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields}
            _CHECKED[key_hash] = (time.monotonic() + settings.ACCESS_TOKEN_CACHE_SECONDS,
                                  expires_at, fields)
        return user


def _alias() -> str:
    return router.db_for_read(AccessToken)


def _token_row(key_hash: str, now: datetime) -> tuple[Any, ...] | None:
    """The token's id, expiry and last use, then its account's field values
    in the model's order (as ``User.from_db`` takes them): the token
    unexpired, the account active."""
    connection = connections[_alias()]
    quote = connection.ops.quote_name
    token_fields = [cast("Field[Any, Any]", AccessToken._meta.get_field(name))
                    for name in ("id", "expires_at", "last_used_at")]
    fields: list[Field[Any, Any]] = [*token_fields, *User._meta.concrete_fields]
    columns = ", ".join(
        [f"t.{quote(str(f.column))}" for f in token_fields]
        + [f"u.{quote(str(f.column))}" for f in User._meta.concrete_fields])
    sql = (
        f"SELECT {columns} FROM {quote(AccessToken._meta.db_table)} t "  # noqa: S608 - names from the models, values bound
        f"JOIN {quote(User._meta.db_table)} u ON u.id = t.user_id "
        "WHERE t.key_hash = %s AND t.expires_at > %s AND u.is_active"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash, connection.ops.adapt_datetimefield_value(now)])
        row = cursor.fetchone()
    if row is None:
        return None
    return tuple(python_values(connection, fields, row))


# Last uses noted since the last write, by token id (see ``_note_used``).
_USED: dict[int, datetime] = {}
_USED_LOCK = threading.Lock()
_USED_FLUSHED = [time.monotonic()]


def _note_used(token_id: int, last_used_at: datetime | None, now: datetime) -> None:
    """Keeps a token's last use in memory when the stored one is more than
    LAST_USED_RESOLUTION_SECONDS old, and writes all those noted by this
    process in one statement at most once per that interval (the devices
    page shows it to the minute). A scan itself writes nothing: a phone
    scans a few times a day, so almost every scan would have written. A
    process that dies loses at most that interval's notes."""
    if last_used_at is not None and (now - last_used_at).total_seconds() <= (
            LAST_USED_RESOLUTION_SECONDS):
        return
    with _USED_LOCK:
        _USED[token_id] = now
        if time.monotonic() - _USED_FLUSHED[0] < LAST_USED_RESOLUTION_SECONDS:
            return
        pending = dict(_USED)
        _USED.clear()
        _USED_FLUSHED[0] = time.monotonic()
    last_used_flush(pending)


def last_used_flush(pending: dict[int, datetime] | None = None) -> int:
    """Writes the noted last uses (``pending``, default all noted so far) in
    one UPDATE: every token named gets the latest of them, which is within
    LAST_USED_RESOLUTION_SECONDS of its own. Returns how many tokens it
    named. A failure loses them (they are a convenience) but never the
    request."""
    if pending is None:
        with _USED_LOCK:
            pending = dict(_USED)
            _USED.clear()
            _USED_FLUSHED[0] = time.monotonic()
    if not pending:
        return 0
    latest, ids = max(pending.values()), sorted(pending)
    try:
        # The latest use for all, a statement per 5,000 tokens: a minute of a
        # busy process's scans is many tokens.
        for start in range(0, len(ids), 5000):
            AccessToken.objects.filter(pk__in=ids[start:start + 5000]).update(
                last_used_at=latest)
    except DatabaseError:
        logger.warning("could not write the last use of %s tokens", len(pending), exc_info=True)
    return len(pending)
