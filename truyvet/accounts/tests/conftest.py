"""Helpers for the accounts tests: an API client that speaks as a given user
(bearer token) in a given language."""

from __future__ import annotations

import pytest

from truyvet.accounts.models import OneTimeCode, Person, User
from truyvet.testing import ApiClient


class Api(ApiClient):
    """Calls /api/v1 as ``user`` (anonymous when None) in ``language``."""

    prefix = "/api/v1"


@pytest.fixture
def api() -> type[Api]:
    return Api


def row_counts() -> tuple[int, int, int]:
    """People, accounts and one-time codes stored: what a bad request must
    leave unchanged."""
    return Person.objects.count(), User.objects.count(), OneTimeCode.objects.count()
