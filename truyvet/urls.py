from django.contrib import admin
from django.urls import include, path

from truyvet.api import api
from truyvet.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("manifest.webmanifest", core_views.manifest, name="manifest"),
    path("sw.js", core_views.service_worker, name="service_worker"),
    path("offline/", core_views.offline, name="offline"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("accounts/", include("truyvet.accounts.urls")),
    path("places/", include("truyvet.places.urls")),
    path("django-admin/", admin.site.urls),
]
