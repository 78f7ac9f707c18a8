"""HTML pages of vaccination: the citizen's own record and correction
requests, the sites' entry and import pages, the officials' desk (open
requests, people, coverage). Each view calls the same selectors and
services as ``api.py``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from truyvet.accounts.models import Person
from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.vaccination import charts, exports, selectors, services
from truyvet.vaccination.evidence import evidence_read
from truyvet.vaccination.forms import (
    CorrectionForm,
    DoseChangeForm,
    DoseRecordForm,
    ImportForm,
    MergeForm,
    OtpForm,
    PeriodForm,
    PersonLookupForm,
    ReasonForm,
    ReplyForm,
    ReviewForm,
)
from truyvet.vaccination.importing import error_file_path, import_start, row_errors_for
from truyvet.vaccination.models import CorrectionStatus, Dose, ImportStatus
from truyvet.vaccination.people import identity_clean, person_for_dose
from truyvet.vaccination.permissions import (
    can_change_dose,
    can_file_correction,
    can_import_doses,
    can_merge_people,
    can_record_dose,
    can_review_correction,
    can_use_vaccination_desk,
)

PAGE_SIZE = 50


def _not_found(exc: ServiceError) -> Http404:
    return Http404(str(exc.message))


def _files(request: HttpRequest) -> list[tuple[str, Any]]:
    return [(upload.name or "", upload) for upload in request.FILES.getlist("photos")]


# --- The citizen ----------------------------------------------------------------------------------


@login_required
@require_GET
def mine_view(request: HttpRequest) -> HttpResponse:
    """The citizen's doses, where and when, what is due, and their requests."""
    person = request.user.person  # type: ignore[union-attr]  # login_required
    doses = selectors.doses_of(person)
    return render(request, "vaccination/mine.html", {
        "person": person, "doses": doses, "due": selectors.due_for(doses),
        "corrections": selectors.corrections_of(person=person)[:20],
    })


def _person_for_request(request: HttpRequest) -> Person:
    """The person a request is filed for: the user, or (for an official)
    the person named in ``?person=``."""
    wanted = request.GET.get("person") or request.POST.get("person")
    if wanted and wanted.isdigit() and int(wanted) != request.user.person_id:  # type: ignore
        person = Person.objects.select_related("commune").filter(pk=int(wanted)).first()
        if person is None or not can_file_correction(request.user, person):
            raise Http404
        return person
    return request.user.person  # type: ignore[union-attr]  # login_required


@login_required
@require_http_methods(["GET", "POST"])
def correction_new_view(request: HttpRequest) -> HttpResponse:
    person = _person_for_request(request)
    dose: Dose | None = None
    dose_id = request.GET.get("dose") or request.POST.get("dose")
    if dose_id and dose_id.isdigit():
        dose = Dose.objects.select_related("vaccine", "site").filter(
            pk=int(dose_id), person=person).first()
        if dose is None:
            raise Http404
    initial = {"kind": request.GET.get("kind", "")}
    form = CorrectionForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            correction = services.correction_file(
                actor=request.user, person=person, files=_files(request), request=request,
                data=services.CorrectionInput(
                    kind=data["kind"], dose=dose, given_on=data["given_on"],
                    vaccine=data["vaccine"] or "", lot_number=data["lot_number"],
                    site_name=data["site_name"], note=data["note"]))
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            if person.phone:
                messages.info(request, _("Đã gửi mã OTP đến số điện thoại %(phone)s trong hồ sơ.")
                              % {"phone": person.masked_phone})
            return redirect("vaccination:correction_detail", correction_id=correction.pk)
    return render(request, "vaccination/correction_new.html", {
        "form": form, "person": person, "dose": dose,
        "on_behalf": person.pk != request.user.person_id,  # type: ignore[union-attr]  # login_required
        "missing": dose is None,
    })


