from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
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
