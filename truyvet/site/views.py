"""Pages that gather every app: the home page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from truyvet.site.selectors import home_sections_for


def home(request: HttpRequest) -> HttpResponse:
    """One home page whose sections depend on the roles the user holds."""
    return render(request, "core/home.html", {"sections": home_sections_for(request.user)})
