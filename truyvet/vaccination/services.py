"""Writes of vaccination records: entry at a site, changes and deletions
with their history, merging a duplicate person's doses, the import of a
site's list (``importing.py`` does the work), and correction requests.

Every function validates all its input first and writes in one
transaction; every one that changes doses ends that transaction with
``rollups.coverage_refresh`` for the people concerned, the one place the
coverage figures are kept. Notices go out through the outbox, committed
with the change that causes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import OtpPurpose, Person, User
from truyvet.accounts.services import otp_request, otp_verify
from truyvet.core.errors import ErrorCollector, FieldError, NotAllowed, ServiceError, Throttled
from truyvet.core.models import AuditAction
from truyvet.core.outbox import Message, outbox_enqueue
from truyvet.core.services import audit_record
from truyvet.core.text import clean_line, refuse_unsafe
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.vaccination import evidence as evidence_files
from truyvet.vaccination.hooks import dose_corrected
from truyvet.vaccination.models import (
    ChangeAction,
    CorrectionEvidence,
    CorrectionKind,
    CorrectionNote,
    CorrectionRequest,
    CorrectionStatus,
    Dose,
    DoseChange,
    DoseKind,
    DoseSource,
    NoteKind,
    Vaccine,
)
from truyvet.vaccination.permissions import (
    can_change_dose,
    can_file_correction,
    can_merge_people,
    can_record_dose,
    can_review_correction,
    is_site,
)
from truyvet.vaccination.rollups import coverage_refresh
from truyvet.vaccination.rules import Catalogue, Finding, Shot, Verdict, check_dose
from truyvet.venues.models import Venue, VenueStatus

INVALID = gettext_lazy("Thông tin mũi tiêm chưa hợp lệ, vui lòng kiểm tra lại.")
NEEDS_REASON = gettext_lazy("Mũi tiêm khác quy định: hãy ghi lý do để vẫn lưu.")


def _raise(findings: Sequence[Finding], message: Any = INVALID, code: str = "validation_error"
           ) -> None:
    if findings:
        raise ServiceError(message, code=code, errors=[
            FieldError(finding.field, finding.text, finding.code) for finding in findings])


def _shots(person: Person, *, exclude: int | None = None) -> list[Shot]:
    doses = Dose.objects.filter(person=person)
    if exclude is not None:
        doses = doses.exclude(pk=exclude)
    return [Shot(number=n, kind=k, product=p, given_on=d)
            for n, k, p, d in doses.values_list("dose_number", "kind", "vaccine_id", "given_on")]


def _lock_person(person: Person) -> None:
    """Serialises writes to one person's doses (numbers are per person)."""
    list(Person.objects.select_for_update().filter(pk=person.pk).values_list("pk"))


def _snapshot(dose: Dose) -> dict[str, Any]:
    return {
        "dose_number": dose.dose_number, "kind": dose.kind, "vaccine": dose.vaccine_id,
        "given_on": dose.given_on.isoformat(), "site": dose.site.code if dose.site else None,
        "site_name": dose.site_name, "lot_number": dose.lot_number,
        "person": dose.person_id,
    }


def _verdict_or_raise(verdict: Verdict, reason: str) -> None:
    _raise(verdict.errors)
    if verdict.warnings and not reason.strip():
        raise ServiceError(NEEDS_REASON, code="needs_reason", errors=[
            FieldError("reason", finding.text, finding.code) for finding in verdict.warnings])


def _clean_reason(reason: str, errors: ErrorCollector, *, required: bool = False) -> str:
    text = clean_line(reason, errors, "reason")
    if required and not text:
        errors.add("reason", gettext_lazy("Hãy ghi lý do."), "required")
    if len(text) > 300:
        errors.add("reason", gettext_lazy("Lý do dài quá 300 ký tự."), "too_long")
    return text


def _clean_lot(lot: str, errors: ErrorCollector) -> str:
    text = clean_line(lot, errors, "lot_number").upper()
    if len(text) > 40:
        errors.add("lot_number", gettext_lazy("Số lô dài quá 40 ký tự."), "too_long")
    return text


def _vaccine(code: str, catalogue: Catalogue, errors: ErrorCollector) -> str:
    if code in catalogue.products:
        return code
    found, finding = catalogue.find(code)
    if finding is not None:
        errors.add("vaccine", finding.text, finding.code)
        return ""
    return found or ""


# --- Doses -------------------------------------------------------------------------------------