@login_required
@require_GET
def corrections_view(request: HttpRequest) -> HttpResponse:
    """The reviewer's queue (oldest first), and the user's own requests."""
    queue = selectors.correction_queue(viewer=request.user)
    today = timezone.now()
    return render(request, "vaccination/corrections.html", {
        "queue": [(item, (today - (item.confirmed_at or item.filed_at)).days)
                  for item in queue[:200]],
        "mine": selectors.corrections_of(person=request.user.person),  # type: ignore
    })


def _correction(request: HttpRequest, correction_id: int) -> Any:
    try:
        return selectors.correction_for(viewer=request.user, correction_id=correction_id)
    except NotFound as exc:
        raise _not_found(exc) from exc


@login_required
@require_http_methods(["GET", "POST"])
def correction_detail_view(request: HttpRequest, correction_id: int) -> HttpResponse:
    correction = _correction(request, correction_id)
    user = request.user
    action = request.POST.get("action", "")
    otp_form = OtpForm(request.POST if action == "confirm" else None)
    reply_form = ReplyForm(request.POST if action == "reply" else None,
                           request.FILES if action == "reply" else None)
    review_form = ReviewForm(request.POST if action == "review" else None)
    if request.method == "POST":
        try:
            if action == "confirm" and otp_form.is_valid():
                services.correction_confirm(actor=user, correction=correction,
                                            code=otp_form.cleaned_data["code"])
                messages.success(request, _("Đã xác nhận. Yêu cầu đã được chuyển đến nơi xử lý."))
                return redirect("vaccination:correction_detail", correction_id=correction.pk)
            if action == "resend":
                services.correction_otp_resend(actor=user, correction=correction,
                                               request=request)
                messages.info(request, _("Đã gửi lại mã OTP."))
                return redirect("vaccination:correction_detail", correction_id=correction.pk)
            if action == "papers":
                services.correction_confirm_by_papers(actor=user, correction=correction,
                                                      request=request)
                return redirect("vaccination:correction_detail", correction_id=correction.pk)
            if action == "reply" and reply_form.is_valid():
                services.correction_reply(actor=user, correction=correction,
                                          note=reply_form.cleaned_data["note"],
                                          files=_files(request), request=request)
                messages.success(request, _("Đã gửi thông tin bổ sung."))
                return redirect("vaccination:correction_detail", correction_id=correction.pk)
            if action == "review" and review_form.is_valid():
                done = services.correction_review(
                    actor=user, correction=correction,
                    decision=review_form.cleaned_data["decision"],
                    reason=review_form.cleaned_data["reason"], request=request)
                messages.success(request, _("Đã xử lý yêu cầu: %(status)s.")
                                 % {"status": done.get_status_display()})
                return redirect("vaccination:correction_detail", correction_id=correction.pk)
            if action not in ("confirm", "reply", "review"):
                raise Http404
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            shown: Any = {"confirm": otp_form, "reply": reply_form}.get(action, review_form)
            shown.add_service_error(exc)
            if action in ("resend", "papers"):
                messages.error(request, str(exc.message))
    is_filer = correction.filed_by_id == user.pk
    is_person = user.person_id == correction.person_id  # type: ignore[union-attr]  # login_required
    return render(request, "vaccination/correction_detail.html", {
        "correction": correction, "notes": correction.notes.select_related("by__person"),
        "evidence": list(correction.evidence.all()),
        "otp_form": otp_form, "reply_form": reply_form, "review_form": review_form,
        "can_confirm": is_filer and correction.status == CorrectionStatus.UNCONFIRMED,
        "by_papers": is_filer and correction.on_behalf and not correction.person.phone,
        "can_reply": (is_filer or is_person) and correction.status == CorrectionStatus.MORE_INFO,
        "can_review": correction.status == CorrectionStatus.OPEN
        and can_review_correction(user, correction),
        "is_person": is_person,
    })


