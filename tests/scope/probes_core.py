"""Endpoints of core and places: none of them shows personal data."""

from __future__ import annotations

from .framework import Probe

PROBES: list[Probe] = []

PUBLIC = {
    "page home": "the home page shows only the caller's own links",
    "page manifest": "PWA manifest",
    "page service_worker": "PWA service worker",
    "page offline": "offline fallback page",
    "page set_language": "language switch",
    "page places:search": "administrative units are public",
    "page places:detail": "administrative units are public",
    "GET /api/v1/health": "liveness check",
    "GET /api/v1/places/units": "administrative units are public",
    "GET /api/v1/places/units/{code}": "administrative units are public",
    "page api:openapi-json": "the API's schema",
    "page api:openapi-view": "the API's documentation page",
    "page admin_login": "reads no credentials: sends visitors to the app's login",
}
