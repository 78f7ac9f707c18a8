"""Issuing over JSON, mounted at ``/api/v1/certificates/``: the same
services and selectors as the pages. Public: our trust list and our
revocation list (what other verifiers import)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from truyvet.certificates.issuing import selectors, services
from truyvet.certificates.issuing.documents import certificate_pdf
from truyvet.certificates.models import IssuedCertificate
from truyvet.core.api_auth import logged_in
from truyvet.core.errors import ServiceError
from truyvet.core.masking import mask_name

router = Router(tags=["certificates"])


class RequestIn(Schema):
    type: str  # v, t or r


class ReasonIn(Schema):
    reason: str


class IssuedOut(Schema):
    uvci: str
    type: str
    status: str
    status_display: str
    holder: str
    requested_at: datetime
    issued_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str
    hc1: str
    fields: dict[str, Any]


def _out(certificate: IssuedCertificate, *, viewer: Any) -> dict[str, Any]:
    own = getattr(viewer, "person_id", None) == certificate.person_id
    return {
        "uvci": certificate.uvci, "type": certificate.kind, "status": certificate.status,
        "status_display": certificate.get_status_display(),
        "holder": certificate.person.full_name if own else mask_name(
            certificate.person.full_name),
        "requested_at": certificate.requested_at, "issued_at": certificate.issued_at,
        "expires_at": certificate.expires_at, "revoked_at": certificate.revoked_at,
        "revocation_reason": certificate.revocation_reason, "hc1": certificate.hc1,
        "fields": certificate.dcc,
    }


def _caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get("/trustlist", auth=None, summary="Our DSCs in the EU gateway's trust-list shape")
def trustlist(request: HttpRequest) -> list[dict[str, Any]]:
    return selectors.trust_list()


@router.get("/revocations", auth=None,
            summary="Our revoked certificates as DCC revocation hashes")
def revocations(request: HttpRequest) -> list[dict[str, Any]]:
    """Batches of UCI, COUNTRYCODEUCI and SIGNATURE hashes (first 16 bytes
    of SHA-256, base64) per signing certificate, per the DCC revocation spec."""
    return selectors.revocation_list()


@router.get("/issued", response=list[IssuedOut], auth=logged_in,
            summary="Your own certificates")
def mine(request: HttpRequest) -> list[dict[str, Any]]:
    user = _caller(request)
    return [_out(c, viewer=user) for c in selectors.my_certificates(person=user.person)[:100]]


@router.post("/issued", response={201: IssuedOut}, auth=logged_in,
             summary="Ask for a certificate of your latest record")
def request_one(request: HttpRequest, payload: RequestIn) -> tuple[int, dict[str, Any]]:
    user = _caller(request)
    made = services.certificate_request(actor=user, person=user.person, kind=payload.type,
                                        request=request)
    return 201, _out(made, viewer=user)


@router.get("/queue", response=list[IssuedOut], auth=logged_in,
            summary="Requests waiting on a step you may take")
def queue(request: HttpRequest) -> list[dict[str, Any]]:
    user = _caller(request)
    return [_out(c, viewer=user) for c in selectors.queue_for(viewer=user)[:200]]


@router.get("/issued/{uvci}", response=IssuedOut, auth=logged_in, summary="One certificate")
def one(request: HttpRequest, uvci: str) -> dict[str, Any]:
    user = _caller(request)
    return _out(selectors.certificate_for(viewer=user, uvci=uvci, request=request), viewer=user)


@router.get("/issued/{uvci}/pdf", auth=logged_in, summary="The PDF certificate")
def pdf(request: HttpRequest, uvci: str) -> HttpResponse:
    certificate = selectors.certificate_for(viewer=_caller(request), uvci=uvci,
                                            request=request)
    if not certificate.hc1:
        raise ServiceError(_("Chứng nhận chưa được ký."), code="not_signed", status=409)
    response = HttpResponse(certificate_pdf(certificate), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="covid-certificate.pdf"'
    return response


@router.post("/issued/{uvci}/revoke", response=IssuedOut, auth=logged_in,
             summary="Revoke a certificate (province)")
def revoke(request: HttpRequest, uvci: str, payload: ReasonIn) -> dict[str, Any]:
    user = _caller(request)
    certificate = selectors.certificate_for(viewer=user, uvci=uvci, request=request)
    return _out(services.certificate_revoke(actor=user, certificate=certificate,
                                            reason=payload.reason, request=request),
                viewer=user)


STEPS = {
    "verify": services.certificate_verify,
    "approve": services.certificate_approve,
    "sign": services.certificate_sign,
}


@router.post("/issued/{uvci}/{step}", response=IssuedOut, auth=logged_in,
             summary="Take a step: verify (site), approve (site), sign (province)")
def take_step(request: HttpRequest, uvci: str, step: str) -> dict[str, Any]:
    user = _caller(request)
    certificate = selectors.certificate_for(viewer=user, uvci=uvci, request=request)
    action = STEPS.get(step)
    if action is None:
        raise ServiceError(_("Bước phải là verify, approve hoặc sign."), code="step_invalid",
                           status=404)
    return _out(action(actor=user, certificate=certificate, request=request), viewer=user)
