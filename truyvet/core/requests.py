from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address. Behind the trusted TLS proxy, the address that
    proxy saw: the last entry of X-Forwarded-For, the one the proxy itself
    added. Earlier entries come from the client and can be forged, so they
    must not key a rate limit (docs/deploy.md has nginx replace the header)."""
    if request is None:
        return None
    if getattr(settings, "BEHIND_TLS_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None
