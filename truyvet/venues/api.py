"""JSON endpoints for venues, mounted at /api/v1/venues/ (a venue's visitors,
under the same prefix, are check-ins: ``truyvet.checkins.api.venue_router``).

Each endpoint parses, checks access with a named permission, calls a service
or selector and serializes. Venues outside the caller's scope answer 404
exactly like unknown codes; venues the caller sees but may not act on
answer 403.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from truyvet.accounts.models import User
from truyvet.accounts.selectors import unit_for_input
from truyvet.core.api_auth import logged_in
from truyvet.core.errors import ErrorCollector, FieldError, NotAllowed, NotFound, ServiceError
from truyvet.core.pagination import page_window
from truyvet.places.models import AdministrativeUnit, Level, Scheme
from truyvet.venues import importing, permissions, posters, qr, selectors, services
from truyvet.venues.models import Venue, VenueStaff
from truyvet.venues.schemas import (
    ImportReportOut,
    InvitationRead,
    ResolveIn,
    StaffAddIn,
    StaffRead,
    VenueCreate,
    VenueDetailRead,
    VenueFilter,
    VenueListOut,
    VenueStatusIn,
    VenueSummary,
    VenueUpdate,
)

router = Router(tags=["venues"])

MAX_PAGE = 200


def _caller(request: HttpRequest) -> User:
    """The account the endpoint's ``auth`` (``logged_in``) accepted."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


def commune_from_input(
    commune_id: int | None, commune_code: str | None
) -> AdministrativeUnit | None:
    """The commune an API call names by id or by GSO code; unknown ones are
    field errors."""
    if commune_id is not None:
        return unit_for_input(commune_id, field="commune_id")
    code = (commune_code or "").strip()
    if not code:
        return None
    unit = (
        AdministrativeUnit.objects.select_related("parent", "parent__parent")
        .filter(scheme=Scheme.Y2021, code=code.zfill(5), level=Level.COMMUNE)
        .first()
    )
    if unit is None:
        errors = ErrorCollector()
        errors.add("commune_code", gettext_lazy("Không có xã nào mã này."), "unknown_unit")
        errors.raise_if_any(services.INVALID_INPUT)
    return unit


