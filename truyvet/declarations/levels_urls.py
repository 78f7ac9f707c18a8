"""Epidemic-level pages, mounted at /levels/ by truyvet/urls.py (namespace
"levels"): public first, then the officials' pages under manage/ and the
residents of level-4 communes under residents/."""

from django.urls import path

from truyvet.declarations import levels_views as views

app_name = "levels"

urlpatterns = [
    path("", views.overview_view, name="overview"),
    path("manage/set/", views.set_view, name="set"),
    path("manage/suggest/", views.suggest_view, name="suggest"),
    path("manage/thresholds/", views.thresholds_view, name="thresholds"),
    path("manage/thresholds/<int:threshold_id>/delete/", views.threshold_delete_view,
         name="threshold_delete"),
    path("residents/", views.residents_index_view, name="residents"),
    path("residents/<str:code>/", views.residents_view, name="residents_commune"),
    path("residents/<str:code>/export.xlsx", views.residents_export_view,
         name="residents_export"),
    path("<str:code>/", views.overview_view, name="unit"),
]
