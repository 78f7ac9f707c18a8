"""HTML pages: the same services and selectors as the API, rendered."""

from __future__ import annotations

import uuid
from typing import Any

import segno
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from truyvet.accounts.models import AuthenticatedHttpRequest
from truyvet.checkins.cards import personal_card_pdf
from truyvet.checkins.services import venue_for_staff
from truyvet.core.errors import NotFound, ServiceError
from truyvet.core.masking import mask_name
from truyvet.declarations import checkpoints, permissions, selectors, services
from truyvet.declarations.forms import DeclarationForm, FollowUpDoneForm, MovementForm, PaperForm
from truyvet.declarations.models import DeclarationKind
from truyvet.declarations.plates import plate_display
from truyvet.places.selectors import unit_by_code
from truyvet.venues.models import Venue


def _qr_svg(token: str) -> str:
    return segno.make(token, error="m", micro=False).svg_inline(
        scale=8, border=4, dark="#000", light="#fff", omitsize=True)


def _form_class(kind: str) -> type[DeclarationForm]:
    if kind == DeclarationKind.MOVEMENT:
        return MovementForm
    if kind == DeclarationKind.HEALTH:
        return DeclarationForm
    raise Http404


@login_required
def mine_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What I declared, newest first, with links to declare."""
    return render(request, "declarations/mine.html", {
        "declarations": list(selectors.declarations_of(user=request.user)[:50])})


def _initial_for(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    person = request.user.person
    initial: dict[str, Any] = {"full_name": person.full_name, "birth_year": person.birth_year,
                               "sex": person.sex, "id_number": person.id_number or "",
                               "phone": person.phone, "street": person.street}
    if person.commune is not None:
        initial["commune"] = f"{person.commune.full_name} ({person.commune.code})"
    return initial


@login_required
def new_view(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    """The health or movement declaration form (phone first)."""
    form_class = _form_class(kind)
    form = form_class(request.POST or None, kind=kind,
                      initial=_initial_for(request) if request.method == "GET" else None)
    if request.method == "POST" and form.is_valid():
        try:
            declaration = services.declaration_submit(
                actor=request.user, data=form.declaration_input(), request=request)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return redirect("declarations:detail", series=declaration.series)
    return render(request, "declarations/form.html", {
        "form": form, "kind": kind, "title": DeclarationKind(kind).label,
        "plates": []})


def _found(request: HttpRequest, series: uuid.UUID) -> selectors.DeclarationView:
    try:
        return selectors.declaration_for(viewer=request.user, series=series, request=request)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


@login_required
def detail_view(request: AuthenticatedHttpRequest, series: uuid.UUID) -> HttpResponse:
    """The declaration's QR, big, with its expiry; its versions below. An
    official over the commune sees the declaration without the QR."""
    found = _found(request, series)
    own = permissions.is_declarant(request.user, found.current)
    return render(request, "declarations/detail.html", {
        "found": found, "d": found.current, "own": own,
        "qr_svg": _qr_svg(found.token) if own and not found.current.qr_revoked_at else "",
        "plate": plate_display(found.current.plate) if found.current.plate else "",
        "masked_name": mask_name(found.current.full_name),
    })


@login_required
def update_view(request: AuthenticatedHttpRequest, series: uuid.UUID) -> HttpResponse:
    """"Cập nhật tờ khai": the form filled with the current version."""
    found = _found(request, series)
    if not permissions.is_declarant(request.user, found.current):
        raise Http404
    kind = found.current.kind
    form_class = _form_class(kind)
    form = form_class(request.POST or None, kind=kind,
                      initial=form_class.initial_from(found.current))
    if request.method == "POST" and form.is_valid():
        try:
            services.declaration_update(actor=request.user, series=series,
                                        data=form.declaration_input(), request=request)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return redirect("declarations:detail", series=series)
    return render(request, "declarations/form.html", {
        "form": form, "kind": kind, "title": gettext("Cập nhật tờ khai"), "update": True,
        "plates": []})


@login_required
@require_POST
def revoke_view(request: AuthenticatedHttpRequest, series: uuid.UUID) -> HttpResponse:
    try:
        services.declaration_qr_revoke(actor=request.user, series=series)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    return redirect("declarations:detail", series=series)


@login_required
def card_view(request: AuthenticatedHttpRequest, series: uuid.UUID) -> HttpResponse:
    """The declaration QR as a 5 × 5 cm card (PDF), for its declarant."""
    found = _found(request, series)
    if not permissions.is_declarant(request.user, found.current) or found.current.qr_revoked_at:
        raise Http404
    data = personal_card_pdf(
        token=found.token, full_name=mask_name(found.current.full_name),
        title=gettext("truyvet · Mã QR tờ khai"),
        note=gettext("Có giá trị đến %(when)s. Đưa mã này cho cán bộ tại chốt kiểm soát quét.")
        % {"when": found.expires.astimezone().strftime("%H:%M %d/%m/%Y")},
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="to-khai-{series}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def follow_up_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The commune health officer's follow-up list, with counts and a
    "done" action with a note."""
    if request.method == "POST":
        form = FollowUpDoneForm(request.POST)
        try:
            declaration_id = int(request.POST.get("declaration", ""))
        except ValueError:
            raise Http404 from None
        if form.is_valid():
            try:
                services.follow_up_done(actor=request.user, declaration_id=declaration_id,
                                        note=form.cleaned_data["note"], request=request)
            except NotFound as exc:
                raise Http404(str(exc.message)) from exc
            except ServiceError:
                pass  # done twice: the list shows it done
        return redirect(f"{request.path}?done={request.GET.get('done', '')}")
    done = request.GET.get("done") == "1"
    try:
        found = selectors.follow_ups_for(viewer=request.user, done=done, request=request)
    except ServiceError as exc:
        raise Http404(str(exc.message)) from exc
    return render(request, "declarations/follow_up.html", {
        "found": found, "done": done,
        "rows": [(d, mask_name(d.full_name)) for d in found.rows]})


