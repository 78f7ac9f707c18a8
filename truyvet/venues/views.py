"""HTML pages for venues. Each one calls the same services and selectors as
``api.py`` and shows their errors on its form; venues out of the viewer's
scope are 404 like unknown ones, actions the viewer may not take are 403."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from truyvet.accounts import permissions as account_permissions
from truyvet.accounts.models import AuthenticatedHttpRequest, OtpPurpose, User
from truyvet.accounts.services import otp_request
from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.core.masking import mask_phone
from truyvet.places.models import AdministrativeUnit, Scheme
from truyvet.venues import hooks, importing, permissions, posters, qr, selectors, services
from truyvet.venues.api import file_response
from truyvet.venues.forms import (
    ImportForm,
    StaffAddForm,
    StatusForm,
    VenueEditForm,
    VenueFilterForm,
    VenueRegisterForm,
)
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus

LIST_PAGE_SIZE = 50
LOG_PAGE_SIZE = 100
IMPORT_REPORT_KEY = "venues.import_report"
# The page shows this many problems; the download holds them all.
IMPORT_PAGE_ISSUES = 500
IMPORT_SESSION_ISSUES = 20_000


def _is_partial(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _venue_or_404(request: HttpRequest, code: str) -> Venue:
    try:
        return selectors.venue_for(viewer=request.user, code=code)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


def _back(request: HttpRequest, venue: Venue) -> HttpResponse:
    candidate = request.POST.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(candidate)
    return redirect("venues:detail", code=venue.code)


def _fields(form: VenueRegisterForm | VenueEditForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data.get("name") or "",
        "venue_type": data.get("venue_type") or "",
        "commune": data.get("commune"),
        "street": data.get("street") or "",
        "latitude": data.get("latitude") or None,
        "longitude": data.get("longitude") or None,
        "contact_phone": data.get("contact_phone") or "",
    }


def _send_contact_otp_to_form(request: HttpRequest, form: Any, phone: str) -> None:
    """Sends the code for the contact phone. A code sent moments ago is still
    valid, so a throttle only becomes a note; other problems (a bad number)
    go on the form."""
    try:
        otp = otp_request(phone=phone, purpose=OtpPurpose.VERIFY_PHONE, request=request)
    except ServiceError as exc:
        if exc.status == 429:
            messages.info(request, str(exc.message))
        else:
            form.add_service_error(exc)
    else:
        messages.info(request, _("Đã gửi mã OTP tới %(phone)s. Nhập mã để hoàn tất.")
                      % {"phone": mask_phone(otp.phone)})


# --- Registering ---------------------------------------------------------------------------


@login_required
def register_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One form on a phone: details, commune, optional GPS and the contact
    phone; when that phone is not the user's own, a second submit carries
    the SMS code."""
    form = VenueRegisterForm(request.POST or None)
    needs_otp = bool(request.POST.get("otp_code") or request.POST.get("needs_otp"))
    if request.method == "POST" and form.is_valid():
        fields = _fields(form)
        if "resend_otp" in request.POST:
            needs_otp = True
            _send_contact_otp_to_form(request, form, fields["contact_phone"])
        else:
            try:
                venue = services.venue_register(
                    actor=request.user, otp_code=form.cleaned_data.get("otp_code") or None,
                    request=request, **fields,
                )
            except ServiceError as exc:
                if exc.code == "otp_required" and not needs_otp:
                    needs_otp = True
                    _send_contact_otp_to_form(request, form, fields["contact_phone"])
                else:
                    form.add_service_error(exc)
            else:
                messages.success(request, _("Đã đăng ký địa điểm %(name)s.") % {
                    "name": venue.name})
                if venue.possible_duplicate_of_id:
                    messages.warning(request, _("Địa điểm này có thể trùng với một địa điểm đã "
                                                "đăng ký; cán bộ xã sẽ kiểm tra."))
                return redirect("venues:detail", code=venue.code)
    return render(request, "venues/register.html", {
        "form": form,
        "needs_otp": needs_otp,
        "approval_required": settings.VENUE_REQUIRE_APPROVAL,
    })


# --- Lists -----------------------------------------------------------------------------------


@login_required
def mine_view(request: HttpRequest) -> HttpResponse:
    """The venues the user owns or works at."""
    venues = [
        (venue, StaffRole(role).label if (role := getattr(venue, "my_role", None)) else "")
        for venue in selectors.venues_of(request.user)
    ]
    return render(request, "venues/mine.html", {
        "venues": venues,
        "invitations": list(selectors.venue_invitations_for(request.user)),
        "is_officer": account_permissions.is_officer(request.user),
    })


