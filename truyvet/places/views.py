"""Pages for finding administrative units. They call the same selectors as
the JSON API in ``api.py``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.middleware import HtmxDetails

from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.places import selectors
from truyvet.places.forms import UnitSearchForm
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.population import (
    can_load_population,
    population_import,
    population_imports_for,
    population_rows_for,
)

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


class PopulationFileForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Tệp số dân (.xlsx hoặc .csv)"))


@login_required
def population_view(request: HttpRequest) -> HttpResponse:
    """Officials load their communes' populations (total and aged 18 and
    over) from a file and see the figures and every import so far."""
    if not can_load_population(request.user):
        raise PermissionDenied
    form = PopulationFileForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = population_import(actor=request.user, file=upload,
                                       filename=upload.name or "")
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            form.add_error("file", str(exc.message))
        else:
            if report.ok and report.batch is not None:
                messages.success(request, _("Đã nhập số dân của %(count)s xã.")
                                 % {"count": report.batch.communes})
                return redirect("places:population")
    page = Paginator(population_rows_for(request.user), 100).get_page(request.GET.get("page"))
    return render(request, "places/population.html", {
        "form": form, "report": report, "page": page,
        "imports": population_imports_for(request.user)[:20],
    })
