from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class PhoneBackend(ModelBackend):
    """Authenticates by phone number written any common way (0912 345 678,
    +84912345678, 84912345678): the number is normalised before lookup."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None,
        password: str | None = None, **kwargs: Any,
    ) -> Any:
        from truyvet.accounts.phones import PhoneError, normalize_phone

        raw = username or kwargs.get("phone")
        if not raw or password is None:
            return None
        try:
            phone = normalize_phone(raw)
        except PhoneError:
            return None
        return super().authenticate(request, username=phone, password=password)
