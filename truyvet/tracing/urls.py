from django.urls import path

from truyvet.tracing import views

app_name = "tracing"
urlpatterns = [
    path("", views.cases_view, name="cases"),
    path("cases/new/", views.case_create_view, name="case_create"),
    path("cases/<int:case_id>/", views.case_view, name="case"),
    path("cases/<int:case_id>/timeline.<str:file_format>", views.timeline_file_view,
         name="timeline_file"),
    path("tasks/", views.tasks_view, name="tasks"),
    path("tasks/<int:task_id>/", views.task_view, name="task"),
    path("exposure-sites/", views.exposure_sites_view, name="exposure_sites"),
    path("me/exposure/", views.my_exposure_view, name="my_exposure"),
]