def dose_record(
    *,
    actor: Any,
    site: Venue,
    person: Person,
    vaccine: str,
    given_on: date,
    dose_number: int | None = None,
    kind: str = "",
    lot_number: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
) -> Dose:
    """Records a dose given at ``site``. Errors (a date before birth or in
    the future, before the previous dose, a number skipped or repeated)
    refuse it; warnings (a short interval, a mix the dated rules did not
    allow, an unlicensed product, an early booster) refuse it until a
    reason is given, which is then kept with the dose."""
    if not is_site(site) or not can_record_dose(actor, site):
        raise NotAllowed(_("Bạn không ghi nhận mũi tiêm tại điểm tiêm này."))
    if site.status != VenueStatus.ACTIVE:
        raise ServiceError(_("Điểm tiêm này đang tạm dừng hoặc đã đóng."), code="site_inactive")
    catalogue = Catalogue.load()
    errors = ErrorCollector()
    code = _vaccine(vaccine, catalogue, errors)
    lot = _clean_lot(lot_number, errors)
    reason = _clean_reason(reason, errors)
    if kind and kind not in DoseKind.values:
        errors.add("kind", gettext_lazy("Loại mũi tiêm không hợp lệ."))
    errors.raise_if_any(INVALID)
    with transaction.atomic():
        _lock_person(person)
        verdict = check_dose(
            shot_number=dose_number, kind=kind or None, product=code, given_on=given_on,
            history=_shots(person), birth_date=person.birth_date, birth_year=person.birth_year,
            today=timezone.localdate(), catalogue=catalogue)
        _verdict_or_raise(verdict, reason)
        dose = Dose.objects.create(
            person=person, dose_number=verdict.number, kind=verdict.kind, vaccine_id=code,
            given_on=given_on, site=site, lot_number=lot, source=DoseSource.ENTERED,
            recorded_by=actor, warnings=verdict.warning_codes,
            deviation_reason=reason if verdict.warnings else "",
        )
        coverage_refresh(person_ids=[person.pk])
    return dose


def _dose_change(*, dose: Dose, before: dict[str, Any], action: str, reason: str, actor: Any,
                 correction: CorrectionRequest | None = None) -> None:
    DoseChange.objects.create(
        dose=dose if action != ChangeAction.DELETED else None, dose_ref=dose.pk,
        person_id=dose.person_id, action=action, before=before,
        after={} if action == ChangeAction.DELETED else _snapshot(dose), reason=reason[:500],
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        correction=correction,
    )


def _renumber(person_id: int, *, after: int, step: int, actor: Any, reason: str,
              correction: CorrectionRequest | None) -> None:
    """Moves the doses numbered above ``after`` by ``step`` (+1 to make room
    for an inserted dose, -1 to close the gap of a deleted one), in the
    order that keeps the numbers unique, each move in the history."""
    order = "-dose_number" if step > 0 else "dose_number"
    for dose in Dose.objects.filter(person_id=person_id, dose_number__gt=after).order_by(order):
        before = _snapshot(dose)
        dose.dose_number += step
        dose.updated_at = timezone.now()
        dose.save(update_fields=["dose_number", "updated_at"])
        _dose_change(dose=dose, before=before, action=ChangeAction.RENUMBERED, reason=reason,
                     actor=actor, correction=correction)


@dataclass
class DoseChanges:
    """New values for a dose; None leaves a value as it is."""

    vaccine: str | None = None
    given_on: date | None = None
    lot_number: str | None = None
    site: Venue | None = None
    site_name: str | None = None
    kind: str | None = None


def _apply_changes(*, dose: Dose, changes: DoseChanges, reason: str, actor: Any,
                   correction: CorrectionRequest | None, catalogue: Catalogue) -> Dose:
    errors = ErrorCollector()
    code = _vaccine(changes.vaccine, catalogue, errors) if changes.vaccine else dose.vaccine_id
    lot = _clean_lot(changes.lot_number, errors) if changes.lot_number is not None \
        else dose.lot_number
    if changes.kind and changes.kind not in DoseKind.values:
        errors.add("kind", gettext_lazy("Loại mũi tiêm không hợp lệ."))
    if changes.site is not None and not is_site(changes.site):
        errors.add("site", gettext_lazy("Đây không phải là điểm tiêm chủng."))
    site_name = (clean_line(changes.site_name, errors, "site_name")
                 if changes.site_name is not None else None)
    errors.raise_if_any(INVALID)
    given_on = changes.given_on or dose.given_on
    person = dose.person
    verdict = check_dose(
        shot_number=dose.dose_number, kind=changes.kind or dose.kind, product=code,
        given_on=given_on, history=_shots(person, exclude=dose.pk),
        birth_date=person.birth_date, birth_year=person.birth_year,
        today=timezone.localdate(), catalogue=catalogue)
    _raise(verdict.errors)
    before = _snapshot(dose)
    dose.vaccine_id = code
    dose.given_on = given_on
    dose.lot_number = lot
    dose.kind = verdict.kind
    if changes.site is not None:
        dose.site, dose.site_name = changes.site, ""
    elif site_name is not None:
        dose.site, dose.site_name = None, site_name[:200]
    dose.warnings = verdict.warning_codes
    dose.deviation_reason = reason[:300] if verdict.warnings else ""
    dose.updated_at = timezone.now()
    dose.save()
    _dose_change(dose=dose, before=before, action=ChangeAction.CORRECTED, reason=reason,
                 actor=actor, correction=correction)
    return dose


