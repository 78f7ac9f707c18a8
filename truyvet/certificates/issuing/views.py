"""Pages of issuing: the citizen's certificates and request, the wallet
view, the PDF, and the officials' queue with its steps. The same services
and selectors as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from truyvet.accounts.models import AuthenticatedHttpRequest
from truyvet.certificates.issuing import selectors, services
from truyvet.certificates.issuing.documents import certificate_pdf, qr_svg
from truyvet.certificates.issuing.permissions import (
    can_approve_certificate,
    can_revoke_certificate,
    can_sign_certificate,
    can_verify_certificate,
)
from truyvet.certificates.models import CertificateKind, CertificateStatus
from truyvet.core.errors import NotFound, ServiceError


def _error_text(exc: ServiceError) -> str:
    if exc.errors:
        return " ".join(str(e.message) for e in exc.errors)
    return str(exc.message)


@login_required
def mine_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The citizen's own certificates; asking for one opens the flow."""
    if request.method == "POST":
        try:
            services.certificate_request(actor=request.user, person=request.user.person,
                                         kind=request.POST.get("type", ""), request=request)
        except ServiceError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Đã gửi đề nghị. Điểm tiêm xác minh, phê duyệt, rồi "
                                        "tỉnh ký chứng nhận."))
        return redirect("issuing:mine")
    return render(request, "certificates/issuing/mine.html", {
        "certificates": selectors.my_certificates(person=request.user.person),
        "kinds": CertificateKind.choices,
    })


@login_required
def wallet_view(request: AuthenticatedHttpRequest, uvci: str) -> HttpResponse:
    """The certificate on the phone: the QR at full width, the hint to turn
    the brightness up, the expiry; and the steps for officials."""
    try:
        certificate = selectors.certificate_for(viewer=request.user, uvci=uvci, request=request)
    except NotFound:
        raise Http404 from None
    user = request.user
    status = certificate.status
    return render(request, "certificates/issuing/wallet.html", {
        "certificate": certificate,
        "own": user.person_id == certificate.person_id,
        "qr": qr_svg(certificate.hc1) if status == CertificateStatus.ISSUED else "",
        "expired": bool(certificate.expires_at and certificate.expires_at < timezone.now()),
        "can_verify": status == CertificateStatus.REQUESTED
        and can_verify_certificate(user, certificate),
        "can_approve": status == CertificateStatus.VERIFIED
        and can_approve_certificate(user, certificate),
        "can_sign": status == CertificateStatus.APPROVED
        and can_sign_certificate(user, certificate),
        "can_revoke": status in services.ACTIVE and can_revoke_certificate(user, certificate),
    })


@login_required
def pdf_view(request: AuthenticatedHttpRequest, uvci: str) -> HttpResponse:
    try:
        certificate = selectors.certificate_for(viewer=request.user, uvci=uvci, request=request)
    except NotFound:
        raise Http404 from None
    if certificate.status != CertificateStatus.ISSUED:
        raise Http404
    response = HttpResponse(certificate_pdf(certificate), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="covid-certificate.pdf"'
    return response


@login_required
def queue_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "certificates/issuing/queue.html",
                  {"waiting": selectors.queue_for(viewer=request.user)[:200]})


@login_required
@require_POST
def step_view(request: AuthenticatedHttpRequest, uvci: str, step: str) -> HttpResponse:
    try:
        certificate = selectors.certificate_for(viewer=request.user, uvci=uvci, request=request)
    except NotFound:
        raise Http404 from None
    try:
        if step == "verify":
            services.certificate_verify(actor=request.user, certificate=certificate,
                                        request=request)
        elif step == "approve":
            services.certificate_approve(actor=request.user, certificate=certificate,
                                         request=request)
        elif step == "sign":
            services.certificate_sign(actor=request.user, certificate=certificate,
                                      request=request)
        elif step == "revoke":
            services.certificate_revoke(actor=request.user, certificate=certificate,
                                        reason=request.POST.get("reason", ""), request=request)
        else:
            raise Http404
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Đã cập nhật chứng nhận."))
    return redirect("issuing:wallet", uvci=certificate.uvci)
