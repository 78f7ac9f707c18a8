"""What every page's navigation needs (``settings.TEMPLATES``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from truyvet.accounts import permissions as account_permissions


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "is_official": user is not None and account_permissions.is_official(user),
        "public_base_url": settings.PUBLIC_BASE_URL,
    }