def dose_update(*, actor: Any, dose: Dose, changes: DoseChanges, reason: str,
                request: HttpRequest | None = None) -> Dose:
    """Corrects a dose directly (a typo the site noticed); the old values
    stay in its history with who changed them and why."""
    if not can_change_dose(actor, dose):
        raise NotAllowed(_("Bạn không được sửa mũi tiêm này."))
    errors = ErrorCollector()
    reason = _clean_reason(reason, errors, required=True)
    errors.raise_if_any(INVALID)
    with transaction.atomic():
        _lock_person(dose.person)
        dose.refresh_from_db()
        dose = _apply_changes(dose=dose, changes=changes, reason=reason, actor=actor,
                              correction=None, catalogue=Catalogue.load())
        coverage_refresh(person_ids=[dose.person_id])
    return dose


def _delete(*, dose: Dose, reason: str, actor: Any,
            correction: CorrectionRequest | None) -> None:
    before = _snapshot(dose)
    number, person_id = dose.dose_number, dose.person_id
    _dose_change(dose=dose, before=before, action=ChangeAction.DELETED, reason=reason,
                 actor=actor, correction=correction)
    dose.delete()
    _renumber(person_id, after=number, step=-1, actor=actor, reason=reason,
              correction=correction)


def dose_delete(*, actor: Any, dose: Dose, reason: str,
                request: HttpRequest | None = None) -> None:
    """Deletes a dose recorded by mistake (entered twice, or for the wrong
    person); later doses move down a number. The history keeps it all."""
    if not can_change_dose(actor, dose):
        raise NotAllowed(_("Bạn không được xoá mũi tiêm này."))
    errors = ErrorCollector()
    reason = _clean_reason(reason, errors, required=True)
    errors.raise_if_any(INVALID)
    with transaction.atomic():
        _lock_person(dose.person)
        dose.refresh_from_db()
        _delete(dose=dose, reason=reason, actor=actor, correction=None)
        coverage_refresh(person_ids=[dose.person_id])


def _insert(*, person: Person, vaccine: str, given_on: date, site: Venue | None,
            site_name: str, lot: str, reason: str, actor: Any,
            correction: CorrectionRequest | None, catalogue: Catalogue) -> Dose:
    """Adds a dose that was missing, at its place in date order; the doses
    after it move up a number."""
    shots = sorted(_shots(person), key=lambda shot: shot.number)
    number = 1 + sum(1 for shot in shots if shot.given_on <= given_on)
    shifted = [Shot(number=s.number + 1 if s.number >= number else s.number, kind=s.kind,
                    product=s.product, given_on=s.given_on) for s in shots]
    verdict = check_dose(shot_number=number, kind=None, product=vaccine, given_on=given_on,
                         history=shifted, birth_date=person.birth_date,
                         birth_year=person.birth_year, today=timezone.localdate(),
                         catalogue=catalogue)
    _raise(verdict.errors)
    _renumber(person.pk, after=number - 1, step=1, actor=actor, reason=reason,
              correction=correction)
    dose = Dose.objects.create(
        person=person, dose_number=number, kind=verdict.kind, vaccine_id=vaccine,
        given_on=given_on, site=site, site_name="" if site else site_name, lot_number=lot,
        source=DoseSource.CORRECTED, recorded_by=actor if getattr(actor, "is_authenticated",
                                                                 False) else None,
        warnings=verdict.warning_codes, deviation_reason=reason[:300] if verdict.warnings
        else "",
    )
    DoseChange.objects.create(
        dose=dose, dose_ref=dose.pk, person=person, action=ChangeAction.ADDED, before={},
        after=_snapshot(dose), reason=reason[:500],
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        correction=correction)
    return dose


