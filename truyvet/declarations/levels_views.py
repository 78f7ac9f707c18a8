"""Epidemic-level pages: the public levels by province, district and commune;
setting a level, the calculator and the thresholds for officials; the
residents of level-4 communes. Thin adapters over places.levels and this
app's levels_* modules, as the JSON API in levels_api.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.core.pagination import page_number
from truyvet.core.time import local_day
from truyvet.declarations import levels_calculator as calculator
from truyvet.declarations import levels_permissions as permissions
from truyvet.declarations import levels_selectors as selectors
from truyvet.declarations import residents
from truyvet.places.levels import (
    LEVELS,
    commune_for_level,
    commune_levels_set,
    level_badge,
)
from truyvet.places.models import AdministrativeUnit, Level, Scheme


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def overview_view(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Public: levels by province, then district, then commune."""
    try:
        overview = selectors.levels_overview(code=code, day=_day(request.GET.get("date")))
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return render(request, "declarations/levels_overview.html", {
        "overview": overview,
        "legend": [level_badge(n) for n in LEVELS],
        "can_set": permissions.can_set_levels(request.user),
    })


def _level_choices() -> list[tuple[int, str]]:
    return [(n, level_badge(n).text) for n in LEVELS]


@login_required
def set_view(request: HttpRequest) -> HttpResponse:
    """District and province officers set a level for a commune or for every
    commune of a district, with an effective date and a reason."""
    user = request.user
    if not permissions.can_set_levels(user):
        raise PermissionDenied
    values: dict[str, Any] = {
        "unit": request.GET.get("unit", ""), "level": request.GET.get("level", ""),
        "effective_from": request.GET.get("effective_from", "")
        or local_day(timezone.now()).isoformat(),
        "reason": request.GET.get("reason", ""),
    }
    errors: dict[str, list[str]] = {}
    error = ""
    if request.method == "POST":
        values = {key: request.POST.get(key, "") for key in values}
        try:
            unit_id = int(values["unit"]) if str(values["unit"]).isdigit() else None
            unit = commune_for_level(unit_id)
            if not permissions.can_set_level(user, unit):
                raise NotAllowed(_("Chỉ cán bộ huyện, tỉnh phụ trách địa bàn được đặt cấp độ "
                                   "dịch."))
            changes = commune_levels_set(actor=user, unit=unit, level=values["level"],
                                         effective_from=values["effective_from"],
                                         reason=values["reason"], request=request)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except NotFound as exc:
            errors.setdefault("unit", []).append(str(exc.message))
            error = str(exc.message)
        except ServiceError as exc:
            error = str(exc.message)
            for item in exc.errors:
                errors.setdefault(item.field, []).append(str(item.message))
        else:
            messages.success(request, _("Đã đặt %(level)s cho %(count)s xã từ %(day)s.") % {
                "level": level_badge(changes[0].entry.level).text, "count": len(changes),
                "day": changes[0].entry.effective_from.strftime("%d/%m/%Y")})
            return redirect("levels:set")
    return render(request, "declarations/levels_set.html", {
        "values": values, "errors": errors, "error": error,
        "targets": selectors.level_targets_for(user), "choices": _level_choices(),
        "legend": [level_badge(n) for n in LEVELS],
    })


@login_required
def suggest_view(request: HttpRequest) -> HttpResponse:
    """The calculator: what Decision 4800's criteria suggest for a commune."""
    user = request.user
    if not permissions.can_set_levels(user):
        raise PermissionDenied
    targets = [u for u in selectors.level_targets_for(user) if u.level == Level.COMMUNE]
    found = None
    error = ""
    errors: dict[str, list[str]] = {}
    values = {key: request.GET.get(key, "") for key in
              ("commune", "coverage", "quarantine_cases", "capacity_adjustment", "date")}
    if values["commune"]:
        try:
            unit_id = int(values["commune"]) if values["commune"].isdigit() else None
            commune = commune_for_level(unit_id)
            if commune.level != Level.COMMUNE or not permissions.can_set_level(user, commune):
                raise NotAllowed(_("Chỉ cán bộ huyện, tỉnh phụ trách địa bàn được đặt cấp độ "
                                   "dịch."))
            found = calculator.level_suggest(
                commune=commune, day=_day(values["date"]), coverage_entered=values["coverage"],
                quarantine_cases=values["quarantine_cases"],
                capacity_adjustment=values["capacity_adjustment"])
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            error = str(exc.message)
            for item in exc.errors:
                errors.setdefault(item.field, []).append(str(item.message))
    return render(request, "declarations/levels_suggest.html", {
        "targets": targets, "values": values, "found": found, "error": error,
        "errors": errors,
        "suggested": level_badge(found.level) if found and found.level else None,
    })


def _province(code: str) -> AdministrativeUnit | None:
    return AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, code=code.strip(),
                                             level=Level.PROVINCE).first()


@login_required
def thresholds_view(request: HttpRequest) -> HttpResponse:
    """The province's table of thresholds: read by any official who sets
    levels, edited by province officers."""
    user = request.user
    editable = selectors.provinces_for_thresholds(user)
    if not editable and not permissions.can_set_levels(user):
        raise PermissionDenied
    province = _province(request.GET.get("province", "")) or (editable[0] if editable else None)
    errors: dict[str, list[str]] = {}
    error = ""
    values: dict[str, str] = {}
    if request.method == "POST":
        province = _province(request.POST.get("province", ""))
        values = {key: request.POST.get(key, "") for key in
                  ("level", "min_cases", "max_cases", "min_coverage", "max_coverage", "source")}
        try:
            if province is None:
                raise NotFound(_("Không tìm thấy tỉnh này."), code="unknown_province")
            calculator.level_threshold_add(actor=user, province=province, **values)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            error = str(exc.message)
            for item in exc.errors:
                errors.setdefault(item.field, []).append(str(item.message))
        else:
            messages.success(request, _("Đã thêm ngưỡng."))
            assert province is not None
            return redirect(f"{reverse('levels:thresholds')}?province={province.code}")
    rows, own = calculator.thresholds_for(province)
    return render(request, "declarations/levels_thresholds.html", {
        "province": province, "rows": rows, "own": own, "editable": editable,
        "can_edit": province is not None and permissions.can_edit_thresholds(user, province),
        "errors": errors, "error": error, "values": values, "choices": _level_choices(),
    })


@login_required
@require_POST
def threshold_delete_view(request: HttpRequest, threshold_id: int) -> HttpResponse:
    try:
        calculator.level_threshold_delete(actor=request.user, threshold_id=threshold_id)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    messages.success(request, _("Đã xoá ngưỡng."))
    return redirect(f"{reverse('levels:thresholds')}?province="
                    f"{request.POST.get('province', '')}")


# --- Residents of level-4 communes ---------------------------------------------------


@login_required
def residents_index_view(request: HttpRequest) -> HttpResponse:
    try:
        communes = residents.red_communes_for(viewer=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    return render(request, "declarations/residents_index.html", {"communes": communes})


@login_required
def residents_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        found = residents.residents_of(viewer=request.user, code=code,
                                       page=page_number(request.GET.get("page")),
                                       request=request)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return render(request, "declarations/residents.html", {"found": found})


@login_required
def residents_export_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        name, content = residents.residents_xlsx(viewer=request.user, code=code,
                                                 request=request)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
