"""Writes of issuing: the three steps of QĐ 5772/QĐ-BYT (the site verifies,
the site approves, the province signs), the request that opens them,
revocation, re-issue after a corrected dose, and the signing keys.

Every step checks first and writes in one transaction; every step is
audited (``AuditAction.STATUS_CHANGE`` on ``certificate:<UVCI>``). The
console (``truyvet cert …``) acts as ``actor=None``: the server's operator,
named in the audit detail."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import Person, User
from truyvet.certificates.issuing import hcert, keys
from truyvet.certificates.issuing.permissions import (
    can_approve_certificate,
    can_request_certificate,
    can_revoke_certificate,
    can_sign_certificate,
    can_verify_certificate,
    province_of,
)
from truyvet.certificates.issuing.records import (
    UnderCorrection,
    latest_record,
    record_exists,
)
from truyvet.certificates.issuing.uvci import uvci_new
from truyvet.certificates.models import (
    CertificateKind,
    CertificateStatus,
    IssuedCertificate,
    SigningKey,
)
from truyvet.certificates.revocation import _truncated_sha256
from truyvet.core.errors import ErrorCollector, NotAllowed, ServiceError
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.core.text import clean_line, fold
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.vaccination.selectors import certificate_doses

ACTIVE = (CertificateStatus.REQUESTED, CertificateStatus.VERIFIED, CertificateStatus.APPROVED,
          CertificateStatus.ISSUED)
MAX_REASON = 300


def _operator(actor: User | None) -> dict[str, Any]:
    if actor is not None:
        return {}
    try:
        return {"console": getpass.getuser()}
    except (KeyError, OSError):
        return {"console": "?"}


def _audit(certificate: IssuedCertificate, *, actor: User | None, step: str, purpose: str,
           request: HttpRequest | None = None, **detail: Any) -> None:
    audit_record(actor=actor, action=AuditAction.STATUS_CHANGE, purpose=purpose,
                 request=request, subject_person=certificate.person,
                 target=f"certificate:{certificate.uvci}", unit=certificate.authority,
                 detail={"step": step, "kind": certificate.kind, **_operator(actor), **detail})


def _kind_or_refuse(kind: str) -> str:
    if kind not in CertificateKind.values:
        raise ServiceError(_("Loại chứng nhận phải là v (tiêm chủng), t (xét nghiệm) hoặc r "
                             "(khỏi bệnh)."), code="kind_invalid")
    return kind


def _authority_of(site: Any, person: Person) -> AdministrativeUnit:
    unit = province_of(site.commune if site is not None else person.commune)
    if unit is None:
        raise ServiceError(_("Không xác định được tỉnh cấp chứng nhận: người này chưa có xã "
                             "cư trú."), code="no_authority")
    return unit


NO_RECORD = {
    "v": gettext_lazy("Không có mũi tiêm nào để cấp chứng nhận tiêm chủng."),
    "t": gettext_lazy("Không có kết quả xét nghiệm nào để cấp chứng nhận xét nghiệm."),
    "r": gettext_lazy("Không có ca khỏi bệnh nào để cấp chứng nhận khỏi bệnh."),
}


def _prepare(person: Person, kind: str, at: datetime | None, *, actor: User | None,
             check: bool) -> IssuedCertificate:
    """A new certificate for the latest eligible record, not saved."""
    kind = _kind_or_refuse(kind)
    try:
        record = latest_record(person, kind, at=at)
    except UnderCorrection:
        raise ServiceError(_("Hồ sơ tiêm chủng của người này đang có yêu cầu điều chỉnh; "
                             "chứng nhận được cấp sau khi yêu cầu được xử lý."),
                           code="under_correction") from None
    if record is None:
        raise ServiceError(NO_RECORD[kind], code="no_eligible_record")
    if check and actor is not None and not can_request_certificate(actor, person,
                                                                    site=record.site):
        raise NotAllowed(_("Bạn không đề nghị cấp chứng nhận cho người này."))
    if IssuedCertificate.objects.filter(kind=kind, record_id=record.record_id,
                                        status__in=ACTIVE).exists():
        raise ServiceError(_("Đã có chứng nhận (hoặc đề nghị cấp) cho hồ sơ này."),
                           code="already_requested")
    if person.birth_date is None and person.birth_year is None:
        raise ServiceError(_("Hồ sơ của người này chưa có ngày sinh."), code="no_birth_date")
    uvci = uvci_new()
    try:
        dcc = hcert.dcc_build(person=hcert.holder(
            full_name=person.full_name, birth_date=person.birth_date,
            birth_year=person.birth_year), facts=record.facts, uvci=uvci)
    except hcert.DccInvalid as exc:
        raise ServiceError(_("Dữ liệu của hồ sơ không tạo được chứng nhận hợp lệ: %(detail)s")
                           % {"detail": exc.detail}, code="dcc_invalid") from None
    return IssuedCertificate(
        uvci=uvci, person=person, kind=kind, record_id=record.record_id, site=record.site,
        authority=_authority_of(record.site, person), status=CertificateStatus.REQUESTED,
        dcc=dcc, requested_by=actor, requested_at=timezone.now())


def certificate_request(*, actor: User, person: Person, kind: str,
                        request: HttpRequest | None = None) -> IssuedCertificate:
    """Opens the flow for ``person``'s latest record of ``kind`` (the
    person themselves, from their own view, or the site's staff)."""
    certificate = _prepare(person, kind, None, actor=actor, check=True)
    with transaction.atomic():
        certificate.save()
        _audit(certificate, actor=actor, step="request", request=request,
               purpose=_("Đề nghị cấp chứng nhận COVID"))
    return certificate