def _my_invitation_or_404(request: AuthenticatedHttpRequest, staff_id: int) -> VenueStaff:
    staff = selectors.venue_invitations_for(request.user).filter(pk=staff_id).first()
    if staff is None:
        raise Http404(_("Không tìm thấy lời mời này."))
    return staff


@login_required
@require_POST
def invitation_accept_view(request: AuthenticatedHttpRequest, staff_id: int) -> HttpResponse:
    staff = services.venue_staff_accept(user=request.user,
                                        staff=_my_invitation_or_404(request, staff_id))
    messages.success(request, _("Bạn đã nhận làm %(role)s của %(venue)s.") % {
        "role": str(staff.get_role_display()).lower(), "venue": staff.venue.name})
    return redirect("venues:mine")


@login_required
@require_POST
def invitation_decline_view(request: AuthenticatedHttpRequest, staff_id: int) -> HttpResponse:
    staff = _my_invitation_or_404(request, staff_id)
    services.venue_staff_decline(user=request.user, staff=staff, request=request)
    messages.success(request, _("Đã từ chối lời mời của %(venue)s.") % {
        "venue": staff.venue.name})
    return redirect("venues:mine")


@login_required
def manage_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Officials: the venues of their area, with filters, look-alike flags
    and status actions."""
    viewer = request.user
    if not account_permissions.is_official(viewer):
        raise PermissionDenied
    communes = selectors.import_communes_for(viewer)
    form = VenueFilterForm(request.GET or None, communes=communes)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = form.cleaned_data
    venues = selectors.venues_visible_to(
        viewer, query=filters.get("q") or "", commune=filters.get("commune") or "",
        status=filters.get("status") or "", venue_type=filters.get("type") or "",
        duplicates_only=bool(filters.get("duplicates")),
    )
    page = Paginator(venues, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "filters": query.urlencode(),
        "can_import": permissions.can_import_venues(viewer),
        "now": timezone.now(),  # venues whose staff still wait for approval are flagged
        "rows": [
            (venue, _status_actions(viewer, venue)) for venue in page.object_list
        ],
    }
    template = "venues/_manage_results.html" if _is_partial(request) else "venues/manage.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _status_actions(viewer: User, venue: Venue) -> list[tuple[str, Any]]:
    """The statuses the viewer may move ``venue`` to, as (value, label)."""
    if not permissions.can_change_venue_status(viewer, venue):
        return []
    return [(target, VenueStatus(target).label)
            for target in sorted(services.STATUS_MOVES[venue.status])]


# --- One venue ---------------------------------------------------------------------------------


def _staff_roles_for(user: User, venue: Venue) -> list[tuple[str, Any]]:
    return [
        (value, label) for value, label in StaffRole.choices
        if permissions.can_manage_venue_staff(user, venue, value)
    ]


@login_required
def detail_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    viewer = request.user
    venue = _venue_or_404(request, code)
    can_manage = permissions.can_manage_venue(viewer, venue)
    context: dict[str, Any] = {
        "venue": venue,
        "can_manage": can_manage,
        "status_actions": _status_actions(viewer, venue),
        "awaits_approval": venue.awaits_staff_approval(),
        "can_approve": permissions.can_change_venue_status(viewer, venue)
        and venue.status == VenueStatus.ACTIVE and venue.awaits_staff_approval(),
        "duplicate": venue.possible_duplicate_of
        if account_permissions.can_view_unit(viewer, venue.commune) else None,
    }
    if can_manage:
        roles = _staff_roles_for(viewer, venue)
        manageable = {value for value, _label in roles}
        members = selectors.venue_staff_list(viewer=viewer, venue=venue, request=request)
        owners = sum(member.role == StaffRole.OWNER for member in members)
        context |= {
            # Removable: by whoever manages the role, or by the member (leaving),
            # but never the last owner.
            "staff": [
                (member, mask_phone(member.phone),
                 (member.user_id == viewer.pk or member.role in manageable)
                 and (member.role != StaffRole.OWNER or owners > 1))
                for member in members
            ],
            "staff_form": StaffAddForm(roles=roles) if roles else None,
        }
    # Cards the apps above venues add (check-ins: the visits of the last days).
    sections: list[str] = []
    hooks.venue_page_sections(viewer=viewer, venue=venue, sections=sections)
    context["sections"] = sections
    return render(request, "venues/detail.html", context)


@login_required
def edit_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    viewer = request.user
    venue = _venue_or_404(request, code)
    if not permissions.can_manage_venue(viewer, venue):
        raise PermissionDenied
    initial = {
        "name": venue.name, "venue_type": venue.venue_type, "commune": venue.commune,
        "street": venue.street, "latitude": venue.latitude or "",
        "longitude": venue.longitude or "", "contact_phone": venue.contact_phone,
        "dwell_minutes": venue.dwell_minutes,
    }
    form = VenueEditForm(request.POST or None, initial=initial)
    needs_otp = bool(request.POST.get("otp_code") or request.POST.get("needs_otp"))
    if request.method == "POST" and form.is_valid():
        fields = _fields(form)
        try:
            services.venue_update(
                actor=viewer, venue=venue, otp_code=form.cleaned_data.get("otp_code") or None,
                dwell_minutes=form.cleaned_data.get("dwell_minutes"), request=request, **fields,
            )
        except ServiceError as exc:
            if exc.code == "otp_required" and not needs_otp:
                needs_otp = True
                _send_contact_otp_to_form(request, form, fields["contact_phone"])
            else:
                form.add_service_error(exc)
        else:
            messages.success(request, _("Đã lưu thay đổi."))
            return redirect("venues:detail", code=venue.code)
    return render(request, "venues/edit.html",
                  {"form": form, "venue": venue, "needs_otp": needs_otp})


@login_required
@require_POST
def status_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    venue = _venue_or_404(request, code)
    if not permissions.can_change_venue_status(request.user, venue):
        raise PermissionDenied
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.venue_status_change(
                actor=request.user, venue=venue, status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"], request=request,
            )
        except ServiceError as exc:
            messages.error(request, " ".join(
                [str(exc.message), *(str(e.message) for e in exc.errors)]))
        else:
            messages.success(request, _("%(name)s: %(status)s.") % {
                "name": venue.name, "status": venue.get_status_display()})
    else:
        messages.error(request, _("Trạng thái không hợp lệ."))
    return _back(request, venue)


@login_required
@require_POST
def approve_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """An officer lets a venue's staff check other people in now."""
    venue = _venue_or_404(request, code)
    if not permissions.can_change_venue_status(request.user, venue):
        raise PermissionDenied
    try:
        services.venue_approve(actor=request.user, venue=venue, request=request)
    except ServiceError as exc:
        messages.error(request, " ".join(
            [str(exc.message), *(str(e.message) for e in exc.errors)]))
    else:
        messages.success(request, _("Đã duyệt %(name)s.") % {"name": venue.name})
    return _back(request, venue)


