"""How API callers prove who they are: the browser session (with CSRF, for
our own pages' htmx and fetch calls) or a bearer token (for mobile apps).

A bearer token is checked by whichever authentication backend of
``settings.AUTHENTICATION_BACKENDS`` accepts a ``bearer_token``
(``truyvet.accounts.backends.TokenBackend``): core knows no app, and the
token store stays with the accounts that own it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate(request, bearer_token=token)
        if user is None:
            return None
        request.user = user
        return user


class ActiveSession(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


# Endpoints that need a logged-in caller accept either.
logged_in = [BearerToken(), ActiveSession()]