def doses_merge(*, actor: Any, source: Person, target: Person, reason: str,
                request: HttpRequest | None = None) -> list[Dose]:
    """Moves the doses of ``source`` (a duplicate record, say made by an
    import before the person was known under their document) onto
    ``target``, in date order, dropping exact repeats (same day and
    product). Refused if the two records' doses contradict each other."""
    if source.pk == target.pk:
        raise ServiceError(_("Hai hồ sơ là một."), code="same_person")
    if not (can_merge_people(actor, source) and can_merge_people(actor, target)):
        raise NotAllowed(_("Bạn không được gộp hồ sơ tiêm chủng của những người này."))
    errors = ErrorCollector()
    reason = _clean_reason(reason, errors, required=True)
    errors.raise_if_any(INVALID)
    catalogue = Catalogue.load()
    with transaction.atomic():
        for person in sorted((source, target), key=lambda p: p.pk):
            _lock_person(person)
        kept = {(s.given_on, s.product) for s in _shots(target)}
        moving = list(Dose.objects.filter(person=source).order_by("given_on", "dose_number"))
        merged = []
        for dose in moving:
            before = _snapshot(dose)
            if (dose.given_on, dose.vaccine_id) in kept:
                _dose_change(dose=dose, before=before, action=ChangeAction.DELETED,
                             reason=reason, actor=actor)
                dose.delete()
                continue
            shots = sorted(_shots(target), key=lambda shot: shot.number)
            number = 1 + sum(1 for shot in shots if shot.given_on <= dose.given_on)
            shifted = [Shot(number=s.number + 1 if s.number >= number else s.number,
                            kind=s.kind, product=s.product, given_on=s.given_on)
                       for s in shots]
            verdict = check_dose(shot_number=number, kind=None, product=dose.vaccine_id,
                                 given_on=dose.given_on, history=shifted,
                                 birth_date=target.birth_date, birth_year=target.birth_year,
                                 today=timezone.localdate(), catalogue=catalogue)
            _raise(verdict.errors, gettext_lazy("Các mũi tiêm của hai hồ sơ mâu thuẫn nhau."),
                   "merge_conflict")
            _renumber(target.pk, after=number - 1, step=1, actor=actor, reason=reason,
                      correction=None)
            dose.person = target
            dose.dose_number = number
            dose.kind = verdict.kind
            dose.updated_at = timezone.now()
            dose.save()
            _dose_change(dose=dose, before=before, action=ChangeAction.MERGED, reason=reason,
                         actor=actor)
            kept.add((dose.given_on, dose.vaccine_id))
            merged.append(dose)
        audit_record(actor=actor, action=AuditAction.PERSON_READ, request=request,
                     purpose=_("Gộp hồ sơ tiêm chủng"), subject_person=target,
                     target=f"vaccination:merge:{source.pk}:{target.pk}",
                     unit=target.commune, detail={"doses": len(moving)})
        coverage_refresh(person_ids=[source.pk, target.pk])
    return merged


# --- Correction requests (phản ánh) ---------------------------------------------------------------


@dataclass
class CorrectionInput:
    kind: str
    dose: Dose | None = None
    given_on: date | None = None
    vaccine: str = ""
    lot_number: str = ""
    site: Venue | None = None
    site_name: str = ""
    note: str = ""


def _district_of(unit: AdministrativeUnit | None) -> AdministrativeUnit | None:
    while unit is not None and unit.level > Level.DISTRICT:
        unit = unit.parent
    return unit


def _route(person: Person, data: CorrectionInput) -> tuple[Venue | None, AdministrativeUnit]:
    """Who reviews: the site that recorded the dose while it is open;
    otherwise (a missing dose, a site gone or unknown) the health workers of
    the district where the dose was given, or where the person lives."""
    dose = data.dose
    if dose is not None and dose.site is not None and dose.site.status == VenueStatus.ACTIVE \
            and data.kind != CorrectionKind.MISSING:
        return dose.site, dose.site.commune
    place = None
    if dose is not None and dose.site is not None:
        place = dose.site.commune
    elif data.site is not None:
        place = data.site.commune
    district = _district_of(place) or _district_of(person.commune)
    if district is None:
        raise ServiceError(_("Chưa biết nơi ở của người này nên chưa xác định được nơi xử lý. "
                             "Hãy cập nhật địa chỉ trong hồ sơ."), code="no_reviewer")
    return None, district


def _clean_correction(person: Person, data: CorrectionInput, catalogue: Catalogue
                      ) -> tuple[str, ErrorCollector]:
    errors = ErrorCollector()
    if data.kind not in CorrectionKind.values:
        errors.add("kind", gettext_lazy("Hãy chọn nội dung cần điều chỉnh."), "required")
    if data.kind != CorrectionKind.MISSING:
        if data.dose is None:
            errors.add("dose", gettext_lazy("Hãy chọn mũi tiêm cần điều chỉnh."), "required")
        elif data.dose.person_id != person.pk:
            errors.add("dose", gettext_lazy("Mũi tiêm này không thuộc hồ sơ của người này."),
                       "not_theirs")
    code = ""
    if data.vaccine:
        code = _vaccine(data.vaccine, catalogue, errors)
    # Typed text: one line each, the note may keep its line breaks (core.text).
    clean_line(data.lot_number, errors, "lot_number")
    clean_line(data.site_name, errors, "site_name")
    refuse_unsafe(data.note, errors, "note")
    needs: dict[str, bool] = {
        CorrectionKind.WRONG_DATE: data.given_on is not None,
        CorrectionKind.WRONG_PRODUCT: bool(code),
        CorrectionKind.WRONG_LOT: bool(data.lot_number.strip()),
        CorrectionKind.WRONG_SITE: data.site is not None or bool(data.site_name.strip()),
        CorrectionKind.MISSING: data.given_on is not None and bool(code),
    }
    field_of: dict[str, str] = {
        CorrectionKind.WRONG_DATE: "given_on", CorrectionKind.WRONG_PRODUCT: "vaccine",
        CorrectionKind.WRONG_LOT: "lot_number", CorrectionKind.WRONG_SITE: "site_name",
        CorrectionKind.MISSING: "given_on"}
    if data.kind in needs and not needs[data.kind]:
        errors.add(field_of[data.kind],
                   gettext_lazy("Hãy ghi thông tin đúng (ngày tiêm, vắc xin, số lô hoặc nơi "
                                "tiêm) để đối chiếu."), "required")
    today = timezone.localdate()
    if data.given_on is not None and data.given_on > today:
        errors.add("given_on", gettext_lazy("Ngày tiêm không được ở tương lai."), "future")
    if len(data.note) > 2000:
        errors.add("note", gettext_lazy("Mô tả dài quá 2000 ký tự."), "too_long")
    if data.dose is not None and data.dose.corrections.filter(
            status__in=[CorrectionStatus.OPEN, CorrectionStatus.MORE_INFO]).exists():
        errors.add("dose", gettext_lazy("Mũi tiêm này đang có một yêu cầu điều chỉnh chưa xử "
                                        "lý."), "already_open")
    return code, errors