def file_response(content: bytes, content_type: str, filename: str,
                  *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _venue(request: HttpRequest, code: str) -> Venue:
    return selectors.venue_for(viewer=_caller(request), code=code)


def _require_manager(user: User, venue: Venue) -> None:
    if not permissions.can_manage_venue(user, venue):
        raise NotAllowed(_("Bạn không có quyền quản lý địa điểm này."))


# --- Registering and listing -----------------------------------------------------------------


@router.post("/", response={201: VenueDetailRead}, auth=logged_in, summary="Register a venue")
def venue_register(request: HttpRequest, payload: VenueCreate) -> Status[Venue]:
    """A citizen registers their own venue (the contact phone is their own
    number or proved with `otp_code`), or an officer registers one in their
    area. Answers `otp_required` (400) when a code is needed."""
    venue = services.venue_register(
        actor=_caller(request), name=payload.name, venue_type=payload.venue_type,
        commune=commune_from_input(payload.commune_id, payload.commune_code),
        street=payload.street, latitude=payload.latitude, longitude=payload.longitude,
        contact_phone=payload.contact_phone, otp_code=payload.otp_code or None,
        request=request,
    )
    return Status(201, selectors.venue_for(viewer=_caller(request), code=venue.code))


@router.get("/", response=VenueListOut, auth=logged_in, summary="Venues in my scope")
def venue_list(request: HttpRequest, filters: Query[VenueFilter]) -> dict[str, Any]:
    """Officials: the venues of their area. Owners and staff: their venues.
    `q` matches names (diacritics optional) or a code."""
    venues = selectors.venues_visible_to(
        _caller(request), query=filters.q, commune=filters.commune, status=filters.status,
        venue_type=filters.type, duplicates_only=filters.duplicates,
    )
    limit, offset = page_window(limit=filters.limit, offset=filters.offset, max_limit=MAX_PAGE)
    return {"count": venues.count(), "items": list(venues[offset : offset + limit])}


@router.post("/resolve", response=VenueSummary, summary="Resolve a scanned poster QR")
def venue_resolve(request: HttpRequest, payload: ResolveIn) -> Venue:
    """Public. Checks the signature and version of the QR text; forged,
    revoked, unknown and malformed codes get distinct error codes
    (`qr_forged`, `qr_revoked`, `qr_unknown`, `qr_malformed`)."""
    return qr.venue_qr_resolve(payload.payload)


# --- Import (officers) -----------------------------------------------------------------------


@router.post(
    "/import", response={201: ImportReportOut}, auth=logged_in,
    summary="Import venues from .xlsx or .csv",
)
def venue_import(
    request: HttpRequest, file: File[UploadedFile], skip_invalid: Form[bool] = False
) -> Status[services.ImportReport]:
    """Officers, into communes of their area. Every row is checked first; by
    default any error imports nothing and answers 400 with one entry per
    problem (`row`, `field` = the column header, `message`); 403 when the only
    problem is rows in communes outside the caller's area. With
    `skip_invalid`, valid rows are imported and the rest reported."""
    report = services.venue_import(
        actor=_caller(request), file=file, filename=file.name or "", request=request,
        skip_invalid=skip_invalid,
    )
    if report.errors and not report.created:
        raise ServiceError(
            _("Tệp có %(count)s lỗi ở %(rows)s dòng; chưa địa điểm nào được lưu.")
            % {"count": len(report.errors), "rows": len(report.error_rows)},
            code="import_forbidden" if report.only_out_of_scope else "import_invalid",
            errors=[FieldError(i.column, i.message, i.code, row=i.row) for i in report.errors],
            status=403 if report.only_out_of_scope else 400,
        )
    return Status(201, report)


def _template_communes(user: User) -> list[AdministrativeUnit]:
    if not permissions.can_import_venues(user):
        raise NotAllowed(_("Chỉ cán bộ quản lý địa bàn được nhập địa điểm từ tệp."))
    return selectors.import_communes_for(user)


@router.get("/import/template.xlsx", auth=logged_in, summary="Import template (.xlsx)")
def import_template_xlsx(request: HttpRequest) -> HttpResponse:
    communes = _template_communes(_caller(request))
    return file_response(importing.template_xlsx(communes=communes), importing.XLSX_TYPE,
                         "mau-nhap-dia-diem.xlsx")


@router.get("/import/template.csv", auth=logged_in, summary="Import template (.csv)")
def import_template_csv(request: HttpRequest) -> HttpResponse:
    communes = _template_communes(_caller(request))
    return file_response(importing.template_csv(communes=communes), importing.CSV_TYPE,
                         "mau-nhap-dia-diem.csv")


@router.get("/posters.pdf", auth=logged_in, summary="Every poster of a commune or district")
def posters_bulk(request: HttpRequest, unit: str, english: bool = True) -> HttpResponse:
    """`unit` is the GSO code of a commune or district in the officer's area."""
    try:
        area = AdministrativeUnit.objects.get(scheme=Scheme.Y2021, code=unit.strip())
    except AdministrativeUnit.DoesNotExist:
        raise NotFound(_("Không tìm thấy đơn vị hành chính này.")) from None
    venues = list(selectors.venues_for_posters(viewer=_caller(request), unit=area))
    if not venues:
        raise NotFound(_("Đơn vị này chưa có địa điểm nào."), code="no_venues")
    return file_response(posters.poster_pdf(venues, english=english), "application/pdf",
                         f"ap-phich-{area.code}.pdf")


# --- Invitations to the caller ------------------------------------------------------------
# (before "/{code}", which would otherwise take "invitations" for a venue code)


def _my_invitation(request: HttpRequest, staff_id: int) -> VenueStaff:
    staff = selectors.venue_invitations_for(_caller(request)).filter(pk=staff_id).first()
    if staff is None:
        raise NotFound(_("Không tìm thấy lời mời này."))
    return staff


@router.get("/invitations", response=list[InvitationRead], auth=logged_in,
            summary="Places at venues offered to me")
def invitations(request: HttpRequest) -> list[VenueStaff]:
    return list(selectors.venue_invitations_for(_caller(request)))


@router.post("/invitations/{staff_id}/accept", response=StaffRead, auth=logged_in,
             summary="Accept a place at a venue")
def invitation_accept(request: HttpRequest, staff_id: int) -> VenueStaff:
    """From now on the venue's managers see the caller's name."""
    staff = services.venue_staff_accept(user=_caller(request),
                                        staff=_my_invitation(request, staff_id))
    return VenueStaff.objects.select_related("user__person").get(pk=staff.pk)


@router.post("/invitations/{staff_id}/decline", response={204: None}, auth=logged_in,
             summary="Turn a place at a venue down")
def invitation_decline(request: HttpRequest, staff_id: int) -> Status[None]:
    services.venue_staff_decline(user=_caller(request), staff=_my_invitation(request, staff_id),
                                 request=request)
    return Status(204, None)


# --- One venue -------------------------------------------------------------------------------


@router.get("/{code}", response=VenueDetailRead, auth=logged_in, summary="One venue")
def venue_detail(request: HttpRequest, code: str) -> Venue:
    return _venue(request, code)


@router.patch("/{code}", response=VenueDetailRead, auth=logged_in, summary="Change details")
def venue_update(request: HttpRequest, code: str, payload: VenueUpdate) -> Venue:
    venue = _venue(request, code)
    sent = payload.model_fields_set
    fields: dict[str, Any] = {
        key: getattr(payload, key)
        for key in ("name", "venue_type", "street", "latitude", "longitude", "contact_phone",
                    "dwell_minutes")
        if key in sent
    }
    if sent & {"commune_id", "commune_code"}:
        fields["commune"] = commune_from_input(payload.commune_id, payload.commune_code)
    services.venue_update(
        actor=_caller(request), venue=venue, otp_code=payload.otp_code or None,
        request=request, **fields,
    )
    return _venue(request, code)


@router.post("/{code}/status", response=VenueDetailRead, auth=logged_in,
             summary="Approve, suspend, close or reopen")
def venue_status(request: HttpRequest, code: str, payload: VenueStatusIn) -> Venue:
    """Officers over the venue's commune; audited. `reason` is required to
    suspend or close."""
    venue = _venue(request, code)
    services.venue_status_change(
        actor=_caller(request), venue=venue, status=payload.status, reason=payload.reason,
        request=request,
    )
    return _venue(request, code)


@router.post("/{code}/approve", response=VenueDetailRead, auth=logged_in,
             summary="Approve a venue for its staff to check people in")
def venue_approve(request: HttpRequest, code: str) -> Venue:
    """Officers over the venue's commune; audited. A pending venue becomes
    active; an active one its owner registered or moved lets its staff
    record other people's visits (door scans, manual entries) from now,
    instead of after VENUE_STAFF_CHECKIN_WAIT_HOURS. `unchanged` (400) when
    it waits for nothing."""
    venue = _venue(request, code)
    services.venue_approve(actor=_caller(request), venue=venue, request=request)
    return _venue(request, code)


@router.post("/{code}/revoke-qr", response=VenueDetailRead, auth=logged_in,
             summary="Revoke every printed poster")
def venue_qr_revoke(request: HttpRequest, code: str) -> Venue:
    """Bumps the QR version: posters printed so far stop working. Audited."""
    venue = _venue(request, code)
    services.venue_qr_revoke(actor=_caller(request), venue=venue, request=request)
    return _venue(request, code)


# --- Staff -----------------------------------------------------------------------------------


@router.get("/{code}/staff", response=list[StaffRead], auth=logged_in, summary="Staff")
def staff_list(request: HttpRequest, code: str) -> list[VenueStaff]:
    venue = _venue(request, code)
    return selectors.venue_staff_list(viewer=_caller(request), venue=venue, request=request)


@router.post("/{code}/staff", response={201: StaffRead}, auth=logged_in,
             summary="Add a staff member by phone")
def staff_add(request: HttpRequest, code: str, payload: StaffAddIn) -> Status[VenueStaff]:
    """A number without an account is invited by SMS and linked when it
    registers."""
    venue = _venue(request, code)
    staff = services.venue_staff_add(
        actor=_caller(request), venue=venue, phone=payload.phone, role=payload.role,
        request=request,
    )
    return Status(201, VenueStaff.objects.select_related("user__person").get(pk=staff.pk))


@router.delete("/{code}/staff/{staff_id}", response={204: None}, auth=logged_in,
               summary="Remove a staff member")
def staff_remove(request: HttpRequest, code: str, staff_id: int) -> Status[None]:
    """Takes effect with the removed person's next request."""
    venue = _venue(request, code)
    staff = venue.staff.select_related("user__person").filter(pk=staff_id).first()
    if staff is None:
        raise NotFound(_("Không tìm thấy nhân sự này."))
    services.venue_staff_remove(actor=_caller(request), venue=venue, staff=staff,
                                request=request)
    return Status(204, None)


# --- Posters and QR --------------------------------------------------------------------------


@router.get("/{code}/poster.pdf", auth=logged_in, summary="A4 poster (PDF)")
def poster_pdf(request: HttpRequest, code: str, english: bool = True) -> HttpResponse:
    venue = _venue(request, code)
    _require_manager(_caller(request), venue)
    return file_response(posters.poster_pdf([venue], english=english), "application/pdf",
                         f"ap-phich-{venue.code}.pdf")


@router.get("/{code}/qr.png", auth=logged_in, summary="The QR alone (PNG)")
def qr_png(request: HttpRequest, code: str, scale: int = 10) -> HttpResponse:
    venue = _venue(request, code)
    _require_manager(_caller(request), venue)
    return file_response(qr.venue_qr_png(venue, scale=max(1, min(scale, 40))), "image/png",
                         f"qr-{venue.code}.png")


@router.get("/{code}/qr.svg", auth=logged_in, summary="The QR alone (SVG)")
def qr_svg(request: HttpRequest, code: str) -> HttpResponse:
    venue = _venue(request, code)
    _require_manager(_caller(request), venue)
    return file_response(qr.venue_qr_svg(venue), "image/svg+xml", f"qr-{venue.code}.svg")