@login_required
@require_GET
def evidence_view(request: HttpRequest, correction_id: int, evidence_id: int) -> HttpResponse:
    correction = _correction(request, correction_id)
    try:
        item = selectors.evidence_for(viewer=request.user, correction=correction,
                                      evidence_id=evidence_id, request=request)
    except NotFound as exc:
        raise _not_found(exc) from exc
    try:
        content = evidence_read(item.stored_name)
    except (OSError, ValueError) as exc:
        raise Http404 from exc
    response = HttpResponse(content, content_type=item.content_type)
    disposition = "inline" if item.is_image else "attachment"
    response["Content-Disposition"] = (
        f'{disposition}; filename="minh-chung-{item.pk}.{item.stored_name[-3:]}"')
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


# --- Sites ----------------------------------------------------------------------------------------


def _site(request: HttpRequest, code: str) -> Any:
    try:
        return selectors.site_for(viewer=request.user, code=code)
    except NotFound as exc:
        raise _not_found(exc) from exc


@login_required
@require_GET
def site_view(request: HttpRequest, code: str) -> HttpResponse:
    site = _site(request, code)
    day: date | None = None
    form = PeriodForm(request.GET or None)
    if request.GET.get("day"):
        try:
            day = date.fromisoformat(request.GET["day"])
        except ValueError:
            day = None
    doses = selectors.site_doses(viewer=request.user, site=site, day=day, request=request)
    page = Paginator(doses, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "vaccination/site.html", {
        "site": site, "page": page, "day": day, "form": form,
        "can_record": can_record_dose(request.user, site),
        "can_import": can_import_doses(request.user, site),
        "imports": selectors.imports_of(site=site) if can_import_doses(request.user, site)
        else [],
    })


