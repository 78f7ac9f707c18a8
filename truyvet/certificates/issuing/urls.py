from django.urls import path

from truyvet.certificates.issuing import views

app_name = "issuing"

urlpatterns = [
    path("mine/", views.mine_view, name="mine"),
    path("queue/", views.queue_view, name="queue"),
    path("issued/<str:uvci>/", views.wallet_view, name="wallet"),
    path("issued/<str:uvci>/pdf/", views.pdf_view, name="pdf"),
    path("issued/<str:uvci>/<slug:step>/", views.step_view, name="step"),
]
