"""How people prove who they are: a password for their phone number (pages,
``PhoneBackend``) or a bearer token (mobile apps, ``TokenBackend``).

Both are Django authentication backends listed in
``settings.AUTHENTICATION_BACKENDS``, so ``truyvet.core.api_auth`` checks a
bearer token with ``django.contrib.auth.authenticate`` and never needs to
know that tokens are kept in ``accounts.AccessToken``.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from truyvet.accounts.models import AccessToken, User
from truyvet.accounts.phones import PhoneError, normalize_phone

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
        """One indexed read of the token and its account, remembered for
        ACCESS_TOKEN_CACHE_SECONDS (decision 0013): within that bound a
        token deleted, or an account deactivated, through another instance
        may still be accepted here; through this one it is refused at once
        (``token_cache_forget``). Each request gets its own ``User``."""
        key_hash = hash_token(bearer_token)
        now = timezone.now()
        found = _CHECKED.get(key_hash)
        if found is not None:
            until, expires_at, fields = found
            if time.monotonic() < until and now < expires_at:
                return User(**fields)
            _CHECKED.pop(key_hash, None)
        access = (
            AccessToken.objects.select_related("user")
            .filter(key_hash=key_hash, expires_at__gt=now, user__is_active=True)
            .first()
        )
        if access is None:
            return None
        if (access.last_used_at is None
                or (now - access.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS):
            AccessToken.objects.filter(pk=access.pk).update(last_used_at=now)
        if settings.ACCESS_TOKEN_CACHE_SECONDS:
            user = access.user
            fields = {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields}
            _CHECKED[key_hash] = (time.monotonic() + settings.ACCESS_TOKEN_CACHE_SECONDS,
                                  access.expires_at, fields)
        return access.user
