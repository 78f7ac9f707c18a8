from django.urls import path

from truyvet.checkins import views

app_name = "checkins"

urlpatterns = [
    path("scan/", views.scan_checkin_view, name="scan"),
    path("guest/", views.guest_checkin_view, name="guest"),
    path("visit/<uuid:checkin_id>/", views.visit_view, name="visit"),
    path("visit/<uuid:checkin_id>/checkout/", views.checkout_view, name="checkout"),
    path("history/", views.history_view, name="history"),
    path("history/guest-visits/", views.guest_visits_view, name="guest_visits"),
    path("qr/", views.personal_qr_view, name="personal_qr"),
    path("qr/card.pdf", views.personal_qr_card_view, name="personal_qr_card"),
    path("qr/rotate/", views.personal_qr_rotate_view, name="personal_qr_rotate"),
    path("cards/<int:person_id>/", views.person_card_view, name="person_card"),
    path("control/", views.control_index_view, name="control_index"),
    path("control/<str:code>/", views.control_view, name="control"),
    path("control/<str:code>/lookup/", views.control_lookup_view, name="control_lookup"),
]

# A venue's visitor log: check-ins' pages, kept at the venue's address and in
# its URL namespace (venues:visitors, venues:visitors_export) by truyvet/urls.py.
venue_urlpatterns = [
    path("<str:code>/visitors/", views.venue_visitors_view, name="visitors"),
    path("<str:code>/visitors.<str:fmt>", views.venue_visitors_export_view,
         name="visitors_export"),
]
