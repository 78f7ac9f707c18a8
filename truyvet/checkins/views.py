"""HTML pages for check-ins: the venue page a poster's QR opens (/v/<token>)
with its check-in block, the confirmation with its "leaving" button, "Nơi đã
đến", the personal QR and its printable card, and the controller's door page.
Each page calls the same services and selectors as ``api.py``."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from truyvet.accounts.models import AuthenticatedHttpRequest, Person, Viewer
from truyvet.checkins import permissions, selectors, services
from truyvet.checkins.forms import (
    CardPurposeForm,
    GuestForm,
    LogRangeForm,
    ManualEntryForm,
    WedgeScanForm,
)
from truyvet.checkins.models import CheckIn, DepartureKind
from truyvet.checkins.personal_qr import (
    card_status_for,
    personal_qr_measure,
    personal_qr_rotate,
    personal_qr_token,
    personal_qr_token_with_claim,
)
from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.core.pagination import page_number
from truyvet.core.selectors import audit_events_about
from truyvet.places.levels import commune_level_at, entry_badge, levels_exist
from truyvet.venues import permissions as venue_permissions
from truyvet.venues import selectors as venue_selectors
from truyvet.venues.api import file_response
from truyvet.venues.models import Venue
from truyvet.venues.qr import venue_qr_resolve

GUEST_SESSION_KEY = "checkins.guest_tokens"
GUEST_SESSION_MAX = 20
CONTROL_SESSION_KEY = "checkins.control_venue"


def _render(
    request: HttpRequest, template: str, context: dict[str, Any],
    error: ServiceError | None = None,
) -> HttpResponse:
    """Renders a page; a rate limit keeps its 429 and Retry-After."""
    status = 429 if error is not None and error.status == 429 else 200
    response = render(request, template, context, status=status)
    if status == 429 and error is not None and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def _venue_page(token: str) -> str:
    token = (token or "").strip().rstrip("/").rsplit("/", 1)[-1]
    return reverse("venue_scan", kwargs={"token": token}) if token else reverse("home")


# --- The venue page: what the poster's QR opens ---------------------------------------

SCAN_ERROR_TITLES: dict[str, Any] = {
    "qr_forged": gettext_lazy("Mã QR giả hoặc đã bị sửa"),
    "qr_revoked": gettext_lazy("Mã QR đã bị thu hồi"),
    "qr_unknown": gettext_lazy("Không có địa điểm với mã QR này"),
    "qr_malformed": gettext_lazy("Mã QR không đúng định dạng"),
}


def venue_scan_view(request: HttpRequest, token: str) -> HttpResponse:
    """What a phone camera opens: /v/<token> from the poster. Resolves the
    signed code and shows the venue with its check-in block, or says plainly
    why the code is not valid."""
    payload = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/v/{token}"
    try:
        venue = venue_qr_resolve(payload)
    except ServiceError as exc:
        return render(request, "checkins/venue_scan.html", {
            "error": exc, "error_title": SCAN_ERROR_TITLES.get(exc.code),
        }, status=exc.status if exc.status >= 400 else 400)
    # The level of the venue's commune now, the time of the visit about to be made.
    level = entry_badge(commune_level_at(venue.commune_id))
    return render(request, "checkins/venue_scan.html", {"venue": venue, "token": token,
                                                        "level": level})


# --- The venue page's check-in block ---------------------------------------------------


@require_POST
def scan_checkin_view(request: HttpRequest) -> HttpResponse:
    """The logged-in citizen's one tap on the venue page."""
    token = request.POST.get("venue", "")
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': _venue_page(token)})}")
    try:
        result = services.checkin_citizen_scan(
            user=request.user, venue_payload=token, request=request,
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect(_venue_page(token))
    return redirect("checkins:visit", checkin_id=result.checkin.pk)


def _remember_guest(request: HttpRequest, token: str) -> None:
    tokens = [t for t in request.session.get(GUEST_SESSION_KEY, []) if isinstance(t, str)]
    request.session[GUEST_SESSION_KEY] = [token, *tokens][:GUEST_SESSION_MAX]


def _guest_token_for(request: HttpRequest, checkin: CheckIn) -> str:
    """The guest check-out token this browser holds for ``checkin``, if any."""
    for token in request.session.get(GUEST_SESSION_KEY, []):
        if isinstance(token, str) and services.guest_token_matches(token, checkin):
            return token
    return ""


def guest_checkin_view(request: HttpRequest) -> HttpResponse:
    """Name and phone, ID optional, no account: the visitor is done in
    seconds. GET shows the form for ``?venue=<token>``."""
    form = GuestForm(request.POST or None, initial={"venue": request.GET.get("venue", "")})
    token = (request.POST.get("venue") if request.method == "POST" else
             request.GET.get("venue")) or ""
    venue = None
    error: ServiceError | None = None
    try:
        venue = services.venue_from_scanned_payload(token)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect(_venue_page(token) if token else "home")
    if request.method == "POST" and form.is_valid():
        try:
            result = services.checkin_guest(
                venue=venue, full_name=form.cleaned_data["full_name"],
                phone=form.cleaned_data["phone"], id_number=form.cleaned_data["id_number"],
                request=request,
            )
        except ServiceError as exc:
            error = exc
            form.add_service_error(exc)
        else:
            _remember_guest(request, services.guest_checkout_token(result.checkin))
            return redirect("checkins:visit", checkin_id=result.checkin.pk)
    return _render(
        request, "checkins/guest.html",
        {"form": form, "venue": venue, "token": token,
         "login_url": f"{reverse('accounts:login')}?{urlencode({'next': _venue_page(token)})}"},
        error,
    )


# --- A visit: confirmation and "leaving" -------------------------------------------------


def _visit_for(request: HttpRequest, checkin_id: uuid.UUID) -> tuple[CheckIn, str]:
    """The visit if it is the user's own or this browser's guest visit."""
    try:
        checkin = selectors.checkin_by_id(checkin_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    if getattr(request.user, "person_id", None) == checkin.person_id:
        return checkin, ""
    token = _guest_token_for(request, checkin)
    if not token:
        raise Http404(_("Không tìm thấy lượt đến này."))
    return checkin, token


@require_GET
def visit_view(request: HttpRequest, checkin_id: uuid.UUID) -> HttpResponse:
    checkin, guest_token = _visit_for(request, checkin_id)
    return render(request, "checkins/visit.html", {
        "checkin": checkin,
        "level": selectors.visit_levels([checkin]).get(checkin.pk),
        "is_guest": bool(guest_token),
        "open": checkin.departure_kind == DepartureKind.ESTIMATED,
    })


@require_POST
def checkout_view(request: HttpRequest, checkin_id: uuid.UUID) -> HttpResponse:
    checkin, guest_token = _visit_for(request, checkin_id)
    try:
        services.checkin_throttle(scope="scan", request=request, user=request.user)
        services.checkin_checkout(actor=request.user, checkin=checkin, guest_token=guest_token)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Đã ghi nhận bạn rời đi. Cảm ơn bạn!"))
    return redirect("checkins:visit", checkin_id=checkin.pk)


# --- "Nơi đã đến" ------------------------------------------------------------------------


@login_required
def history_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own visits of the last 21 days, the visits recorded
    without an account under their phone and name that wait for them to
    say whether they are theirs, and who viewed their data."""
    user = request.user
    offered = selectors.guest_visits_offered(user=user)
    checkins = list(selectors.checkins_of_me(user=user))
    levels = selectors.visit_levels(checkins)
    for checkin in checkins:
        checkin.level = levels.get(checkin.pk)  # type: ignore[attr-defined]
    return render(request, "checkins/history.html", {
        "checkins": checkins,
        "show_levels": bool(levels) or levels_exist(),  # the column waits for levels
        "days": selectors.HISTORY_DAYS,
        "offered": list(offered[:50]),
        "offered_count": offered.count(),
        "viewed_by": list(audit_events_about(user.person_id)[:50]),
    })


@login_required
@require_POST
def guest_visits_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """"Thêm vào lịch sử của tôi" or "Không phải tôi" for the visits offered."""
    user = request.user
    if request.POST.get("action") == "adopt":
        moved = services.checkins_adopt_guest(user=user)
        messages.success(request, _("Đã thêm %(count)s lượt đến vào lịch sử của bạn.")
                         % {"count": moved})
    elif request.POST.get("action") == "decline":
        services.checkins_decline_guest(user=user)
        messages.success(request, _("Đã ghi nhận: các lượt đến đó không phải của bạn."))
    return redirect("checkins:history")


# --- Personal QR --------------------------------------------------------------------------


def _qr_svg(token: str) -> str:
    return segno.make(token, error="m", micro=False).svg_inline(
        scale=8, border=4, dark="#000", light="#fff", omitsize=True,
    )


@login_required
def personal_qr_view(request: HttpRequest) -> HttpResponse:
    """The personal QR, big on screen, with the short name and the COVID
    card colour (grey "no vaccination data" until that data exists)."""
    person: Person = request.user.person  # type: ignore[union-attr]  # login_required
    status = card_status_for(person)
    # On screen the QR carries a signed colour claim (≤ 24 h) for offline
    # controllers; the printed card never does.
    token = (personal_qr_token_with_claim(person, colour=status.colour,
                                          valid_until=status.valid_until)
             if status else personal_qr_token(person))
    return render(request, "checkins/personal_qr.html", {
        "person": person,
        "token": token,
        "svg": _qr_svg(token),
        "measured": personal_qr_measure(token),
        "colour": status.colour if status else None,
        "status": status,
    })


@login_required
@require_POST
def personal_qr_rotate_view(request: HttpRequest) -> HttpResponse:
    personal_qr_rotate(request.user.person)  # type: ignore[union-attr]  # login_required
    messages.success(request, _("Đã tạo mã QR mới. Mã cũ và thẻ in trước đây không còn dùng "
                                "được."))
    return redirect("checkins:personal_qr")


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def personal_qr_card_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own card, 5 × 5 cm."""
    data = services.personal_qr_card_pdf(
        actor=request.user, person=request.user.person,
    )
    return _pdf(data, "the-qr-ca-nhan.pdf")


@login_required
def person_card_view(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    """An official prints the card of someone in their scope: the purpose is
    asked first and the print is audited."""
    person = Person.objects.select_related("commune").filter(pk=person_id).first()
    if person is None or not permissions.can_print_personal_qr_card(request.user, person):
        raise Http404(_("Không tìm thấy người này."))
    if getattr(request.user, "person_id", None) == person.pk:
        return redirect("checkins:personal_qr_card")
    form = CardPurposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = services.personal_qr_card_pdf(
                actor=request.user, person=person, purpose=form.cleaned_data["purpose"],
                request=request,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return _pdf(data, f"the-qr-{person.pk}.pdf")
    return render(request, "checkins/person_card.html", {"person": person, "form": form})


# --- The controller's door page ------------------------------------------------------------


@login_required
def control_index_view(request: HttpRequest) -> HttpResponse:
    """Choose the venue you stand at; the choice is remembered and reopened
    next time (``?choose=1`` shows the list again)."""
    venues = list(selectors.venues_scannable_by(request.user))
    codes = {venue.code for venue in venues}
    remembered = request.session.get(CONTROL_SESSION_KEY)
    if "choose" not in request.GET:
        if remembered in codes:
            return redirect("checkins:control", code=remembered)
        if len(venues) == 1:
            return redirect("checkins:control", code=venues[0].code)
    return render(request, "checkins/control_index.html",
                  {"venues": venues, "remembered": remembered})


def _control_venue(request: HttpRequest, code: str) -> Venue:
    try:
        return selectors.venue_for_controller(user=request.user, code=code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


@login_required
def control_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """The door page: a focused field for a handheld scanner (it types the
    code and presses Enter), manual entry with a lookup, and a big result
    panel. ``static/checkins/controller.js`` posts to the API; without
    JavaScript the forms post here and the same services answer."""
    venue = _control_venue(request, code)
    request.session[CONTROL_SESSION_KEY] = venue.code
    action = request.POST.get("action", "") if request.method == "POST" else ""
    scan_form = WedgeScanForm(request.POST if action == "scan" else None)
    manual_form = ManualEntryForm(request.POST if action == "manual" else None)
    outcome: services.StaffScanResult | None = None
    claimed: services.ScanDisplay | None = None
    error: ServiceError | None = None
    try:
        if action == "scan" and scan_form.is_valid():
            payload = scan_form.cleaned_data["payload"]
            claim = services.door_scan_claimed(controller=request.user, venue=venue,
                                               payload=payload, request=request)
            if claim is not None:
                claimed = services.claimed_display(claim)
            else:
                outcome = services.checkin_staff_scan(
                    controller=request.user, venue=venue, payload=payload, request=request,
                )
        elif action == "manual" and manual_form.is_valid():
            data = manual_form.cleaned_data
            outcome = services.checkin_manual(
                controller=request.user, venue=venue, full_name=data["full_name"],
                phone=data["phone"], id_number=data["id_number"], id_kind=data["id_kind"],
                street=data["street"], birth_date=data["birth_date"], separate=data["separate"],
                person_id=data["person_id"], request=request,
            )
            manual_form = ManualEntryForm()
    except ServiceError as exc:
        error = exc
        if action == "manual":
            manual_form.add_service_error(exc)
    return _render(request, "checkins/control.html", {
        "venue": venue,
        "awaits_approval": venue.awaits_staff_approval(),
        "scan_form": WedgeScanForm(),
        "manual_form": manual_form,
        "outcome": outcome,
        "claimed": claimed,
        "error": error,
    }, error)


@login_required
@require_GET
def control_lookup_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """People matching the controller's search (htmx partial), masked."""
    venue = _control_venue(request, code)
    query = (request.GET.get("q") or "")[:100]
    try:
        services.checkin_throttle(scope="lookup", request=request, user=request.user)
    except ServiceError as exc:
        return _render(request, "checkins/_lookup_results.html",
                       {"people": [], "query": "", "error": exc}, exc)
    people = (
        selectors.people_lookup(controller=request.user, venue=venue, query=query,
                                request=request)
        if query.strip() else []
    )
    return render(request, "checkins/_lookup_results.html",
                  {"people": people, "query": query, "venue": venue})


# --- A venue's visitors (owners and venue admins) ------------------------------------

VISITOR_LOG_PAGE_SIZE = 100
CHART_DAYS = 14


def _venue_or_404(request: HttpRequest, code: str) -> Venue:
    try:
        return venue_selectors.venue_for(viewer=request.user, code=code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


def _chart(days: list[selectors.DayCount]) -> dict[str, Any]:
    """Bars of an inline SVG, 0-100 units tall."""
    peak = max((day.visits for day in days), default=0)
    width = 100 / max(len(days), 1)
    bars: list[dict[str, Any]] = [
        {
            "day": day.day,
            "visits": day.visits,
            "x": round(index * width + width * 0.1, 2),
            "width": round(width * 0.8, 2),
            "height": round(day.visits / peak * 90, 2) if peak else 0,
        }
        for index, day in enumerate(days)
    ]
    for bar in bars:
        bar["y"] = round(95 - bar["height"], 2)
    return {
        "bars": bars, "peak": peak, "total": sum(day.visits for day in days),
        "first": days[0].day if days else None, "last": days[-1].day if days else None,
    }


def venue_visits_section(*, viewer: Viewer, venue: Venue, sections: list[str]) -> None:
    """The venue page's card of visits in the last CHART_DAYS days, with the
    link to the visitor log (``venues.hooks.venue_page_sections``, registered
    by ``CheckinsConfig.ready``): for those who manage the venue."""
    until = timezone.localdate()
    since = until - timedelta(days=CHART_DAYS - 1)
    try:
        days = selectors.venue_visits_per_day(viewer=viewer, venue=venue, since=since, until=until)
    except NotAllowed:
        return  # not someone who manages the venue: no card
    sections.append(render_to_string("checkins/_venue_visits.html", {
        "venue": venue, "chart": _chart(days),
        "can_log": venue_permissions.can_view_visitor_log(viewer, venue),
    }))


def _log_range(request: HttpRequest) -> tuple[LogRangeForm, date, date]:
    since, until = selectors.default_log_range()
    form = LogRangeForm(request.GET or None, initial={"since": since, "until": until})
    if form.is_valid():
        since = form.cleaned_data.get("since") or since
        until = form.cleaned_data.get("until") or until
    return form, since, until


@login_required
def venue_visitors_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """The masked visitor log with a date filter: owners and venue admins."""
    viewer = request.user
    venue = _venue_or_404(request, code)
    if not venue_permissions.can_view_visitor_log(viewer, venue):
        raise PermissionDenied
    form, since, until = _log_range(request)
    error = None
    log = None
    number = page_number(request.GET.get("page"))
    try:
        log = selectors.venue_visitor_log(
            viewer=viewer, venue=venue, since=since, until=until, limit=VISITOR_LOG_PAGE_SIZE,
            offset=(number - 1) * VISITOR_LOG_PAGE_SIZE,
        )
    except ServiceError as exc:
        error = " ".join(str(e.message) for e in exc.errors) or str(exc.message)
    query = request.GET.copy()
    query.pop("page", None)
    pages = (log.total + VISITOR_LOG_PAGE_SIZE - 1) // VISITOR_LOG_PAGE_SIZE if log else 0
    return render(request, "checkins/venue_visitors.html", {
        "venue": venue, "form": form, "log": log, "error": error,
        "since": since, "until": until, "filters": query.urlencode(),
        "page_number": number, "pages": pages,
    })


@login_required
@require_GET
def venue_visitors_export_view(
    request: AuthenticatedHttpRequest, code: str, fmt: str
) -> HttpResponse:
    viewer = request.user
    venue = _venue_or_404(request, code)
    if not venue_permissions.can_view_visitor_log(viewer, venue):
        raise PermissionDenied
    _form, since, until = _log_range(request)
    try:
        export = selectors.venue_visitor_log_export(
            viewer=viewer, venue=venue, since=since, until=until, fmt=fmt, request=request
        )
    except ServiceError as exc:
        messages.error(request, " ".join(str(e.message) for e in exc.errors)
                       or str(exc.message))
        return redirect(reverse("venues:visitors", args=[venue.code]) + "?" +
                        request.GET.urlencode())
    return file_response(export.content, export.content_type, export.filename)
