"""Pages for test results and the card colour's rules (issue 16): a testing
site's results (entry and import) and the rules table. They call the same
services and selectors as the API (``status_api``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from truyvet.accounts.models import AuthenticatedHttpRequest
from truyvet.certificates import colour, testing_results
from truyvet.certificates import status_permissions as permissions
from truyvet.certificates import status_selectors as selectors
from truyvet.certificates import status_services as services
from truyvet.certificates.models import TestKind, TestOutcome
from truyvet.core.errors import NotAllowed, NotFound, ServiceError

# The last rejected import's errors, per site and user, for the XLSX report.
REPORT_SECONDS = 3600


def _report_key(site: Any, user: Any) -> str:
    return f"certificates:tests-import-errors:{site.pk}:{user.pk}"


def remember_import_errors(site: Any, user: Any, rows: list[list[Any]] | None) -> None:
    if rows:
        cache.set(_report_key(site, user), rows, REPORT_SECONDS)
    else:
        cache.delete(_report_key(site, user))


def import_errors(site: Any, user: Any) -> list[list[Any]] | None:
    found = cache.get(_report_key(site, user))
    return found if isinstance(found, list) else None


def _site(request: AuthenticatedHttpRequest, code: str) -> Any:
    try:
        return selectors.testing_site_for(viewer=request.user, code=code)
    except NotFound:
        raise Http404 from None


def _errors(error: ServiceError | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in (error.errors if error else []):
        found.setdefault(item.field, []).append(str(item.message))
    return found


@login_required
def site_tests_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """The site's latest results and the form to enter one."""
    site = _site(request, code)
    error: ServiceError | None = None
    if request.method == "POST":
        try:
            services.test_result_enter(actor=request.user, site=site,
                                       data=request.POST.dict(), request=request)
        except NotAllowed:
            raise PermissionDenied from None
        except ServiceError as exc:
            error = exc
        else:
            messages.success(request, _("Đã lưu kết quả xét nghiệm."))
            return redirect("certificates:status_site_tests", code=site.code)
    tests = selectors.site_tests(viewer=request.user, site=site, request=request)
    return render(request, "certificates/status/site_tests.html", {
        "site": site, "tests": tests, "error": error, "field_errors": _errors(error),
        "values": request.POST if error else {}, "kinds": TestKind.choices,
        "outcomes": TestOutcome.choices,
        "import_errors": import_errors(site, request.user),
    }, status=400 if error else 200)


@login_required
@require_POST
def site_tests_import_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """All or nothing: with one bad row, nothing is saved and the page lists
    every bad cell (and offers them as an XLSX)."""
    site = _site(request, code)
    if not permissions.can_import_tests(request.user, site):
        raise PermissionDenied
    upload = request.FILES.get("file")
    remember_import_errors(site, request.user, None)
    try:
        if upload is None:
            raise ServiceError(_("Hãy chọn tệp .xlsx hoặc .csv."), code="no_file")
        report = services.tests_import(actor=request.user, site=site, upload=upload,
                                       filename=upload.name or "", request=request)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        if report.errors:
            remember_import_errors(site, request.user, [list(row) for row in report.errors])
            messages.error(request, _("Tệp có %(count)s lỗi: chưa lưu dòng nào. Sửa các lỗi "
                                      "dưới đây rồi nhập lại.") % {"count": len(report.errors)})
        else:
            messages.success(request, _("Đã nhập %(saved)s kết quả (%(rows)s dòng).")
                             % {"saved": report.saved, "rows": report.rows})
    return redirect("certificates:status_site_tests", code=site.code)


@login_required
def site_tests_report_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    site = _site(request, code)
    rows = import_errors(site, request.user)
    if not rows:
        raise Http404
    response = HttpResponse(testing_results.report_xlsx([tuple(r) for r in rows]),
                            content_type=testing_results.XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="loi-nhap-xet-nghiem.xlsx"'
    return response


def tests_template_view(request: Any) -> HttpResponse:
    response = HttpResponse(testing_results.template_xlsx(),
                            content_type=testing_results.XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="mau-ket-qua-xet-nghiem.xlsx"'
    return response


@login_required
def colour_rules_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The rules table (national rows and the viewer's province's), and for a
    province officer the form to add a dated rule."""
    error: ServiceError | None = None
    if request.method == "POST":
        try:
            province = selectors.province_for_rule(code=request.POST.get("province", ""))
            services.colour_rule_add(actor=request.user, province=province,
                                     data=request.POST.dict(), request=request)
        except NotAllowed:
            raise PermissionDenied from None
        except ServiceError as exc:
            error = exc
        else:
            messages.success(request, _("Đã lưu quy tắc mới."))
            return redirect("certificates:status_rules")
    field_errors = _errors(error)
    defaults = {**vars_of(colour.DEFAULT_RULE), "effective_from": "", "reason": ""}
    labels = {
        "effective_from": _("Áp dụng từ ngày"),
        "full_course_days": _("Thẻ xanh: số ngày sau khi tiêm đủ liều cơ bản"),
        "recovery_days": _("Thẻ xanh: khỏi bệnh trong vòng (ngày)"),
        "first_dose_days": _("Thẻ vàng: số ngày sau mũi 1"),
        "pcr_hours": _("Thẻ vàng: PCR âm tính trong vòng (giờ)"),
        "rapid_hours": _("Thẻ vàng: test nhanh âm tính trong vòng (giờ, 0 = không tính)"),
        "positive_days": _("Thẻ đỏ: số ngày sau khi dương tính"),
        "reason": _("Lý do (văn bản quy định)"),
    }
    fields = [(name, label, request.POST.get(name, "") if error else defaults[name],
               field_errors.get(name, [])) for name, label in labels.items()]
    return render(request, "certificates/status/rules.html", {
        "rules": selectors.colour_rules(request.user.person.commune),
        "provinces": selectors.rule_provinces(viewer=request.user),
        "can_set_national": permissions.can_set_colour_rule(request.user, None),
        "rule_fields": fields, "error": error, "field_errors": field_errors,
        "values": request.POST if error else {},
    }, status=400 if error else 200)


def vars_of(rule: colour.Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in services.RULE_FIELDS}