def _locked(certificate: IssuedCertificate, expected: str) -> IssuedCertificate:
    locked = (IssuedCertificate.objects.select_for_update(of=("self",))
              .select_related("person", "site", "site__commune", "authority")
              .get(pk=certificate.pk))
    if locked.status != expected:
        raise ServiceError(_("Chứng nhận này không ở bước cần xử lý (%(status)s).")
                           % {"status": locked.get_status_display()}, code="wrong_step")
    return locked


def certificate_verify(*, actor: User, certificate: IssuedCertificate,
                       request: HttpRequest | None = None) -> IssuedCertificate:
    """Step 1: the site checks the record against its books."""
    if not can_verify_certificate(actor, certificate):
        raise NotAllowed(_("Chỉ điểm tiêm (hoặc điểm xét nghiệm) của hồ sơ được xác minh."))
    with transaction.atomic():
        locked = _locked(certificate, CertificateStatus.REQUESTED)
        if not record_exists(locked.kind, locked.record_id):
            raise ServiceError(_("Hồ sơ của đề nghị này không còn."), code="record_gone")
        locked.status = CertificateStatus.VERIFIED
        locked.verified_by, locked.verified_at = actor, timezone.now()
        locked.save(update_fields=["status", "verified_by", "verified_at"])
        _audit(locked, actor=actor, step="verify", request=request,
               purpose=_("Xác minh hồ sơ để cấp chứng nhận COVID"))
    return locked


def certificate_approve(*, actor: User, certificate: IssuedCertificate,
                        request: HttpRequest | None = None) -> IssuedCertificate:
    """Step 2: the site signs off on the platform."""
    if not can_approve_certificate(actor, certificate):
        raise NotAllowed(_("Chỉ người quản lý điểm tiêm (hoặc cán bộ y tế) được phê duyệt."))
    with transaction.atomic():
        locked = _locked(certificate, CertificateStatus.VERIFIED)
        locked.status = CertificateStatus.APPROVED
        locked.approved_by, locked.approved_at = actor, timezone.now()
        locked.save(update_fields=["status", "approved_by", "approved_at"])
        _audit(locked, actor=actor, step="approve", request=request,
               purpose=_("Phê duyệt cấp chứng nhận COVID"))
    return locked


@dataclass(frozen=True)
class Signer:
    key_row: SigningKey
    private_key: Any