def _dose_label(dose: Dose | None) -> str:
    if dose is None:
        return ""
    with translation.override("vi"):
        return (f"Mũi {dose.dose_number}: {dose.vaccine.name}, {dose.given_on:%d/%m/%Y}, "
                f"{dose.where}")


def correction_file(
    *,
    actor: Any,
    person: Person,
    data: CorrectionInput,
    files: Sequence[tuple[str, IO[bytes]]] = (),
    request: HttpRequest | None = None,
) -> CorrectionRequest:
    """Files a request about one of ``person``'s doses (or a missing one),
    with up to VACCINATION_EVIDENCE_MAX_FILES photos or PDFs. Every file is
    checked by its content and images are re-encoded without metadata
    before anything is stored. The request waits for the OTP sent to the
    person's phone on file (``correction_confirm``); an officer filing for
    someone without a phone confirms it by their papers instead
    (``correction_confirm_by_papers``)."""
    if not can_file_correction(actor, person):
        raise NotAllowed(_("Bạn chỉ gửi được yêu cầu cho chính mình hoặc người dân trong địa "
                           "bàn của mình."))
    catalogue = Catalogue.load()
    code, errors = _clean_correction(person, data, catalogue)
    if len(files) > settings.VACCINATION_EVIDENCE_MAX_FILES:
        errors.add("files", gettext_lazy("Tối đa %(count)s tệp cho mỗi yêu cầu.")
                   % {"count": settings.VACCINATION_EVIDENCE_MAX_FILES}, "too_many_files")
    errors.raise_if_any(INVALID)
    cleaned = evidence_files.evidence_check(files)  # raises with the file's problem
    review_site, review_unit = _route(person, data)
    on_behalf = getattr(actor, "person_id", None) != person.pk
    stored: list[str] = []
    try:
        with transaction.atomic():
            correction = CorrectionRequest.objects.create(
                person=person, dose=data.dose, dose_label=_dose_label(data.dose),
                kind=data.kind, proposed_given_on=data.given_on,
                proposed_vaccine_id=code or None,
                proposed_lot=" ".join(data.lot_number.split()).upper()[:40],
                proposed_site=data.site, proposed_site_name=" ".join(data.site_name.split())[:200],
                note=data.note.strip(), filed_by=actor, on_behalf=on_behalf,
                review_site=review_site, review_unit=review_unit,
            )
            _attach(correction, cleaned, actor, stored)
            CorrectionNote.objects.create(request=correction, kind=NoteKind.FILED,
                                          text=correction.note, by=actor)
            if on_behalf:
                audit_record(actor=actor, action=AuditAction.PERSON_READ, request=request,
                             purpose=_("Gửi yêu cầu điều chỉnh thông tin tiêm chủng thay người "
                                       "dân"), subject_person=person,
                             target=f"vaccination:correction:{correction.pk}",
                             unit=person.commune)
    except Exception:
        evidence_files.evidence_remove(stored)
        raise
    if person.phone:
        try:
            otp_request(phone=person.phone, purpose=OtpPurpose.VERIFY_PHONE, request=request)
        except Throttled:
            pass  # a code went out a moment ago; the request's page offers to send again
    return correction


def _attach(correction: CorrectionRequest, cleaned: Sequence[evidence_files.Cleaned],
            actor: Any, stored: list[str]) -> None:
    for item in cleaned:
        name = evidence_files.evidence_store(item)
        stored.append(name)
        CorrectionEvidence.objects.create(
            request=correction, stored_name=name, content_type=item.content_type,
            size=len(item.data), original_name=item.original_name,
            sha256=hashlib.sha256(item.data).hexdigest(), uploaded_by=actor)


