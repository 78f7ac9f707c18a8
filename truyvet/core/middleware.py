"""Response hardening that Django 5.2 does not do by itself.

- ``ContentSecurityPolicyMiddleware`` sends the ``Content-Security-Policy``
  built from ``settings.SECURE_CSP`` (the same shape as Django 6.0's setting
  of that name, so the upgrade can swap this class for Django's). Pages run
  no inline script: behaviour lives in static files, htmx is configured not
  to evaluate code. A page that truly needs an inline ``<script>`` writes
  ``nonce="{{ request.csp_nonce }}"``; the nonce is generated only when a
  template asks for it, and only then added to the header.
- ``RequestSizeLimitMiddleware`` refuses a body larger than
  ``MAX_REQUEST_BYTES`` before anything reads it. Django's own
  ``DATA_UPLOAD_MAX_MEMORY_SIZE`` leaves file parts of multipart uploads
  uncounted, and the JSON API's oversize error surfaced as a 500; here every
  oversize request gets a 413, in the API's error shape under ``/api/``.
  Views that take larger files (a site's vaccination list) are registered
  with ``allow_large_body``; their bodies are measured against their own
  limit once the URL is resolved, still before anything reads them.
- ``DatabaseFaultMiddleware`` turns a database that is unreachable,
  restarting, read-only or full into a 503 with ``Retry-After`` and a
  message saying so (``truyvet.core.dbfaults``), for the pages and for
  anything under ``/api/`` that the API's own handlers did not answer.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.html import escape
from django.utils.translation import gettext as _

from truyvet.core.dbfaults import DatabaseFault, database_fault, log_fault

# Stands for this response's nonce in a SECURE_CSP source list.
NONCE = "<nonce>"

# Templates rendered without a request (and so without a nonce) that carry
# an inline <style>: the 500 page must not depend on static files. Their
# styles are allowed by hash, computed from the template itself.
HASHED_STYLE_TEMPLATES = ("500.html",)
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


@cache
def inline_style_hashes() -> tuple[str, ...]:
    """CSP sources (``'sha256-…'``) for the inline styles of
    ``HASHED_STYLE_TEMPLATES``; computed once per process."""
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    sources = []
    for name in HASHED_STYLE_TEMPLATES:
        try:
            source = get_template(name).template.source  # type: ignore[attr-defined]
        except TemplateDoesNotExist:
            continue
        for block in _STYLE_BLOCK.findall(source):
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            sources.append(f"'sha256-{digest}'")
    return tuple(sources)


def build_policy(directives: dict[str, Iterable[str]], nonce: str | None) -> str:
    """The header value: one ``name source …`` clause per directive. The
    ``NONCE`` placeholder becomes ``'nonce-…'`` when a nonce was used, and is
    dropped otherwise."""
    clauses = []
    for name, sources in directives.items():
        values = []
        for source in sources:
            if source == NONCE:
                if nonce:
                    values.append(f"'nonce-{nonce}'")
            else:
                values.append(source)
        if name == "style-src":
            values.extend(inline_style_hashes())
        clauses.append(" ".join([name, *values]) if values else name)
    return "; ".join(clauses)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        used: list[str] = []

        def make_nonce() -> str:
            used.append(secrets.token_urlsafe(16))
            return used[0]

        request.csp_nonce = SimpleLazyObject(make_nonce)  # type: ignore[attr-defined]
        response = self.get_response(request)
        directives: dict[str, Iterable[str]] = getattr(settings, "SECURE_CSP", {})
        if directives and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = build_policy(
                directives, used[0] if used else None
            )
        return response


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{size / 1024:.0f} KB"


# Views that take larger uploads than MAX_REQUEST_BYTES (a site's list of
# 100,000 doses, three photos of a paper certificate), by URL name ("app:name",
# or "api:<url_name>" for an API operation), each with a function giving its
# limit. Filled in by the apps that own those views (``AppConfig.ready``).
LARGE_BODIES: dict[str, Callable[[], int]] = {}


def allow_large_body(view_name: str, limit: Callable[[], int]) -> None:
    """Lets the view named ``view_name`` receive bodies up to ``limit()``."""
    LARGE_BODIES[view_name] = limit


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body at all for a malformed length
        if limit is not None and length > limit:
            largest = max((allowed() for allowed in LARGE_BODIES.values()), default=0)
            if length > largest:
                return too_large(request, limit)
            # Which view it is for is known once the URL is resolved: then.
            request._truyvet_body_length = length  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any
                     ) -> HttpResponse | None:
        """Runs before any view or later middleware (CSRF) reads the body."""
        length = getattr(request, "_truyvet_body_length", None)
        if length is None:
            return None
        match = request.resolver_match
        allowed = LARGE_BODIES.get(match.view_name if match else "")
        limit = allowed() if allowed is not None else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return too_large(request, limit)
        return None


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = _("Dữ liệu gửi lên quá lớn (tối đa %(size)s).") % {"size": _human_size(limit)}
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"ok": False, "status": 413, "error": message, "code": "too_large", "errors": []},
            status=413,
        )
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


# --- Database faults ------------------------------------------------------------------


def database_fault_response(request: HttpRequest, fault: DatabaseFault) -> HttpResponse:
    """The 503 for ``fault``: the API's error shape under ``/api/``, else a
    page that needs nothing from the database (no template context, no
    user, no static files)."""
    language = getattr(request, "LANGUAGE_CODE", None) or settings.LANGUAGE_CODE
    with translation.override(language):
        message = str(fault.message)
        title = _("Hệ thống tạm thời gián đoạn")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"ok": False, "status": fault.status, "error": message, "code": fault.code,
             "errors": []},
            status=fault.status,
        )
    else:
        page = (
            f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
            f"<p>{escape(message)}</p></main></body></html>"
        )
        response = HttpResponse(page, status=fault.status, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(fault.retry_after)
    response["Cache-Control"] = "no-store"
    response["X-Truyvet-Error"] = fault.code
    return response


def _remember_fault(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """An exception raised outside a view (say by the session middleware
    saving a session) is turned into a 500 by Django's handler at the layer
    that raised it, before ``DatabaseFaultMiddleware`` sees it. Django sends
    this signal while that exception is being handled; the middleware then
    replaces that 500 with the 503."""
    import sys

    exc = sys.exc_info()[1]
    if request is not None and exc is not None:
        fault = database_fault(exc)
        if fault is not None:
            log_fault(fault, exc, request)
            request._database_fault = fault  # type: ignore[attr-defined]


got_request_exception.connect(_remember_fault, dispatch_uid="truyvet.database_fault")


class DatabaseFaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        fault: DatabaseFault | None = getattr(request, "_database_fault", None)
        if fault is not None and response.status_code == 500:
            return database_fault_response(request, fault)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        fault = database_fault(exc)
        if fault is None:
            return None  # a bug: Django's 500 as before
        log_fault(fault, exc, request)
        return database_fault_response(request, fault)


class HtmlGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware for pages only (decision 0020): HTML is what a
    phone on a slow network waits for; static files come compressed from
    WhiteNoise, and API answers are small JSON that clients (the offline
    queue, the door devices, API fuzzing) read as sent."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase
                         ) -> HttpResponseBase:
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)

