"""How people prove who they are: a password for their phone number (pages,
``PhoneBackend``) or a bearer token (mobile apps, ``TokenBackend``).

Both are Django authentication backends listed in
``settings.AUTHENTICATION_BACKENDS``, so ``truyvet.core.api_auth`` checks a
bearer token with ``django.contrib.auth.authenticate`` and never needs to
know that tokens are kept in ``accounts.AccessToken``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from truyvet.accounts.models import AccessToken, User
from truyvet.accounts.phones import PhoneError, normalize_phone

# A token's last-used time is written at most this often, to keep reads cheap.
LAST_USED_RESOLUTION_SECONDS = 60


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
        now = timezone.now()
        access = (
            AccessToken.objects.select_related("user")
            .filter(key_hash=hash_token(bearer_token), expires_at__gt=now, user__is_active=True)
            .first()
        )
        if access is None:
            return None
        if (access.last_used_at is None
                or (now - access.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS):
            AccessToken.objects.filter(pk=access.pk).update(last_used_at=now)
        return access.user
