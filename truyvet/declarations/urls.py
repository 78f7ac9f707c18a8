"""Declarations, declaration QR codes, checkpoint passes (issue 14)."""

from django.urls import path

from truyvet.declarations import views

app_name = "declarations"

urlpatterns = [
    path("", views.mine_view, name="mine"),
    path("new/<str:kind>/", views.new_view, name="new"),
    path("follow-up/", views.follow_up_view, name="follow_up"),
    path("movements/", views.movements_view, name="movements"),
    path("checkpoint/<str:code>/paper/", views.paper_view, name="paper"),
    path("<uuid:series>/", views.detail_view, name="detail"),
    path("<uuid:series>/update/", views.update_view, name="update"),
    path("<uuid:series>/revoke/", views.revoke_view, name="revoke"),
    path("<uuid:series>/card.pdf", views.card_view, name="card"),
]
