from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address, which keys the per-address rate limits.

    Without a proxy it is the peer of the connection. Behind proxies
    (``BEHIND_TLS_PROXY``) each trusted proxy appends the address it saw to
    X-Forwarded-For, so with ``TRUSTED_PROXY_HOPS`` = N the N-th entry from
    the right is the address the outermost trusted proxy saw: the client.
    Entries further left were written by the client and can be forged, and
    entries further right are our own proxies, which every caller shares.
    A header shorter than N means the request skipped an outer proxy; its
    leftmost entry is then the farthest address any trusted proxy saw
    (docs/deploy.md: only the outermost proxy may be reachable)."""
    if request is None:
        return None
    if getattr(settings, "BEHIND_TLS_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            hops = max(1, int(getattr(settings, "TRUSTED_PROXY_HOPS", 1)))
            return entries[-hops] if len(entries) >= hops else entries[0]
    return request.META.get("REMOTE_ADDR") or None
