"""Pages for finding administrative units. They call the same selectors as
the JSON API in ``api.py``."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

from truyvet.core.errors import NotFound
from truyvet.places import selectors
from truyvet.places.forms import UnitSearchForm
from truyvet.places.models import AdministrativeUnit, Level

# A page shows at most this many units; beyond it the user types more.
PAGE_LIMIT = 100


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _is_partial(request: HtmxHttpRequest) -> bool:
    """htmx asks for the results alone, except when it restores history and
    needs a whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def search_view(request: HtmxHttpRequest) -> HttpResponse:
    form = UnitSearchForm(request.GET)
    form.is_valid()  # a bad field is dropped; the others still apply
    query = form.cleaned_data.get("q") or ""
    level = form.cleaned_data.get("level")
    parent_code = form.cleaned_data.get("parent") or ""
    parent: AdministrativeUnit | None = None
    if parent_code:
        try:
            parent = selectors.unit_by_code(code=parent_code)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc

    if query:
        found = selectors.units_search(
            query=query, level=level, parent=parent, limit=PAGE_LIMIT + 1
        )
    else:
        found = selectors.units_list(level=level, parent=parent)[: PAGE_LIMIT + 1]
    units = list(found)
    context = {
        "form": form,
        "query": query,
        "parent": parent,
        "units": units[:PAGE_LIMIT],
        "more": len(units) > PAGE_LIMIT,
    }
    template = "places/_results.html" if _is_partial(request) else "places/search.html"
    response = render(request, template, context)
    # The same URL answers with a fragment or a page, so caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def detail_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        detail = selectors.unit_detail(code=code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    counts_below = [(Level(level).label, count) for level, count in detail.counts.items() if count]
    return render(
        request,
        "places/detail.html",
        {"detail": detail, "unit": detail.unit, "counts_below": counts_below},
    )