def signer_for(authority: AdministrativeUnit, kind: str, at: datetime) -> Signer:
    """The authority's DSC allowed to sign ``kind`` and valid from ``at``
    for the certificate's 12 months, with its private key. Clear errors for
    no DSC, an expired one and a missing private key."""
    rows = [row for row in SigningKey.objects.filter(authority=authority, is_csca=False)
            .order_by("-not_after") if kind in row.types]
    if not rows:
        raise ServiceError(_("Tỉnh %(unit)s chưa có chứng chỉ ký (DSC) cho loại chứng nhận "
                             "này: chạy \"truyvet cert keys\".") % {"unit": authority.name},
                           code="key_not_configured")
    expires = hcert.expiry_of(at)
    usable = [row for row in rows if row.not_before <= at and row.not_after >= expires]
    if not usable:
        raise ServiceError(_("Chứng chỉ ký (DSC) của tỉnh %(unit)s đã hết hạn (hoặc hết hạn "
                             "trước chứng nhận, ngày %(until)s): cần chứng chỉ mới.")
                           % {"unit": authority.name,
                              "until": rows[0].not_after.date().isoformat()},
                           code="key_expired")
    row = usable[0]
    try:
        private = keys.private_key_load(row.name)
    except keys.KeyMissing:
        raise ServiceError(_("Không tìm thấy khoá bí mật của chứng chỉ ký \"%(name)s\" (biến "
                             "môi trường %(env)s hoặc tệp %(name)s.pem trong "
                             "DCC_SIGNING_KEYS_DIR).") % {"name": row.name,
                                                          "env": keys.env_name(row.name)},
                           code="key_missing") from None
    if private.public_key().public_numbers() != _public_numbers(row):
        raise ServiceError(_("Khoá bí mật \"%(name)s\" không khớp với chứng chỉ ký.")
                           % {"name": row.name}, code="key_mismatch")
    return Signer(row, private)


def _public_numbers(row: SigningKey) -> Any:
    public = x509.load_der_x509_certificate(bytes(row.certificate)).public_key()
    return public.public_numbers() if isinstance(public, ec.EllipticCurvePublicKey) else None


def _sign_into(locked: IssuedCertificate, signer: Signer, at: datetime) -> None:
    signed = hcert.hc1_sign(locked.dcc, key=signer.private_key, kid=bytes(signer.key_row.kid),
                            issued_at=at)
    uci = locked.uvci
    locked.hc1 = signed.hc1
    locked.issued_at, locked.expires_at = signed.issued_at, signed.expires_at
    locked.signing_key = signer.key_row
    locked.hash_uci = _truncated_sha256(uci.encode()).hex()
    locked.hash_country_uci = _truncated_sha256(("VN" + uci).encode()).hex()
    locked.hash_signature = _truncated_sha256(signed.signature[:32]).hex()
    locked.status = CertificateStatus.ISSUED


def certificate_sign(*, actor: User | None, certificate: IssuedCertificate,
                     at: datetime | None = None,
                     request: HttpRequest | None = None) -> IssuedCertificate:
    """Step 3: the province signs; the certificate is issued."""
    if actor is not None and not can_sign_certificate(actor, certificate):
        raise NotAllowed(_("Chỉ cán bộ cấp tỉnh được ký chứng nhận."))
    moment = at or timezone.now()
    with transaction.atomic():
        locked = _locked(certificate, CertificateStatus.APPROVED)
        signer = signer_for(locked.authority, locked.kind, moment)
        _sign_into(locked, signer, moment)
        locked.signed_by = actor
        locked.save()
        _audit(locked, actor=actor, step="sign", request=request,
               purpose=_("Ký cấp chứng nhận COVID"), key=signer.key_row.name)
    return locked


def certificate_issue_now(*, person: Person, kind: str, at: datetime | None = None,
                          actor: User | None = None) -> IssuedCertificate:
    """The whole flow at once for the console (``truyvet cert issue``): the
    three steps recorded as done by the operator, all or nothing."""
    moment = at or timezone.now()
    certificate = _prepare(person, kind, moment, actor=actor, check=False)
    signer = signer_for(certificate.authority, certificate.kind, moment)
    with transaction.atomic():
        certificate.requested_at = certificate.verified_at = certificate.approved_at = moment
        certificate.verified_by = certificate.approved_by = actor
        _sign_into(certificate, signer, moment)
        certificate.save()
        for step in ("request", "verify", "approve", "sign"):
            _audit(certificate, actor=actor, step=step,
                   purpose=_("Cấp chứng nhận COVID từ dòng lệnh"))
    return certificate


