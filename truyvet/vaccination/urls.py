from django.urls import path, register_converter

from truyvet.vaccination import views


class ScopeConverter:
    """``nation`` or an administrative unit's id."""

    regex = "nation|[0-9]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


register_converter(ScopeConverter, "coverage_scope")

app_name = "vaccination"
urlpatterns = [
    path("", views.desk_view, name="desk"),
    path("me/", views.mine_view, name="mine"),
    path("sites/<str:code>/", views.site_view, name="site"),
    path("sites/<str:code>/record/", views.record_view, name="record"),
    path("sites/<str:code>/import/", views.import_view, name="import"),
    path("imports/<int:batch_id>/", views.import_detail_view, name="import_detail"),
    path("imports/<int:batch_id>/progress/", views.import_progress_view, name="import_progress"),
    path("imports/<int:batch_id>/errors.xlsx", views.import_errors_view, name="import_errors"),
    path("people/<int:person_id>/", views.person_view, name="person"),
    path("people/<int:person_id>/merge/", views.merge_view, name="merge"),
    path("doses/<int:dose_id>/change/", views.dose_change_view, name="dose_change"),
    path("corrections/", views.corrections_view, name="corrections"),
    path("corrections/new/", views.correction_new_view, name="correction_new"),
    path("corrections/<int:correction_id>/", views.correction_detail_view,
         name="correction_detail"),
    path("corrections/<int:correction_id>/evidence/<int:evidence_id>/", views.evidence_view,
         name="evidence"),
    path("coverage/", views.coverage_index_view, name="coverage_index"),
    path("coverage/<coverage_scope:scope>/", views.coverage_view, name="coverage"),
    path("coverage/<coverage_scope:scope>/chart.svg", views.coverage_chart_view,
         name="coverage_chart"),
    path("coverage/<coverage_scope:scope>/export.xlsx", views.coverage_export_view,
         name="coverage_export"),
    path("coverage/<coverage_scope:scope>/files/<int:report_id>/", views.coverage_file_view,
         name="coverage_file"),
]
