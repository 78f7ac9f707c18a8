from django.contrib import admin
from django.urls import include, path, re_path

from truyvet.api import api
from truyvet.core import inbox as core_inbox
from truyvet.core import views as core_views
from truyvet.venues import views as venue_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("manifest.webmanifest", core_views.manifest, name="manifest"),
    path("sw.js", core_views.service_worker, name="service_worker"),
    path("offline/", core_views.offline, name="offline"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    re_path(r"^api/", core_views.api_not_found),
    path("accounts/", include("truyvet.accounts.urls")),
    path("places/", include("truyvet.places.urls")),
    path("venues/", include("truyvet.venues.urls")),
    path("checkins/", include("truyvet.checkins.urls")),
    path("tracing/", include("truyvet.tracing.urls")),
    path("reports/", include("truyvet.reports.urls")),
    path("vaccination/", include("truyvet.vaccination.urls")),
    path("inbox/", core_inbox.inbox_view, name="inbox"),
    # The path printed in every venue QR: keep it exactly /v/<token>.
    path("v/<str:token>", venue_views.scan_view, name="venue_scan"),
    path("django-admin/", admin.site.urls),
]