@login_required
@require_http_methods(["GET", "POST"])
def record_view(request: HttpRequest, code: str) -> HttpResponse:
    site = _site(request, code)
    if not can_record_dose(request.user, site):
        raise PermissionDenied
    form = DoseRecordForm(request.POST or None, initial={"given_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        identity, findings = identity_clean(
            full_name=data["full_name"], birth=data["birth"], sex=data["sex"],
            phone=data["phone"], id_number=data["id_number"])
        for finding in findings:
            name = {"birth_date": "birth"}.get(finding.field, finding.field)
            form.add_error(name if name in form.fields else None, finding.text)
        if not findings:
            try:
                with transaction.atomic():
                    identity.commune = None
                    person = person_for_dose(identity=identity)
                    dose = services.dose_record(
                        actor=request.user, site=site, person=person, vaccine=data["vaccine"],
                        given_on=data["given_on"], dose_number=data["dose_number"],
                        kind=data["kind"], lot_number=data["lot_number"],
                        reason=data["reason"], request=request)
            except NotAllowed as exc:
                raise PermissionDenied(str(exc.message)) from exc
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Đã ghi nhận mũi %(number)s cho %(name)s.") % {
                    "number": dose.dose_number, "name": person.full_name})
                return redirect("vaccination:site", code=site.code)
    return render(request, "vaccination/record.html", {"site": site, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest, code: str) -> HttpResponse:
    site = _site(request, code)
    if not can_import_doses(request.user, site):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = import_start(actor=request.user, site=site, upload=upload,
                                 filename=upload.name or "", queue=True)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("vaccination:import_detail", batch_id=batch.pk)
    return render(request, "vaccination/import.html", {
        "site": site, "form": form,
        "max_mb": settings.VACCINATION_IMPORT_MAX_BYTES // (1024 * 1024),
        "max_rows": f"{settings.VACCINATION_IMPORT_MAX_ROWS:,}".replace(",", "."),
        "imports": selectors.imports_of(site=site),
    })


def _import(request: HttpRequest, batch_id: int) -> Any:
    try:
        return selectors.import_for(viewer=request.user, batch_id=batch_id)
    except NotFound as exc:
        raise _not_found(exc) from exc


@login_required
@require_GET
def import_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _import(request, batch_id)
    return render(request, "vaccination/import_detail.html", {
        "batch": batch, "errors": row_errors_for(batch)})


@login_required
@require_GET
def import_progress_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The progress bar alone, polled by the page (htmx) until the end."""
    batch = _import(request, batch_id)
    return render(request, "vaccination/_import_progress.html", {
        "batch": batch, "errors": row_errors_for(batch) if batch.finished else []})


@login_required
@require_GET
def import_errors_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _import(request, batch_id)
    path = error_file_path(batch) if batch.status == ImportStatus.REJECTED else None
    if path is None:
        raise Http404
    return _download(path.read_bytes(), f"loi-nhap-{batch.pk}.xlsx")


# --- The officials' desk --------------------------------------------------------------------------


@login_required
@require_GET
def desk_view(request: HttpRequest) -> HttpResponse:
    """Open requests by age (oldest first), the sites, coverage, people."""
    user = request.user
    sites = list(selectors.sites_for(user)[:100])
    if not can_use_vaccination_desk(user) and not sites:
        raise PermissionDenied
    lookup = PersonLookupForm(request.GET or None)
    found: list[Person] = []
    if lookup.is_valid():
        found = selectors.people_lookup(viewer=user, query=lookup.cleaned_data["q"],
                                        request=request)
    now = timezone.now()
    queue = selectors.correction_queue(viewer=user)
    return render(request, "vaccination/desk.html", {
        "sites": sites, "lookup": lookup, "found": found,
        "queue": [(item, (now - (item.confirmed_at or item.filed_at)).days)
                  for item in queue[:50]],
        "queue_count": queue.count(),
        "coverage_scopes": selectors.coverage_units_for(user),
    })


def _person(request: HttpRequest, person_id: int) -> Person:
    try:
        return selectors.person_for(viewer=request.user, person_id=person_id)
    except NotFound as exc:
        raise _not_found(exc) from exc


@login_required
@require_GET
def person_view(request: HttpRequest, person_id: int) -> HttpResponse:
    person = _person(request, person_id)
    try:
        doses = selectors.person_doses_for(viewer=request.user, person=person, request=request)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    return render(request, "vaccination/person.html", {
        "person": person, "doses": [(dose, can_change_dose(request.user, dose))
                                    for dose in doses],
        "due": selectors.due_for(doses), "history": selectors.dose_history_of(person)[:50],
        "corrections": selectors.corrections_of(person=person)[:20],
        "can_file": can_file_correction(request.user, person),
        "can_merge": can_merge_people(request.user, person),
        "merge_form": MergeForm(), "change_form": DoseChangeForm(), "reason_form": ReasonForm(),
    })


@login_required
@require_http_methods(["POST"])
def dose_change_view(request: HttpRequest, dose_id: int) -> HttpResponse:
    dose = Dose.objects.select_related("person", "person__commune", "site",
                                       "site__commune").filter(pk=dose_id).first()
    if dose is None or not can_change_dose(request.user, dose):
        raise Http404
    person_id = dose.person_id
    try:
        if request.POST.get("action") == "delete":
            form: Any = ReasonForm(request.POST)
            if form.is_valid():
                services.dose_delete(actor=request.user, dose=dose,
                                     reason=form.cleaned_data["reason"], request=request)
                messages.success(request, _("Đã xoá mũi tiêm."))
        else:
            form = DoseChangeForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                services.dose_update(
                    actor=request.user, dose=dose, reason=data["reason"], request=request,
                    changes=services.DoseChanges(vaccine=data["vaccine"] or None,
                                                 given_on=data["given_on"],
                                                 lot_number=data["lot_number"] or None))
                messages.success(request, _("Đã sửa mũi tiêm."))
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for errors in form.errors.values()
                                             for e in errors))
    except ServiceError as exc:
        messages.error(request, " ".join([str(exc.message),
                                          *[str(e.message) for e in exc.errors]]))
    return redirect("vaccination:person", person_id=person_id)


@login_required
@require_http_methods(["POST"])
def merge_view(request: HttpRequest, person_id: int) -> HttpResponse:
    target = _person(request, person_id)
    form = MergeForm(request.POST)
    if form.is_valid():
        source = Person.objects.select_related("commune").filter(
            pk=form.cleaned_data["source"]).first()
        if source is None or not can_merge_people(request.user, source):
            messages.error(request, _("Không tìm thấy hồ sơ trùng trong địa bàn của bạn."))
        else:
            try:
                moved = services.doses_merge(actor=request.user, source=source, target=target,
                                             reason=form.cleaned_data["reason"],
                                             request=request)
            except NotAllowed as exc:
                raise PermissionDenied(str(exc.message)) from exc
            except ServiceError as exc:
                messages.error(request, " ".join([str(exc.message),
                                                  *[str(e.message) for e in exc.errors]]))
            else:
                messages.success(request, _("Đã chuyển %(count)s mũi tiêm sang hồ sơ này.")
                                 % {"count": len(moved)})
    return redirect("vaccination:person", person_id=target.pk)


# --- Coverage -------------------------------------------------------------------------------------


def _scope(request: HttpRequest, slug: str) -> selectors.Scope:
    try:
        return selectors.coverage_scope_for(viewer=request.user, slug=slug)
    except NotFound as exc:
        raise _not_found(exc) from exc
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc


def _period(request: HttpRequest) -> tuple[PeriodForm, date | None, date | None]:
    form = PeriodForm(request.GET or None)
    if form.is_bound and form.is_valid():
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        today = timezone.localdate()
        until = min(until or today, today)
        if since and since > until:
            since = None
        if since and (until - since).days > 731:
            since = None
        return form, since, until
    return PeriodForm(), None, None


@login_required
@require_GET
def coverage_index_view(request: HttpRequest) -> HttpResponse:
    scopes = selectors.coverage_units_for(request.user)
    if not scopes:
        raise PermissionDenied
    return redirect("vaccination:coverage", scope=scopes[0].slug)


@login_required
@require_GET
def coverage_view(request: HttpRequest, scope: str) -> HttpResponse:
    where = _scope(request, scope)
    form, since, until = _period(request)
    coverage = selectors.coverage_for(viewer=request.user, scope=where, since=since,
                                      until=until)
    query = f"since={coverage.since.isoformat()}&until={coverage.until.isoformat()}"
    return render(request, "vaccination/coverage.html", {
        "coverage": coverage, "form": form, "query": query,
        "breadcrumbs": selectors.breadcrumbs_for(request.user, where),
        "measures": selectors.MEASURE_LABELS(),
        "reports": selectors.coverage_reports_of(scope=where)[:10],
        "recent": coverage.trend[-14:][::-1],
    })


@login_required
@require_GET
def coverage_chart_view(request: HttpRequest, scope: str) -> HttpResponse:
    where = _scope(request, scope)
    _form, since, until = _period(request)
    coverage = selectors.coverage_for(viewer=request.user, scope=where, since=since,
                                      until=until)
    response = HttpResponse(charts.trend_chart(coverage), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_GET
def coverage_export_view(request: HttpRequest, scope: str) -> HttpResponse:
    where = _scope(request, scope)
    _form, since, until = _period(request)
    coverage = selectors.coverage_for(viewer=request.user, scope=where, since=since,
                                      until=until)
    content = services.coverage_export(actor=request.user, coverage=coverage, request=request)
    response = HttpResponse(content, content_type=exports.XLSX_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{exports.filename_for(coverage)}"')
    return response


@login_required
@require_GET
def coverage_file_view(request: HttpRequest, scope: str, report_id: int) -> HttpResponse:
    where = _scope(request, scope)
    report = selectors.coverage_reports_of(scope=where).filter(pk=report_id).first()
    path = exports.report_path(report.stored_name) if report else None
    if report is None or path is None or not path.exists():
        raise Http404
    return _download(path.read_bytes(), f"bao-phu-{report.unit.code}-{report.day:%Y%m%d}.xlsx")


def _download(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def coverage_url(scope: selectors.Scope) -> str:
    return reverse("vaccination:coverage", kwargs={"scope": scope.slug})