def _clean_reason(reason: str) -> str:
    errors = ErrorCollector()
    text = clean_line(reason, errors, "reason")
    if not text:
        errors.add("reason", gettext_lazy("Hãy ghi lý do thu hồi."), "required")
    elif len(text) > MAX_REASON:
        errors.add("reason", gettext_lazy("Lý do dài quá 300 ký tự."), "too_long")
    errors.raise_if_any(gettext_lazy("Không thu hồi được chứng nhận."))
    return text


def certificate_revoke(*, actor: User | None, certificate: IssuedCertificate, reason: str,
                       request: HttpRequest | None = None) -> IssuedCertificate:
    """Revokes an issued certificate (or withdraws a request not yet signed)."""
    text = _clean_reason(reason)
    if actor is not None and not can_revoke_certificate(actor, certificate):
        raise NotAllowed(_("Bạn không thu hồi được chứng nhận này."))
    with transaction.atomic():
        locked = IssuedCertificate.objects.select_for_update(of=("self",)).select_related(
            "person", "authority").get(pk=certificate.pk)
        _revoke_locked(locked, actor=actor, reason=text, request=request)
    return locked


def _revoke_locked(locked: IssuedCertificate, *, actor: User | None, reason: str,
                   request: HttpRequest | None = None) -> None:
    if locked.status not in ACTIVE:
        raise ServiceError(_("Chứng nhận này đã bị thu hồi hoặc huỷ."), code="not_active")
    issued = locked.status == CertificateStatus.ISSUED
    locked.status = CertificateStatus.REVOKED if issued else CertificateStatus.WITHDRAWN
    locked.revoked_at, locked.revoked_by, locked.revocation_reason = (
        timezone.now(), actor, reason)
    locked.save(update_fields=["status", "revoked_at", "revoked_by", "revocation_reason"])
    _audit(locked, actor=actor, step="revoke" if issued else "withdraw", request=request,
           purpose=_("Thu hồi chứng nhận COVID"), reason=reason)


def certificate_by_uvci(uvci: str) -> IssuedCertificate:
    found = IssuedCertificate.objects.select_related("person", "authority").filter(
        uvci=(uvci or "").strip()).first()
    if found is None:
        raise ServiceError(_("Không có chứng nhận mang mã %(uvci)s.") % {"uvci": uvci[:60]},
                           code="not_found", status=404)
    return found


# --- A corrected dose (vaccination hook) ---------------------------------------------------


def certificates_follow_corrected_dose(*, person: Person, dose_id: int | None, actor: Any,
                                       reason: str) -> None:
    """Registered for ``vaccination.hooks.dose_corrected``: each certificate
    issued from the dose is revoked and, when the dose remains, a new one
    is made from its corrected values, replacing it. It is signed at once
    when the authority's key is at hand, and otherwise waits for the
    province's signature (the correction itself is never held back)."""
    if dose_id is None:
        return
    old_ones: Iterable[IssuedCertificate] = IssuedCertificate.objects.select_for_update(
        of=("self",)).select_related("person", "authority").filter(
        kind=CertificateKind.VACCINATION, record_id=dose_id, status__in=ACTIVE)
    why = _("Hồ sơ tiêm đã được điều chỉnh: %(reason)s") % {"reason": reason}
    for old in list(old_ones):
        was_issued = old.status == CertificateStatus.ISSUED
        _revoke_locked(old, actor=actor, reason=why[:MAX_REASON])
        if not was_issued or not record_exists("v", dose_id):
            continue
        _reissue(old, actor=actor)


