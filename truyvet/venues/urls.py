from django.urls import path

from truyvet.venues import views

app_name = "venues"
urlpatterns = [
    path("", views.mine_view, name="mine"),
    path("register/", views.register_view, name="register"),
    path("manage/", views.manage_view, name="manage"),
    path("import/", views.import_view, name="import"),
    path("import/template.<str:fmt>", views.import_template_view, name="import_template"),
    path("import/report.<str:fmt>", views.import_report_view, name="import_report"),
    path("posters/", views.posters_bulk_view, name="posters"),
    path("invitations/<int:staff_id>/accept/", views.invitation_accept_view,
         name="invitation_accept"),
    path("invitations/<int:staff_id>/decline/", views.invitation_decline_view,
         name="invitation_decline"),
    path("<str:code>/", views.detail_view, name="detail"),
    path("<str:code>/edit/", views.edit_view, name="edit"),
    path("<str:code>/status/", views.status_view, name="status"),
    path("<str:code>/approve/", views.approve_view, name="approve"),
    path("<str:code>/revoke-qr/", views.revoke_view, name="revoke_qr"),
    path("<str:code>/staff/", views.staff_add_view, name="staff_add"),
    path("<str:code>/staff/<int:staff_id>/remove/", views.staff_remove_view,
         name="staff_remove"),
    path("<str:code>/poster.pdf", views.poster_view, {"kind": "pdf"}, name="poster_pdf"),
    path("<str:code>/qr.png", views.poster_view, {"kind": "png"}, name="qr_png"),
    path("<str:code>/qr.svg", views.poster_view, {"kind": "svg"}, name="qr_svg"),
]
