from django.http import HttpRequest, HttpResponse


def search_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo", status=501)