def correction_otp_resend(*, actor: Any, correction: CorrectionRequest,
                          request: HttpRequest | None = None) -> None:
    """Sends the confirmation code again to the phone on file."""
    if correction.filed_by_id != getattr(actor, "pk", None):
        raise NotAllowed(_("Chỉ người gửi yêu cầu mới xác nhận được."))
    if correction.status != CorrectionStatus.UNCONFIRMED:
        raise ServiceError(_("Yêu cầu này đã được xác nhận."), code="already_confirmed")
    if not correction.person.phone:
        raise ServiceError(_("Hồ sơ chưa có số điện thoại để nhận mã OTP."), code="no_phone")
    otp_request(phone=correction.person.phone, purpose=OtpPurpose.VERIFY_PHONE, request=request)


def _open(correction: CorrectionRequest, *, actor: Any, how: str) -> CorrectionRequest:
    with transaction.atomic():
        locked = CorrectionRequest.objects.select_for_update().get(pk=correction.pk)
        if locked.status != CorrectionStatus.UNCONFIRMED:
            return locked
        locked.status = CorrectionStatus.OPEN
        locked.confirmed_at = timezone.now()
        locked.updated_at = locked.confirmed_at
        locked.save(update_fields=["status", "confirmed_at", "updated_at"])
        CorrectionNote.objects.create(request=locked, kind=NoteKind.CONFIRMED, text=how,
                                      by=actor)
    return locked


def correction_confirm(*, actor: Any, correction: CorrectionRequest, code: str
                       ) -> CorrectionRequest:
    """Opens the request once the code sent to the person's phone on file
    is entered (by the person, or read out to the officer filing for them)."""
    if correction.filed_by_id != getattr(actor, "pk", None):
        raise NotAllowed(_("Chỉ người gửi yêu cầu mới xác nhận được."))
    if correction.status != CorrectionStatus.UNCONFIRMED:
        return correction
    if not correction.person.phone:
        raise ServiceError(_("Hồ sơ chưa có số điện thoại để nhận mã OTP."), code="no_phone")
    otp_verify(phone=correction.person.phone, purpose=OtpPurpose.VERIFY_PHONE, code=code)
    return _open(correction, actor=actor, how="otp")


def correction_confirm_by_papers(*, actor: Any, correction: CorrectionRequest,
                                 request: HttpRequest | None = None) -> CorrectionRequest:
    """An officer who filed for someone without a phone on file confirms
    who they are from their papers, in person; audited."""
    if correction.filed_by_id != getattr(actor, "pk", None) or not correction.on_behalf:
        raise NotAllowed(_("Chỉ cán bộ gửi yêu cầu thay người dân mới xác nhận theo giấy tờ."))
    if correction.person.phone:
        raise ServiceError(_("Hồ sơ có số điện thoại: hãy xác nhận bằng mã OTP."),
                           code="use_otp")
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.PERSON_READ, request=request,
                     purpose=_("Xác nhận danh tính theo giấy tờ cho yêu cầu điều chỉnh"),
                     subject_person=correction.person,
                     target=f"vaccination:correction:{correction.pk}",
                     unit=correction.person.commune)
        return _open(correction, actor=actor, how="papers")


def correction_reply(*, actor: Any, correction: CorrectionRequest, note: str,
                     files: Sequence[tuple[str, IO[bytes]]] = (),
                     request: HttpRequest | None = None) -> CorrectionRequest:
    """The person (or whoever filed) answers a request for more: a note
    and more evidence; the request goes back to the reviewers."""
    allowed = {correction.person_id}
    if getattr(actor, "person_id", None) not in allowed and correction.filed_by_id != getattr(
            actor, "pk", None):
        raise NotAllowed(_("Chỉ người gửi yêu cầu mới bổ sung được."))
    if correction.status != CorrectionStatus.MORE_INFO:
        raise ServiceError(_("Yêu cầu này không chờ bổ sung."), code="not_waiting")
    errors = ErrorCollector()
    text = (note or "").strip()
    refuse_unsafe(text, errors, "note")
    if not text and not files:
        errors.add("note", gettext_lazy("Hãy ghi thông tin bổ sung hoặc gửi thêm ảnh."),
                   "required")
    if len(text) > 2000:
        errors.add("note", gettext_lazy("Mô tả dài quá 2000 ký tự."), "too_long")
    room = settings.VACCINATION_EVIDENCE_MAX_FILES - correction.evidence.count()
    if len(files) > room:
        errors.add("files", gettext_lazy("Tối đa %(count)s tệp cho mỗi yêu cầu.")
                   % {"count": settings.VACCINATION_EVIDENCE_MAX_FILES}, "too_many_files")
    errors.raise_if_any(INVALID)
    cleaned = evidence_files.evidence_check(files)
    stored: list[str] = []
    try:
        with transaction.atomic():
            locked = CorrectionRequest.objects.select_for_update().get(pk=correction.pk)
            if locked.status != CorrectionStatus.MORE_INFO:
                raise ServiceError(_("Yêu cầu này không chờ bổ sung."), code="not_waiting")
            _attach(locked, cleaned, actor, stored)
            CorrectionNote.objects.create(request=locked, kind=NoteKind.REPLIED, text=text,
                                          by=actor)
            locked.status = CorrectionStatus.OPEN
            locked.updated_at = timezone.now()
            locked.save(update_fields=["status", "updated_at"])
    except Exception:
        evidence_files.evidence_remove(stored)
        raise
    return locked


