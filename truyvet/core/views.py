from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt


@cache_control(max_age=3600, public=True)
def manifest(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "name": "truyvet",
            "short_name": "truyvet",
            "description": _("Khai báo, quét mã QR và truy vết COVID-19"),
            "lang": "vi",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b6e4f",
            "icons": [
                {"src": static("core/icon.svg"), "sizes": "any", "type": "image/svg+xml",
                 "purpose": "any maskable"},
            ],
        },
        content_type="application/manifest+json",
    )


def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from the site root so its scope covers every page. The version
    names the cache of the app shell: change it when a shell file changes
    (v2: app.js marks busy forms), or phones keep the old file."""
    response = render(
        request, "core/sw.js", {"version": "v2"},
        content_type="application/javascript",
    )
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "core/offline.html")


@csrf_exempt  # it changes nothing; a POST must get the shaped 404, not the CSRF page
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Unknown paths under /api/ answer in the API's error shape, not HTML."""
    return JsonResponse(
        {"ok": False, "status": 404, "error": _("Không tìm thấy địa chỉ API này."),
         "code": "not_found", "errors": []},
        status=404,
    )


@csrf_exempt  # it reads no credentials and changes nothing: any method just moves on
def admin_login(request: HttpRequest) -> HttpResponse:
    """Stands in for the Django admin's own login form, which checked
    passwords with no lockout and no per-address limit. Staff sign in on
    the app's login page, with its limits (accounts.services.account_login),
    and reach the admin with that session; the admin itself still requires
    ``is_staff``. This page never reads a password: it sends anonymous
    visitors to the app's login and signed-in staff on to the admin, and
    refuses everyone else (a redirect would loop between the two logins).
    """
    target = request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    user = request.user
    if not user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': target})}")
    if user.is_active and user.is_staff:
        return redirect(target)
    raise PermissionDenied
