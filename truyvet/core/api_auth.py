"""How API callers prove who they are: the browser session (with CSRF, for
our own pages' htmx and fetch calls) or a bearer token (for mobile apps)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from truyvet.accounts.models import AccessToken

        now = timezone.now()
        access = (
            AccessToken.objects.select_related("user")
            .filter(key_hash=hash_token(token), expires_at__gt=now, user__is_active=True)
            .first()
        )
        if access is None:
            return None
        # Write the last-used time at most once a minute to keep reads cheap.
        if access.last_used_at is None or (now - access.last_used_at).total_seconds() > 60:
            AccessToken.objects.filter(pk=access.pk).update(last_used_at=now)
        request.user = access.user
        return access.user


class ActiveSession(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


# Endpoints that need a logged-in caller accept either.
logged_in = [BearerToken(), ActiveSession()]
