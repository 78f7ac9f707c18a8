from django.urls import path

from truyvet.certificates import status_views, views

app_name = "certificates"

urlpatterns = [
    path("verify/", views.verify_view, name="verify"),
    path("trust/", views.trust_lists_view, name="trust_lists"),
    path("trust/<int:trust_list_id>/delete/", views.trust_list_delete_view,
         name="trust_list_delete"),
]

# --- Test results, recoveries and the card colour (issue 16) -------------------------
urlpatterns += [
    path("status/tests/template.xlsx", status_views.tests_template_view,
         name="status_tests_template"),
    path("status/tests/<str:code>/", status_views.site_tests_view, name="status_site_tests"),
    path("status/tests/<str:code>/import/", status_views.site_tests_import_view,
         name="status_site_tests_import"),
    path("status/tests/<str:code>/import/errors.xlsx", status_views.site_tests_report_view,
         name="status_site_tests_report"),
    path("status/rules/", status_views.colour_rules_view, name="status_rules"),
]