class Decision:
    APPROVE = "approve"
    REJECT = "reject"
    ASK = "ask"
    ALL = (APPROVE, REJECT, ASK)


def correction_review(
    *,
    actor: Any,
    correction: CorrectionRequest,
    decision: str,
    reason: str = "",
    changes: DoseChanges | None = None,
    request: HttpRequest | None = None,
) -> CorrectionRequest:
    """The reviewer's answer:

    - approve: the dose changes as asked (``changes`` may adjust the values
      after checking the paper certificate), is added (missing) or deleted
      (not theirs); the old values stay in its history with who changed
      them and why;
    - reject: with a reason;
    - ask for more: with what is needed; the request goes back to the person.

    The person is told in the inbox (with an account) and by SMS."""
    if not can_review_correction(actor, correction):
        raise NotAllowed(_("Bạn không xử lý yêu cầu này."))
    errors = ErrorCollector()
    if decision not in Decision.ALL:
        errors.add("decision", gettext_lazy("Hãy chọn chấp thuận, từ chối hoặc đề nghị bổ "
                                            "sung."), "required")
    text = (reason or "").strip()
    if decision in (Decision.REJECT, Decision.ASK) and not text:
        errors.add("reason", gettext_lazy("Hãy ghi lý do (hoặc thông tin cần bổ sung)."),
                   "required")
    if len(text) > 2000:
        errors.add("reason", gettext_lazy("Lý do dài quá 2000 ký tự."), "too_long")
    errors.raise_if_any(INVALID)
    catalogue = Catalogue.load()
    with transaction.atomic():
        locked = CorrectionRequest.objects.select_for_update(of=("self",)).select_related(
            "person", "dose", "dose__site", "dose__person").get(pk=correction.pk)
        if locked.status != CorrectionStatus.OPEN:
            raise ServiceError(_("Yêu cầu này không ở trạng thái chờ xử lý."), code="not_open")
        now = timezone.now()
        if decision == Decision.ASK:
            locked.status = CorrectionStatus.MORE_INFO
            note = NoteKind.ASKED
        elif decision == Decision.REJECT:
            locked.status = CorrectionStatus.REJECTED
            locked.reviewed_by, locked.reviewed_at, locked.decision = actor, now, text
            note = NoteKind.REJECTED
        else:
            _lock_person(locked.person)
            _carry_out(locked, changes or DoseChanges(), text, actor, catalogue)
            corrected_dose_id = locked.dose_id
            if locked.dose_id and not Dose.objects.filter(pk=locked.dose_id).exists():
                locked.dose = None  # deleted as not the person's; the label stays
            locked.status = CorrectionStatus.APPROVED
            locked.reviewed_by, locked.reviewed_at, locked.decision = actor, now, text
            note = NoteKind.APPROVED
            coverage_refresh(person_ids=[locked.person_id])
            dose_corrected(person=locked.person, dose_id=corrected_dose_id, actor=actor,
                           reason=text or str(_("Điều chỉnh theo yêu cầu số %(id)s")
                                              % {"id": locked.pk}))
        locked.updated_at = now
        locked.save()
        story = CorrectionNote.objects.create(request=locked, kind=note, text=text, by=actor,
                                              at=now)
        _notify(locked, note, text, story.pk)
    return locked


def _carry_out(correction: CorrectionRequest, changes: DoseChanges, reason: str, actor: Any,
               catalogue: Catalogue) -> None:
    why = reason or _("Theo yêu cầu điều chỉnh số %(id)s") % {"id": correction.pk}
    kind = correction.kind
    if kind == CorrectionKind.MISSING:
        vaccine = changes.vaccine or correction.proposed_vaccine_id or ""
        given_on = changes.given_on or correction.proposed_given_on
        if not vaccine or given_on is None:
            raise ServiceError(INVALID, code="validation_error", errors=[
                FieldError("given_on", _("Cần ngày tiêm và vắc xin để bổ sung mũi."),
                           "required")])
        site = changes.site or correction.proposed_site
        _insert(person=correction.person, vaccine=_vaccine(vaccine, catalogue, ErrorCollector())
                or vaccine, given_on=given_on, site=site,
                site_name=changes.site_name or correction.proposed_site_name,
                lot=(changes.lot_number or correction.proposed_lot or "").upper()[:40],
                reason=why, actor=actor, correction=correction, catalogue=catalogue)
        return
    dose = correction.dose
    if dose is None:
        raise ServiceError(_("Mũi tiêm của yêu cầu này không còn trong hồ sơ."), code="dose_gone")
    dose = Dose.objects.select_related("person", "site").get(pk=dose.pk)
    if kind == CorrectionKind.NOT_MINE:
        _delete(dose=dose, reason=why, actor=actor, correction=correction)
        return
    proposed = DoseChanges(
        vaccine=changes.vaccine or (correction.proposed_vaccine_id
                                    if kind == CorrectionKind.WRONG_PRODUCT else None),
        given_on=changes.given_on or (correction.proposed_given_on
                                      if kind == CorrectionKind.WRONG_DATE else None),
        lot_number=changes.lot_number if changes.lot_number is not None else (
            correction.proposed_lot if kind == CorrectionKind.WRONG_LOT else None),
        site=changes.site or (correction.proposed_site
                              if kind == CorrectionKind.WRONG_SITE else None),
        site_name=changes.site_name if changes.site_name is not None else (
            correction.proposed_site_name if kind == CorrectionKind.WRONG_SITE
            and correction.proposed_site is None else None),
    )
    _apply_changes(dose=dose, changes=proposed, reason=why, actor=actor, correction=correction,
                   catalogue=catalogue)