def _reissue(old: IssuedCertificate, *, actor: Any) -> None:
    now = timezone.now()
    dose = next((d for d in certificate_doses(person=old.person) if d.dose_id == old.record_id),
                None)
    if dose is None:
        return
    facts = hcert.VaccinationFacts(
        dose_number=dose.dose_number, series_doses=dose.series_doses, given_on=dose.given_on,
        product=dose.product, manufacturer=dose.manufacturer, vaccine_type=dose.vaccine_type,
        country=dose.country)
    uvci = uvci_new()
    person = old.person
    dcc = hcert.dcc_build(person=hcert.holder(full_name=person.full_name,
                                              birth_date=person.birth_date,
                                              birth_year=person.birth_year),
                          facts=facts, uvci=uvci)
    new = IssuedCertificate(
        uvci=uvci, person=person, kind="v", record_id=old.record_id, site=old.site,
        authority=old.authority, status=CertificateStatus.APPROVED, dcc=dcc,
        requested_by=actor, requested_at=now, verified_by=actor, verified_at=now,
        approved_by=actor, approved_at=now, replaces=old)
    try:
        signer = signer_for(old.authority, "v", now)
    except ServiceError:
        signer = None
    if signer is not None:
        _sign_into(new, signer, now)
        new.signed_by = actor
    new.save()
    _audit(new, actor=actor, step="reissue", purpose=_("Cấp lại chứng nhận sau điều chỉnh"),
           replaces=old.uvci)


# --- Keys --------------------------------------------------------------------------------


def province_key_name(unit: AdministrativeUnit) -> str:
    slug = "-".join(fold(unit.name).replace("tinh ", "").replace("thanh pho ", "").split())
    return (slug or f"unit-{unit.pk}")[:63]


@dataclass(frozen=True)
class MadeKey:
    name: str
    kid: bytes
    path: str
    created: bool


def signing_keys_make(*, provinces: Iterable[AdministrativeUnit] | None = None,
                      types: str = "vtr", now: datetime | None = None,
                      days: int = 730) -> list[MadeKey]:
    """A demo CSCA (made once) and a DSC for each province (every province
    by default) that has none valid for at least 12 more months. Private
    keys go to DCC_SIGNING_KEYS_DIR; the public certificates to the
    database."""
    moment = now or timezone.now()
    made: list[MadeKey] = []
    csca_row = SigningKey.objects.filter(is_csca=True).order_by("-not_after").first()
    csca: keys.MadeCertificate | None = None
    if csca_row is not None:
        try:
            csca = keys.MadeCertificate(keys.private_key_load(csca_row.name),
                                        x509.load_der_x509_certificate(
                                            bytes(csca_row.certificate)))
        except keys.KeyMissing:
            csca = None
    if csca is None or csca.certificate.not_valid_after_utc < moment + timedelta(days=days):
        csca = keys.csca_make(now=moment)
        path = keys.private_key_save(keys.CSCA_NAME, csca.key)
        SigningKey.objects.update_or_create(name=keys.CSCA_NAME, defaults={
            "is_csca": True, "kid": csca.kid, "certificate": csca.der, "types": "",
            "not_before": csca.certificate.not_valid_before_utc,
            "not_after": csca.certificate.not_valid_after_utc, "created_at": moment})
        made.append(MadeKey(keys.CSCA_NAME, csca.kid, str(path), True))
    units = list(provinces) if provinces is not None else list(
        AdministrativeUnit.objects.filter(level=Level.PROVINCE).order_by("code"))
    for unit in units:
        name = province_key_name(unit)
        current = SigningKey.objects.filter(authority=unit, is_csca=False,
                                            not_after__gte=moment + timedelta(days=400)).first()
        if current is not None:
            try:
                keys.private_key_load(current.name)
                made.append(MadeKey(current.name, bytes(current.kid), "", False))
                continue
            except keys.KeyMissing:
                pass
        dsc = keys.dsc_make(csca=csca, authority=fold_ascii(unit.name), types=types,
                            now=moment, days=days)
        path = keys.private_key_save(name, dsc.key)
        with transaction.atomic():
            SigningKey.objects.update_or_create(name=name, defaults={
                "is_csca": False, "authority": unit, "kid": dsc.kid, "certificate": dsc.der,
                "types": types, "not_before": dsc.certificate.not_valid_before_utc,
                "not_after": dsc.certificate.not_valid_after_utc, "created_at": moment})
        made.append(MadeKey(name, dsc.kid, str(path), True))
    return made


def fold_ascii(text: str) -> str:
    return hcert.icao_transliteration(text).replace("<", " ").title()