@login_required
def movements_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Arrivals and departures of the official's area (checkpoint passes and
    declared trips), counted per day; level-3/4 zones apart."""
    code = (request.GET.get("unit") or "").strip()[:10]
    try:
        unit = unit_by_code(code=code) if code else None
        found = selectors.movements_for(viewer=request.user, unit=unit,
                                        watched_only=request.GET.get("watched") == "1",
                                        request=request)
    except ServiceError as exc:
        raise Http404(str(exc.message)) from exc
    return render(request, "declarations/movements.html", {
        "found": found,
        "passes": [(p, mask_name(p.declaration.full_name), plate_display(p.plate))
                   for p in found.passes],
        "declared": [(d, mask_name(d.full_name)) for d in found.declared],
    })


def _checkpoint(request: AuthenticatedHttpRequest, code: str) -> Venue:
    try:
        venue = venue_for_staff(controller=request.user, text=code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    if not permissions.can_scan_at_checkpoint(request.user, venue):
        raise Http404
    return venue


@login_required
def paper_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """A paper declaration typed in at the checkpoint, keyboard only; the
    pass is recorded with it. Per-day counts of the checkpoint below."""
    venue = _checkpoint(request, code)
    form = PaperForm(request.POST or None)
    recorded: checkpoints.PassResult | None = None
    if request.method == "POST" and form.is_valid():
        try:
            recorded = checkpoints.checkpoint_paper_entry(
                controller=request.user, venue=venue, data=form.declaration_input(),
                direction=form.cleaned_data.get("direction") or None, request=request)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            form = PaperForm()
    return render(request, "declarations/paper.html", {
        "venue": venue, "form": form, "recorded": recorded,
        "lines": checkpoints.scan_lines(recorded) if recorded else (),
        "recorded_name": mask_name(recorded.declaration.full_name) if recorded else "",
        "plates": [plate_display(p) for p in selectors.recent_plates(venue=venue)],
        "days": selectors.passes_per_day(venue=venue),
    })
