"""Pages: the public certificate verifier, and the system admin's trust lists.
Both call the same services and selectors as the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from truyvet.accounts.models import AuthenticatedHttpRequest
from truyvet.certificates import selectors, services
from truyvet.certificates.forms import TrustListImportForm, VerifyForm
from truyvet.certificates.presenting import result_view
from truyvet.core.errors import NotAllowed, ServiceError


def verify_view(request: HttpRequest) -> HttpResponse:
    """Paste or upload on any browser; with JavaScript the camera posts each
    code it reads here with ``?partial=1`` and shows the panel it gets."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    results: list[dict[str, Any]] = []
    error: ServiceError | None = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("image")
        try:
            verified = services.certificates_verify(
                text=form.cleaned_data.get("text") or "",
                image=upload.read(settings.CERT_IMAGE_MAX_BYTES + 1) if upload else b"",
                request=request,
            )
            results = [result_view(v.result, v.label) for v in verified]
        except ServiceError as exc:
            error = exc
    context = {"form": form, "results": results, "error": error}
    template = (
        "certificates/_results.html" if request.GET.get("partial") == "1"
        else "certificates/verify.html"
    )
    status = 429 if error is not None and error.status == 429 else 200
    response = render(request, template, context, status=status)
    if status == 429 and error is not None and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


@login_required
def trust_lists_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        trust_lists = list(selectors.trust_lists_for(viewer=request.user))
    except NotAllowed:
        raise PermissionDenied from None
    form = TrustListImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imported = services.trust_list_import(
                actor=request.user, name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                data=upload.read(services.MAX_TRUST_LIST_BYTES + 1),
                issuer_url=form.cleaned_data.get("issuer_url") or "",
            )
        except ServiceError as exc:
            for error in exc.errors:
                form.add_error(error.field if error.field in form.fields else None,
                               str(error.message))
            if not exc.errors:
                form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Đã nhập “%(name)s”: %(count)s mục.") % {
                "name": imported.name, "count": imported.entry_count})
            return redirect("certificates:trust_lists")
    return render(request, "certificates/trust_lists.html",
                  {"trust_lists": trust_lists, "form": form})


@login_required
@require_POST
def trust_list_delete_view(request: AuthenticatedHttpRequest, trust_list_id: int) -> HttpResponse:
    try:
        services.trust_list_delete(actor=request.user, trust_list_id=trust_list_id)
    except NotAllowed:
        raise PermissionDenied from None
    messages.success(request, _("Đã xoá danh sách tin cậy."))
    return redirect("certificates:trust_lists")
