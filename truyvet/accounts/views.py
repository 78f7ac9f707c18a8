from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    return HttpResponse("todo", status=501)


login_view = logout_view = register_view = register_verify_view = _todo
password_reset_view = profile_view = people_view = person_detail_view = _todo
roles_view = audit_view = _todo
