"""Helpers for the accounts tests: an API client that speaks as a given user (bearer token) in a given
language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from truyvet.accounts.models import OneTimeCode, Person, User
from truyvet.accounts.services import token_issue


class Api:
    """Calls /api/v1/ as ``user`` (anonymous when None) in ``language``."""

    def __init__(self, user: User | None = None, language: str | None = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {token_issue(user=user)}"
        if language is not None:
            self.headers["Accept-Language"] = language

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            f"/api/v1{path}", body or {}, content_type="application/json", headers=self.headers
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers)


@pytest.fixture
def api() -> type[Api]:
    return Api


def row_counts() -> tuple[int, int, int]:
    """People, accounts and one-time codes stored: what a bad request must
    leave unchanged."""
    return Person.objects.count(), User.objects.count(), OneTimeCode.objects.count()
