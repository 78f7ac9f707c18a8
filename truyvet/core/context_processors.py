from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from truyvet.core import permissions


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "is_official": permissions.is_official(user),
        "public_base_url": settings.PUBLIC_BASE_URL,
    }
