from django.urls import path

from truyvet.certificates import views

app_name = "certificates"

urlpatterns = [
    path("verify/", views.verify_view, name="verify"),
    path("trust/", views.trust_lists_view, name="trust_lists"),
    path("trust/<int:trust_list_id>/delete/", views.trust_list_delete_view,
         name="trust_list_delete"),
]
