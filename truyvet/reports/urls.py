from django.urls import path, register_converter

from truyvet.reports import views


class ScopeConverter:
    """``nation`` or an administrative unit's id."""

    regex = "nation|[0-9]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


register_converter(ScopeConverter, "scope")

app_name = "reports"
urlpatterns = [
    path("", views.index_view, name="index"),
    path("files/<int:report_id>/", views.file_view, name="file"),
    path("<scope:scope>/", views.dashboard_view, name="dashboard"),
    path("<scope:scope>/chart/<str:name>.svg", views.chart_view, name="chart"),
    path("<scope:scope>/inactive/", views.inactive_view, name="inactive"),
    path("<scope:scope>/export.<str:fmt>", views.export_view, name="export"),
    path("<scope:scope>/files/", views.files_view, name="files"),
]
