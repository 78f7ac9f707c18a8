"""Vaccination over JSON (``/api/v1/vaccination/``): the same selectors and
services as the pages. Errors have the API's one shape."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from truyvet.accounts.models import Person
from truyvet.core.api_auth import logged_in
from truyvet.core.errors import ErrorCollector, FieldError, NotFound, ServiceError
from truyvet.vaccination import exports, selectors, services
from truyvet.vaccination.evidence import evidence_read
from truyvet.vaccination.importing import error_file_path, import_start, row_errors_for
from truyvet.vaccination.models import Dose, DoseImport, ImportStatus, Vaccine
from truyvet.vaccination.people import identity_clean, person_for_dose
from truyvet.vaccination.permissions import can_change_dose, can_merge_people
from truyvet.vaccination.rules import Finding
from truyvet.vaccination.schemas import (
    CertificateDoseRead,
    CodeIn,
    CorrectionRead,
    CorrectionSummary,
    CoverageRead,
    DoseCreate,
    DoseRead,
    DoseUpdate,
    ImportRead,
    MergeIn,
    MyRecordRead,
    PersonRecordRead,
    QueueItemRead,
    ReasonIn,
    ReviewIn,
    SiteDoseRead,
    VaccineRead,
)

router = Router(tags=["vaccination"])
MAX_PAGE = 500


def _caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _due(doses: list[Dose]) -> dict[str, Any]:
    due = selectors.due_for(doses)
    return {"code": due.code, "text": due.text, "from_day": due.from_day}


@router.get("/products", response=list[VaccineRead], summary="The vaccines and their DCC codes")
def products(request: HttpRequest) -> Any:
    """The nine products licensed in Vietnam in 2021, mapped to the EU DCC
    value sets, with their primary doses. Public."""
    return list(Vaccine.objects.all())


@router.get("/me", response=MyRecordRead, auth=logged_in, summary="Your own vaccination record")
def me(request: HttpRequest) -> dict[str, Any]:
    user = _caller(request)
    doses = selectors.my_doses(user=user)
    return {"doses": doses, "due": _due(doses),
            "corrections": list(selectors.corrections_of(person=user.person)[:50])}


@router.get("/me/certificate-doses", response=list[CertificateDoseRead], auth=logged_in,
            summary="Your doses as a certificate states them")
def my_certificate_doses(request: HttpRequest) -> Any:
    return selectors.certificate_doses(person=_caller(request).person)


def _person(request: HttpRequest, person_id: int) -> Person:
    return selectors.person_for(viewer=_caller(request), person_id=person_id)


@router.get("/people/{person_id}/doses", response=PersonRecordRead, auth=logged_in,
            summary="A person's vaccination record (officials over where they live; audited)")
def person_doses(request: HttpRequest, person_id: int) -> dict[str, Any]:
    person = _person(request, person_id)
    doses = selectors.person_doses_for(viewer=_caller(request), person=person, request=request)
    return {"person_id": person.pk, "full_name": person.full_name,
            "birth_year": person.birth_year, "doses": doses, "due": _due(doses)}


@router.get("/people/{person_id}/certificate-doses", response=list[CertificateDoseRead],
            auth=logged_in, summary="A person's doses with their DCC codes (audited)")
def person_certificate_doses(request: HttpRequest, person_id: int) -> Any:
    person = _person(request, person_id)
    selectors.person_doses_for(viewer=_caller(request), person=person, request=request)
    return selectors.certificate_doses(person=person)


@router.post("/people/{person_id}/merge", response=list[DoseRead], auth=logged_in,
             summary="Move a duplicate record's doses onto this person")
def person_merge(request: HttpRequest, person_id: int, payload: MergeIn) -> Any:
    user = _caller(request)
    target = _person(request, person_id)
    source = Person.objects.select_related("commune").filter(pk=payload.source_id).first()
    if source is None or not can_merge_people(user, source):
        raise NotFound(_("Không tìm thấy hồ sơ trùng trong địa bàn của bạn."))
    return services.doses_merge(actor=user, source=source, target=target,
                                reason=payload.reason, request=request)


# --- Sites ----------------------------------------------------------------------------------


@router.post("/sites/{code}/doses", response={201: DoseRead}, auth=logged_in,
             summary="Record a dose given at a site")
def dose_create(request: HttpRequest, code: str, payload: DoseCreate) -> Any:
    """Site staff and health workers. Errors refuse the dose; a deviation
    (short interval, a mix the rules did not allow...) answers 400 with code
    `needs_reason` until `reason` is given."""
    user = _caller(request)
    site = selectors.site_for(viewer=user, code=code)
    identity, findings = identity_clean(full_name=payload.full_name, birth=payload.birth,
                                        sex=payload.sex, phone=payload.phone,
                                        id_number=payload.id_number)
    _raise(findings)
    with transaction.atomic():
        person = person_for_dose(identity=identity)
        dose = services.dose_record(
            actor=user, site=site, person=person, vaccine=payload.vaccine,
            given_on=payload.given_on, dose_number=payload.dose_number, kind=payload.kind,
            lot_number=payload.lot_number, reason=payload.reason, request=request)
    return Status(201, dose)


def _raise(findings: list[Finding]) -> None:
    if findings:
        raise ServiceError(services.INVALID, code="validation_error", errors=[
            FieldError(f.field, f.text, f.code) for f in findings])


@router.get("/sites/{code}/doses", response=list[SiteDoseRead], auth=logged_in,
            summary="Doses given at a site (its staff and officials; audited)")
def site_doses(request: HttpRequest, code: str, day: date | None = None, limit: int = 100,
               offset: int = 0) -> Any:
    user = _caller(request)
    site = selectors.site_for(viewer=user, code=code)
    limit, offset = max(1, min(limit, MAX_PAGE)), max(0, min(offset, 10**9))
    return list(selectors.site_doses(viewer=user, site=site, day=day,
                                     request=request)[offset:offset + limit])


@router.post("/sites/{code}/imports", response={202: ImportRead}, auth=logged_in,
             url_name="vaccination_import_start", summary="Import a site's list (.xlsx, .csv)")
def import_create(request: HttpRequest, code: str, file: File[UploadedFile]) -> Any:
    """The file is checked at once (type, size, header); the rows are
    checked and saved by the worker, all or nothing. Poll
    `GET /vaccination/imports/{id}` for progress."""
    user = _caller(request)
    site = selectors.site_for(viewer=user, code=code)
    batch = import_start(actor=user, site=site, upload=file, filename=file.name or "",
                         queue=True)
    return Status(202, _import_read(batch))


def _import_read(batch: DoseImport) -> dict[str, Any]:
    batch.refresh_from_db()
    return {
        "id": batch.pk, "site_code": batch.site.code, "filename": batch.filename,
        "status": batch.status, "phase": batch.phase, "percent": batch.percent,
        "rows": batch.rows, "imported": batch.imported, "skipped": batch.skipped,
        "rejected": batch.rejected, "people_created": batch.people_created,
        "error_message": batch.error_message,
        "errors": [{"row": row, "message": text} for row, text in row_errors_for(batch)],
        "created_at": batch.created_at, "finished_at": batch.finished_at,
    }


@router.get("/imports/{batch_id}", response=ImportRead, auth=logged_in,
            summary="An import's progress and outcome")
def import_detail(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _import_read(selectors.import_for(viewer=_caller(request), batch_id=batch_id))


@router.get("/imports/{batch_id}/errors.xlsx", auth=logged_in,
            summary="The rejected list with an error column, in Vietnamese")
def import_errors(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = selectors.import_for(viewer=_caller(request), batch_id=batch_id)
    path = error_file_path(batch) if batch.status == ImportStatus.REJECTED else None
    if path is None:
        raise NotFound(_("Lần nhập này không có tệp báo lỗi."))
    response = HttpResponse(path.read_bytes(), content_type=exports.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="loi-nhap-{batch.pk}.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response


def _dose(request: HttpRequest, dose_id: int) -> Dose:
    dose = Dose.objects.select_related("person", "person__commune", "site",
                                       "site__commune", "vaccine").filter(pk=dose_id).first()
    if dose is None or not can_change_dose(_caller(request), dose):
        raise NotFound(_("Không tìm thấy mũi tiêm này."))
    return dose


@router.patch("/doses/{dose_id}", response=DoseRead, auth=logged_in,
              summary="Correct a dose (the old values stay in its history)")
def dose_update(request: HttpRequest, dose_id: int, payload: DoseUpdate) -> Any:
    return services.dose_update(
        actor=_caller(request), dose=_dose(request, dose_id), reason=payload.reason,
        request=request, changes=services.DoseChanges(
            vaccine=payload.vaccine, given_on=payload.given_on, lot_number=payload.lot_number))


@router.post("/doses/{dose_id}/delete", response={204: None}, auth=logged_in,
             summary="Delete a dose recorded by mistake (kept in the history)")
def dose_delete(request: HttpRequest, dose_id: int, payload: ReasonIn) -> Any:
    services.dose_delete(actor=_caller(request), dose=_dose(request, dose_id),
                         reason=payload.reason, request=request)
    return Status(204, None)


# --- Correction requests --------------------------------------------------------------------


def _files(files: list[UploadedFile] | None) -> list[tuple[str, Any]]:
    return [(item.name or "", item) for item in files or []]


@router.post("/corrections", response={201: CorrectionRead}, auth=logged_in,
             url_name="vaccination_correction_file", summary="Ask for a dose to be corrected")
def correction_create(
    request: HttpRequest,
    kind: Form[str],
    dose_id: Form[int | None] = None,
    person_id: Form[int | None] = None,
    given_on: Form[date | None] = None,
    vaccine: Form[str] = "",
    lot_number: Form[str] = "",
    site_name: Form[str] = "",
    note: Form[str] = "",
    files: File[list[UploadedFile]] | None = None,
) -> Any:
    """Multipart. Up to 3 photos or PDFs (checked by content, photos stripped
    of their metadata). An OTP goes to the phone on file: confirm with
    `POST /vaccination/corrections/{id}/confirm`. Officials file for a
    resident with `person_id`."""
    user = _caller(request)
    person = user.person
    if person_id is not None and person_id != user.person_id:
        person = Person.objects.select_related("commune").filter(pk=person_id).first()
        if person is None:
            raise NotFound(_("Không tìm thấy người này."))
    dose = None
    if dose_id is not None:
        dose = Dose.objects.select_related("site", "vaccine").filter(pk=dose_id,
                                                                     person=person).first()
        if dose is None:
            raise NotFound(_("Không tìm thấy mũi tiêm này."))
    correction = services.correction_file(
        actor=user, person=person, files=_files(files), request=request,
        data=services.CorrectionInput(kind=kind, dose=dose, given_on=given_on,
                                      vaccine=vaccine[:60], lot_number=lot_number[:40],
                                      site_name=site_name[:200], note=note[:2000]))
    return Status(201, correction)


@router.get("/corrections", response=list[CorrectionSummary], auth=logged_in,
            summary="Your own requests")
def corrections_mine(request: HttpRequest) -> Any:
    return list(selectors.corrections_of(person=_caller(request).person)[:100])


@router.get("/corrections/queue", response=list[QueueItemRead], auth=logged_in,
            summary="Open requests you review, the oldest first")
def corrections_queue(request: HttpRequest) -> Any:
    now = timezone.now()
    return [{"id": item.pk, "kind": item.kind, "person": item.person.masked_name,
             "reviewer": item.review_site.name if item.review_site else item.review_unit.name,
             "confirmed_at": item.confirmed_at,
             "days_waiting": (now - (item.confirmed_at or item.filed_at)).days}
            for item in selectors.correction_queue(viewer=_caller(request))[:500]]


def _correction(request: HttpRequest, correction_id: int) -> Any:
    return selectors.correction_for(viewer=_caller(request), correction_id=correction_id)


@router.get("/corrections/{correction_id}", response=CorrectionRead, auth=logged_in,
            summary="One request")
def correction_detail(request: HttpRequest, correction_id: int) -> Any:
    return _correction(request, correction_id)


@router.post("/corrections/{correction_id}/confirm", response=CorrectionRead, auth=logged_in,
             summary="Confirm a request with the OTP sent to the phone on file")
def correction_confirm(request: HttpRequest, correction_id: int, payload: CodeIn) -> Any:
    return services.correction_confirm(actor=_caller(request),
                                       correction=_correction(request, correction_id),
                                       code=payload.code)


@router.post("/corrections/{correction_id}/otp", response={204: None}, auth=logged_in,
             summary="Send the confirmation code again")
def correction_otp(request: HttpRequest, correction_id: int) -> Any:
    services.correction_otp_resend(actor=_caller(request),
                                   correction=_correction(request, correction_id),
                                   request=request)
    return Status(204, None)


@router.post("/corrections/{correction_id}/reply", response=CorrectionRead, auth=logged_in,
             url_name="vaccination_correction_reply",
             summary="Answer a request for more information (multipart)")
def correction_reply(request: HttpRequest, correction_id: int, note: Form[str] = "",
                     files: File[list[UploadedFile]] | None = None) -> Any:
    return services.correction_reply(actor=_caller(request),
                                     correction=_correction(request, correction_id),
                                     note=note[:2000], files=_files(files), request=request)


@router.post("/corrections/{correction_id}/review", response=CorrectionRead, auth=logged_in,
             summary="Approve, reject or ask for more")
def correction_review(request: HttpRequest, correction_id: int, payload: ReviewIn) -> Any:
    correction = _correction(request, correction_id)
    return services.correction_review(
        actor=_caller(request), correction=correction, decision=payload.decision,
        reason=payload.reason, request=request,
        changes=services.DoseChanges(vaccine=payload.vaccine, given_on=payload.given_on,
                                     lot_number=payload.lot_number))


@router.get("/corrections/{correction_id}/evidence/{evidence_id}", auth=logged_in,
            summary="One evidence file (the person and reviewers; audited)")
def correction_evidence(request: HttpRequest, correction_id: int,
                        evidence_id: int) -> HttpResponse:
    correction = _correction(request, correction_id)
    item = selectors.evidence_for(viewer=_caller(request), correction=correction,
                                  evidence_id=evidence_id, request=request)
    response = HttpResponse(evidence_read(item.stored_name), content_type=item.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="minh-chung-{item.pk}.{item.stored_name[-3:]}"')
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Coverage -------------------------------------------------------------------------------


def _row(row: selectors.CoverageRow, name: str) -> dict[str, Any]:
    labels = dict(selectors.MEASURE_LABELS())
    return {
        "unit_id": row.unit.pk if row.unit else None, "code": row.unit.code if row.unit else None,
        "name": name, "population": row.population.total,
        "population_adults": row.population.adults,
        "measures": [{"measure": m, "label": labels[m], "people": people, "share": share,
                      "adults": adults, "adult_share": adult_share}
                     for m, people, share, adults, adult_share in row.cells()],
    }


def _coverage(request: HttpRequest, scope: str, since: date | None,
              until: date | None) -> selectors.Coverage:
    where = selectors.coverage_scope_for(viewer=_caller(request), slug=scope)
    today = timezone.localdate()
    errors = ErrorCollector()
    if until is not None and until > today:
        errors.add("until", _("Ngày kết thúc không được ở tương lai."), "future")
    if since is not None and until is not None and since > until:
        errors.add("since", _("Ngày bắt đầu phải trước ngày kết thúc."), "bad_range")
    if since is not None and (until or today) - since > (date(2023, 1, 1) - date(2021, 1, 1)):
        errors.add("since", _("Tối đa hai năm."), "too_long")
    errors.raise_if_any(_("Khoảng thời gian không hợp lệ."))
    return selectors.coverage_for(viewer=_caller(request), scope=where, since=since, until=until)


@router.get("/coverage/{scope}", response=CoverageRead, auth=logged_in,
            summary="Coverage of a unit (or \"nation\") from the rollups")
def coverage(request: HttpRequest, scope: str, since: date | None = None,
             until: date | None = None) -> dict[str, Any]:
    """People with at least one dose, a full primary course and a booster;
    by child unit and age group, with percentages of the population and the
    daily trend. Officers and health workers over the unit."""
    figures = _coverage(request, scope, since, until)
    return {
        "scope": figures.scope.slug, "name": figures.scope.full_name,
        "since": figures.since, "until": figures.until,
        "totals": _row(figures.totals, figures.scope.name),
        "children": [_row(row, row.unit.name if row.unit else "") for row in figures.children],
        "ages": [{"group": age.group, "label": age.label, "people": age.counts}
                 for age in figures.ages],
        "trend": [{"day": day.day, "new": day.new, "total": day.total}
                  for day in figures.trend],
    }


@router.get("/coverage/{scope}/export.xlsx", auth=logged_in,
            summary="Coverage as a workbook (audited export)")
def coverage_export(request: HttpRequest, scope: str, since: date | None = None,
                    until: date | None = None) -> HttpResponse:
    figures = _coverage(request, scope, since, until)
    content = services.coverage_export(actor=_caller(request), coverage=figures,
                                       request=request)
    response = HttpResponse(content, content_type=exports.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{exports.filename_for(figures)}"'
    response["Cache-Control"] = "private, no-store"
    return response

