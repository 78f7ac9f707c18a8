from django.urls import path

from truyvet.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register_view, name="register"),
    path("register/verify/", views.register_verify_view, name="register_verify"),
    path("password-reset/", views.password_reset_view, name="password_reset"),
    path("me/", views.profile_view, name="profile"),
    path("me/devices/", views.devices_view, name="devices"),
    path("me/claim/", views.my_claim_view, name="my_claim"),
    path("claims/", views.claims_view, name="claims"),
    path("claims/<int:claim_id>/", views.claim_detail_view, name="claim_detail"),
    path("communes/", views.commune_options_view, name="commune_options"),
    path("people/", views.people_view, name="people"),
    path("people/new/", views.person_create_view, name="person_create"),
    path("people/<int:person_id>/", views.person_detail_view, name="person_detail"),
    path("roles/", views.roles_view, name="roles"),
    path("audit/", views.audit_view, name="audit"),
]