@login_required
@require_POST
def revoke_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    venue = _venue_or_404(request, code)
    try:
        services.venue_qr_revoke(actor=request.user, venue=venue, request=request)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    messages.success(request, _("Đã thu hồi mã QR cũ. Hãy in và dán áp phích mới."))
    return _back(request, venue)


@login_required
@require_POST
def staff_add_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    viewer = request.user
    venue = _venue_or_404(request, code)
    roles = _staff_roles_for(viewer, venue)
    if not roles:
        raise PermissionDenied
    form = StaffAddForm(request.POST, roles=roles)
    if form.is_valid():
        try:
            staff = services.venue_staff_add(
                actor=viewer, venue=venue, phone=form.cleaned_data["phone"],
                role=form.cleaned_data["role"], request=request,
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            messages.error(request, " ".join(str(e.message) for e in exc.errors)
                           or str(exc.message))
        else:
            if staff.user_id and staff.accepted_at:
                messages.success(request, _("Đã thêm %(phone)s.") % {
                    "phone": mask_phone(staff.phone)})
            elif staff.user_id:
                messages.success(request, _("Đã gửi lời mời tới %(phone)s. Số này đã có tài "
                                            "khoản; người đó sẽ có quyền khi chấp nhận lời "
                                            "mời.") % {"phone": mask_phone(staff.phone)})
            else:
                messages.success(request, _("Đã mời %(phone)s qua SMS. Người này sẽ có quyền khi "
                                            "đăng ký tài khoản bằng số đó.") % {
                    "phone": mask_phone(staff.phone)})
    else:
        messages.error(request, _("Hãy nhập số điện thoại và chọn vai trò."))
    return redirect("venues:detail", code=venue.code)


@login_required
@require_POST
def staff_remove_view(request: AuthenticatedHttpRequest, code: str, staff_id: int) -> HttpResponse:
    viewer = request.user
    venue = _venue_or_404(request, code)
    staff = venue.staff.select_related("user__person").filter(pk=staff_id).first()
    if staff is None:
        raise Http404(_("Không tìm thấy nhân sự này."))
    try:
        services.venue_staff_remove(actor=viewer, venue=venue, staff=staff, request=request)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("venues:detail", code=venue.code)
    messages.success(request, _("Đã xoá %(phone)s khỏi địa điểm.") % {
        "phone": mask_phone(staff.phone)})
    if staff.user_id == viewer.pk:
        return redirect("venues:mine")
    return redirect("venues:detail", code=venue.code)


# --- Posters ---------------------------------------------------------------------------------


@login_required
@require_GET
def poster_view(request: AuthenticatedHttpRequest, code: str, kind: str) -> HttpResponse:
    """The poster PDF, or the QR alone as PNG or SVG."""
    viewer = request.user
    venue = _venue_or_404(request, code)
    if not permissions.can_manage_venue(viewer, venue):
        raise PermissionDenied
    if kind == "pdf":
        english = request.GET.get("english", "1") != "0"
        return file_response(posters.poster_pdf([venue], english=english), "application/pdf",
                             f"ap-phich-{venue.code}.pdf")
    if kind == "png":
        return file_response(qr.venue_qr_png(venue, scale=10), "image/png",
                             f"qr-{venue.code}.png")
    if kind == "svg":
        return file_response(qr.venue_qr_svg(venue), "image/svg+xml", f"qr-{venue.code}.svg")
    raise Http404


@login_required
def posters_bulk_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Officers: every poster of a commune or district in one PDF."""
    viewer = request.user
    if not account_permissions.is_officer(viewer):
        raise PermissionDenied
    units = selectors.poster_units_for(viewer)
    code = (request.GET.get("unit") or "").strip()
    error = ""
    if code:
        area = AdministrativeUnit.objects.filter(scheme=Scheme.Y2021, code=code).first()
        if area is None:
            error = _("Không tìm thấy đơn vị hành chính mã %(code)s.") % {"code": code}
        else:
            try:
                venues = list(selectors.venues_for_posters(viewer=viewer, unit=area))
            except NotAllowed as exc:
                raise PermissionDenied(str(exc.message)) from exc
            if venues:
                english = request.GET.get("english", "1") != "0"
                return file_response(posters.poster_pdf(venues, english=english),
                                     "application/pdf", f"ap-phich-{area.code}.pdf")
            error = _("%(unit)s chưa có địa điểm nào đang hoạt động.") % {"unit": area.name}
    return render(request, "venues/posters.html",
                  {"units": units, "error": error, "code": code})


# --- Import ----------------------------------------------------------------------------------


@login_required
def import_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Officers upload a filled template; every row is checked first and the
    problems are listed by row and column (also as a download)."""
    viewer = request.user
    if not permissions.can_import_venues(viewer):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    file_error = ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = services.venue_import(
                actor=viewer, file=upload, filename=upload.name or "", request=request,
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            file_error = str(exc.message)
        else:
            rows = importing.issues_as_rows(report.errors)
            request.session[IMPORT_REPORT_KEY] = rows[:IMPORT_SESSION_ISSUES]
            if report.created:
                messages.success(request, _("Đã nhập %(count)s địa điểm.") % {
                    "count": report.created})
    status = 200
    if file_error or (report and report.errors and not report.created):
        status = 403 if report and report.only_out_of_scope else 400
    return render(request, "venues/import.html", {
        "form": form, "report": report, "file_error": file_error,
        "shown_errors": report.errors[:IMPORT_PAGE_ISSUES] if report else [],
        "max_mb": round(settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024, 1),
        "max_rows": importing.MAX_ROWS,
    }, status=status)


@login_required
@require_GET
def import_template_view(request: AuthenticatedHttpRequest, fmt: str) -> HttpResponse:
    viewer = request.user
    if not permissions.can_import_venues(viewer):
        raise PermissionDenied
    communes = selectors.import_communes_for(viewer)
    if fmt == "xlsx":
        return file_response(importing.template_xlsx(communes=communes), importing.XLSX_TYPE,
                             "mau-nhap-dia-diem.xlsx")
    if fmt == "csv":
        return file_response(importing.template_csv(communes=communes), importing.CSV_TYPE,
                             "mau-nhap-dia-diem.csv")
    raise Http404


@login_required
@require_GET
def import_report_view(request: HttpRequest, fmt: str) -> HttpResponse:
    """The last import's problems, as kept in the session."""
    if not permissions.can_import_venues(request.user):
        raise PermissionDenied
    rows = request.session.get(IMPORT_REPORT_KEY)
    if not isinstance(rows, list):
        raise Http404(_("Chưa có báo cáo lỗi nào."))
    if fmt == "xlsx":
        return file_response(importing.report_xlsx(rows), importing.XLSX_TYPE,
                             "loi-nhap-dia-diem.xlsx")
    if fmt == "csv":
        return file_response(importing.report_csv(rows), importing.CSV_TYPE,
                             "loi-nhap-dia-diem.csv")
    raise Http404