def _notify(correction: CorrectionRequest, kind: str, text: str, note_id: int) -> None:
    """The inbox (when the person has an account) and an SMS to the phone on
    file, in Vietnamese, enqueued with the decision."""
    person = correction.person
    user = User.objects.filter(person=person, is_active=True).first()
    link = f"/vaccination/corrections/{correction.pk}/"
    with translation.override("vi"):
        subjects: dict[str, str] = {
            NoteKind.APPROVED: _("Thông tin tiêm chủng của bạn đã được điều chỉnh"),
            NoteKind.REJECTED: _("Yêu cầu điều chỉnh thông tin tiêm chủng bị từ chối"),
            NoteKind.ASKED: _("Yêu cầu điều chỉnh thông tin tiêm chủng cần bổ sung"),
        }
        subject = subjects[kind]
        label = correction.dose_label or _("mũi tiêm còn thiếu")
        body = _("%(subject)s (yêu cầu số %(id)s, %(dose)s).") % {
            "subject": subject, "id": correction.pk, "dose": label}
        if text:
            body += " " + _("Nội dung: %(text)s") % {"text": text[:300]}
        sms = _("truyvet: %(subject)s (yêu cầu số %(id)s). Xem chi tiết ở mục Tiêm chủng.") % {
            "subject": subject, "id": correction.pk}
    key = f"vaccination:correction:{correction.pk}:note:{note_id}"
    messages = []
    if user is not None:
        messages.append(Message(channel="inapp", dedupe_key=key + ":inapp", body=body,
                                subject=subject, kind=f"vaccination.{kind}", person=person,
                                user=user, link=link))
    if person.phone:
        messages.append(Message(channel="sms", dedupe_key=key + ":sms", body=sms,
                                kind=f"vaccination.{kind}", person=person, phone=person.phone))
    outbox_enqueue(messages=messages)


def vaccine_codes() -> list[str]:
    return list(Vaccine.objects.values_list("code", flat=True))


# --- Coverage exports and scheduled workbooks -----------------------------------------------------


def coverage_export(*, actor: Any, coverage: Any, request: HttpRequest | None = None) -> bytes:
    """The coverage workbook of a scope, for download; audited as an export
    (counts only, but officials' exports are logged)."""
    from truyvet.vaccination import exports

    content = exports.coverage_xlsx(coverage)
    audit_record(actor=actor, action=AuditAction.EXPORT, request=request,
                 purpose=_("Xuất số liệu bao phủ tiêm chủng"),
                 target=f"vaccination:coverage:{coverage.scope.slug}", unit=coverage.scope.unit,
                 detail={"since": coverage.since.isoformat(),
                         "until": coverage.until.isoformat()})
    return content


def coverage_reports_make(*, day: date) -> int:
    """Yesterday's coverage workbook of every district and province with
    vaccinated people, once each (the scheduled job). Returns how many."""
    from truyvet.vaccination import exports
    from truyvet.vaccination.models import CoverageReport, CoverageTotal
    from truyvet.vaccination.selectors import Scope, coverage_build

    keys = set(CoverageTotal.objects.filter(people__gt=0).values_list("unit_key", flat=True))
    units = AdministrativeUnit.objects.filter(pk__in=keys, level__in=[Level.PROVINCE,
                                                                        Level.DISTRICT])
    made = 0
    for unit in units.select_related("parent"):
        if CoverageReport.objects.filter(unit=unit, day=day).exists():
            continue
        with translation.override("vi"):
            content = exports.coverage_xlsx(coverage_build(scope=Scope(unit=unit), until=day))
        name = f"{unit.code}-{day:%Y%m%d}-{hashlib.sha256(content).hexdigest()[:12]}.xlsx"
        path = exports.reports_dir() / name
        path.write_bytes(content)
        try:
            with transaction.atomic():
                CoverageReport.objects.create(unit=unit, day=day, stored_name=name,
                                              size=len(content))
        except IntegrityError:  # another worker made it meanwhile
            path.unlink(missing_ok=True)
            continue
        made += 1
    return made
