"""How API callers prove who they are: the browser session (with CSRF, for
our own pages' htmx and fetch calls) or a bearer token (for mobile apps).

A bearer token is checked by whichever authentication backend of
``settings.AUTHENTICATION_BACKENDS`` accepts a ``bearer_token``
(``truyvet.accounts.backends.TokenBackend``): core knows no app, and the
token store stays with the accounts that own it.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

from django.contrib.auth import get_backends
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth


@cache
def _token_backends() -> tuple[Any, ...]:
    """The configured backends whose ``authenticate`` takes a
    ``bearer_token``, found once per process: ``django.contrib.auth.authenticate``
    inspects every backend's signature on every call, which cost more than
    the rest of a check-in's authentication (decision 0013)."""
    return tuple(
        backend for backend in get_backends()
        if "bearer_token" in inspect.signature(backend.authenticate).parameters
    )


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        for backend in _token_backends():
            user = backend.authenticate(request, bearer_token=token)
            if user is not None:
                request.user = user
                return user
        return None


class ActiveSession(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


# Endpoints that need a logged-in caller accept either.
logged_in = [BearerToken(), ActiveSession()]
