from django.contrib import admin
from django.urls import include, path, re_path

from truyvet.accounts import views as accounts_views
from truyvet.api import api
from truyvet.checkins import urls as checkin_urls
from truyvet.checkins import views as checkin_views
from truyvet.core import inbox as core_inbox
from truyvet.core import views as core_views
from truyvet.site import views as site_views
from truyvet.venues import urls as venue_urls

urlpatterns = [
    path("", site_views.home, name="home"),
    path("manifest.webmanifest", core_views.manifest, name="manifest"),
    path("sw.js", core_views.service_worker, name="service_worker"),
    path("offline/", core_views.offline, name="offline"),
    # Before Django's: the same switch, keeping a signed-in person's choice.
    path("i18n/setlang/", accounts_views.language_choose_view, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    re_path(r"^api/", core_views.api_not_found),
    path("accounts/", include("truyvet.accounts.urls")),
    path("places/", include("truyvet.places.urls")),
    # /venues/ and the "venues" namespace hold the venues' pages and, from
    # checkins, each venue's visitor log.
    path("venues/", include((venue_urls.urlpatterns + checkin_urls.venue_urlpatterns,
                             venue_urls.app_name))),
    path("checkins/", include("truyvet.checkins.urls")),
    path("tracing/", include("truyvet.tracing.urls")),
    path("reports/", include("truyvet.reports.urls")),
    path("certificates/", include("truyvet.certificates.urls")),
    path("certificates/", include("truyvet.certificates.issuing.urls")),
    path("vaccination/", include("truyvet.vaccination.urls")),
    path("declarations/", include("truyvet.declarations.urls")),
    path("levels/", include("truyvet.declarations.levels_urls")),
    path("inbox/", core_inbox.inbox_view, name="inbox"),
    # The path printed in every venue QR: keep it exactly /v/<token>.
    path("v/<str:token>", checkin_views.venue_scan_view, name="venue_scan"),
    # The admin's password form is replaced: staff sign in through the app's
    # login, which has the lockouts (decisions/0009, core.views.admin_login).
    path("django-admin/login/", core_views.admin_login, name="admin_login"),
    path("django-admin/", admin.site.urls),
]
