"""JSON endpoints for check-ins, under /api/v1/checkins/.

Each endpoint parses, calls a service or selector (which check access and
rate limits) and serialises. Errors have the API's one shape; scan errors
carry stable codes: `qr_malformed`, `qr_forged`, `qr_unknown`, `qr_revoked`
(venue QR), `personal_qr_malformed`, `personal_qr_forged`,
`personal_qr_revoked`, `cccd_malformed`, `national_qr_malformed`,
`payload_unknown`, `payload_is_venue`, `venue_inactive`,
`venue_awaiting_approval` (a newly registered venue's staff before approval),
`venue_unknown` (404 alike for a code that does not exist and a venue the
caller is not staff of), `identity_mismatch`, `identity_unverifiable`,
`identity_checks_paused`, `birth_date_required`, `checkin_too_old`,
`checkin_backdated`, `checkin_in_future`, `checkin_id_conflict`,
`rate_limited` (429 with Retry-After).

There is no endpoint that lists another person's visits: a citizen reads
their own (`/mine`), and officials reach visits only through a case. A
venue's owners and admins read its masked visitor log, and those who manage
it its visits per day, through ``venue_router``, which ``truyvet/api.py``
mounts under /api/v1/venues/ beside the venues' own endpoints.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile
from ninja.responses import NinjaJSONEncoder

from truyvet.accounts.models import User
from truyvet.checkins import selectors, services
from truyvet.checkins.models import CheckIn
from truyvet.checkins.parsers import decode_frame
from truyvet.checkins.personal_qr import (
    card_status_for,
    personal_qr_key_id,
    personal_qr_measure,
    personal_qr_public_key_b64,
    personal_qr_token,
    personal_qr_token_with_claim,
)
from truyvet.checkins.personal_qr import (
    personal_qr_rotate as personal_qr_rotate_token,
)
from truyvet.checkins.schemas import (
    AdoptedOut,
    BatchIn,
    BatchOut,
    CheckInRead,
    CheckInResultOut,
    CheckoutIn,
    CitizenScanIn,
    DayCountRead,
    DecodeOut,
    GuestCheckInIn,
    GuestResultOut,
    GuestVisitsOut,
    HistoryItemOut,
    LogRange,
    ManualIn,
    PersonalQrOut,
    PersonLookupOut,
    PublicKeyOut,
    StaffScanIn,
    StaffScanOut,
    VisitorLogOut,
)
from truyvet.core.api_auth import logged_in
from truyvet.core.errors import ServiceError
from truyvet.venues import selectors as venue_selectors
from truyvet.venues.api import file_response
from truyvet.venues.models import Venue

router = Router(tags=["checkins"])


def _caller(request: HttpRequest) -> User:
    """The account the endpoint's ``auth`` (``logged_in``) accepted."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _venue_brief(checkin: CheckIn) -> dict[str, Any]:
    venue = checkin.venue
    return {
        "code": venue.code, "name": venue.name, "venue_type": venue.venue_type,
        "commune": venue.commune.full_name,
    }


def _checkin_read(checkin: CheckIn) -> dict[str, Any]:
    return {
        "id": checkin.pk, "venue": _venue_brief(checkin), "arrived_at": checkin.arrived_at,
        "received_at": checkin.received_at, "ends_at": checkin.ends_at,
        "departure_kind": checkin.departure_kind, "method": checkin.method,
    }


def _result_out(result: services.CheckInResult) -> dict[str, Any]:
    return {
        "ok": True, "outcome": result.outcome, "duplicate": result.duplicate,
        "checkin": _checkin_read(result.checkin),
    }


def _status(result: services.CheckInResult) -> int:
    return 201 if result.outcome == "created" and not result.duplicate else 200


def _staff_out(staff: services.StaffScanResult) -> dict[str, Any]:
    checkin = staff.result.checkin
    return {
        "ok": True, "kind": "checkin", "outcome": staff.result.outcome,
        "duplicate": staff.result.duplicate, "checkin_id": checkin.pk,
        "arrived_at": checkin.arrived_at, "ends_at": checkin.ends_at,
        "display": vars(staff.display),
    }


def _rendered(status: int, body: dict[str, Any]) -> HttpResponse:
    """``body`` as the endpoint's JSON, rendered as django-ninja renders it
    but without validating it against the response schema again: the hot
    scan endpoints build it in that schema's shape (tests check it), and the
    validation cost a tenth of a scan's time in the web process."""
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), status=status,
                        content_type="application/json; charset=utf-8")


def _staff_venue(request: HttpRequest, text: str) -> Venue:
    return services.venue_for_staff(controller=_caller(request), text=text)


# --- Citizens -----------------------------------------------------------------------


@router.post(
    "/scan",
    url_name="checkins_scan",
    response={200: CheckInResultOut, 201: CheckInResultOut},
    auth=logged_in,
    summary="Check in by a scanned venue QR",
)
def scan(request: HttpRequest, payload: CitizenScanIn) -> HttpResponse:
    """The logged-in citizen scanned a venue poster (a mobile app posts the
    payload it read). 201 for a new visit, 200 for a repeat within the merge
    window or a retried id."""
    result = services.checkin_citizen_scan(
        user=_caller(request), venue_payload=payload.venue, scanned_at=payload.scanned_at,
        checkin_id=payload.id, request=request,
    )
    return _rendered(_status(result), _result_out(result))


@router.post(
    "/guest",
    url_name="checkins_guest",
    response={200: GuestResultOut, 201: GuestResultOut},
    summary="Check in without an account",
)
def guest(request: HttpRequest, payload: GuestCheckInIn) -> Status[dict[str, Any]]:
    """Name and phone (ID number optional), no login and no OTP. Rate
    limited per address. Nothing typed here is proved, so the visit never
    joins an account's history by itself: the account with that phone and
    name is told, and its holder adopts it (`guest-visits/adopt`) or not.
    The time is the server's."""
    venue = services.venue_from_scanned_payload(payload.venue)
    result = services.checkin_guest(
        venue=venue, full_name=payload.full_name, phone=payload.phone,
        id_number=payload.id_number, checkin_id=payload.id, request=request,
    )
    body = _result_out(result)
    body["checkout_token"] = services.guest_checkout_token(result.checkin)
    return Status(_status(result), body)


@router.post(
    "/{uuid:checkin_id}/checkout",
    url_name="checkins_checkout",
    response=CheckInRead,
    auth=None,
    summary="Leave (end a visit now)",
)
def checkout(
    request: HttpRequest, checkin_id: uuid.UUID, payload: CheckoutIn | None = None
) -> dict[str, Any]:
    """For the person the visit belongs to (logged in), or with the guest
    `checkout_token`. Tapping again changes nothing. 404 for visits of
    others."""
    user = _optional_user(request)
    token = payload.guest_token if payload is not None else ""
    if user is None and not token:
        raise ServiceError(_("Bạn cần đăng nhập."), code="unauthenticated", status=401)
    checkin = selectors.checkin_by_id(checkin_id)
    services.checkin_throttle(scope="scan", request=request, user=user)
    visit = services.checkin_checkout(
        actor=user or AnonymousUser(), checkin=checkin, guest_token=token
    )
    return _checkin_read(selectors.checkin_by_id(visit.pk))


def _optional_user(request: HttpRequest) -> User | None:
    """The caller if a token or session logs them in, else None (the guest
    check-out accepts both)."""
    for method in logged_in:
        user = method(request)
        if user:
            return user
    return None


@router.get(
    "/mine",
    url_name="checkins_mine",
    response=list[HistoryItemOut],
    auth=logged_in,
    summary="My visits of the last 21 days",
)
def mine(request: HttpRequest) -> list[dict[str, Any]]:
    """Newest first: "Nơi đã đến". Only the caller's own visits."""
    checkins = list(selectors.checkins_of_me(user=_caller(request)))
    levels = selectors.visit_levels(checkins)
    return [
        {
            "id": c.pk, "venue": _venue_brief(c), "arrived_at": c.arrived_at,
            "ends_at": c.ends_at, "departure_kind": c.departure_kind, "method": c.method,
            "epidemic_level": levels[c.pk].level if c.pk in levels else None,
        }
        for c in checkins
    ]


@router.get(
    "/guest-visits",
    url_name="checkins_guest_visits",
    response=GuestVisitsOut,
    auth=logged_in,
    summary="Visits waiting for me to say they are mine",
)
def guest_visits(request: HttpRequest) -> dict[str, Any]:
    """Visits recorded without an account (guest form, manual entry by name
    and phone) under the caller's phone and name, not yet adopted or
    declined."""
    offered = selectors.guest_visits_offered(user=_caller(request))
    listed = list(offered[:50])
    levels = selectors.visit_levels(listed)
    return {
        "count": offered.count(),
        "items": [
            {"id": c.pk, "venue": _venue_brief(c), "arrived_at": c.arrived_at,
             "ends_at": c.ends_at, "departure_kind": c.departure_kind, "method": c.method,
             "epidemic_level": levels[c.pk].level if c.pk in levels else None}
            for c in listed
        ],
    }


@router.post(
    "/guest-visits/adopt",
    url_name="checkins_guest_visits_adopt",
    response=AdoptedOut,
    auth=logged_in,
    summary="These visits are mine",
)
def guest_visits_adopt(request: HttpRequest) -> dict[str, Any]:
    """Moves every visit `/guest-visits` lists into the caller's history."""
    return {"ok": True, "moved": services.checkins_adopt_guest(user=_caller(request))}


@router.post(
    "/guest-visits/decline",
    url_name="checkins_guest_visits_decline",
    response=AdoptedOut,
    auth=logged_in,
    summary="These visits are not mine",
)
def guest_visits_decline(request: HttpRequest) -> dict[str, Any]:
    """The visits `/guest-visits` lists stay where they are and are no
    longer offered; visits recorded later are."""
    services.checkins_decline_guest(user=_caller(request))
    return {"ok": True, "moved": 0}


# --- Controllers ----------------------------------------------------------------------


@router.post(
    "/staff-scan",
    url_name="checkins_staff_scan",
    response={200: StaffScanOut, 201: StaffScanOut},
    auth=logged_in,
    summary="A controller scans a visitor's code",
)
def staff_scan(request: HttpRequest, payload: StaffScanIn) -> HttpResponse:
    """For the venue's controllers, admins and owner. Accepts a truyvet
    personal QR, the CCCD QR or the national QR; someone first seen through
    a card is created once (deduplicated by ID number, or by QID when the
    national QR masks the number), and a card whose name or birth date does
    not agree with the record of its number is refused
    (`identity_mismatch`). A second scan within the merge window is
    `merged`; a later one while the visit is still open is the exit
    (`checked_out`). Returns what the door screen shows; audited under the
    scanned person."""
    venue = _staff_venue(request, payload.venue)
    claimed = services.door_scan_claimed(
        controller=_caller(request), venue=venue, payload=payload.payload,
        scanned_at=payload.scanned_at, scan_id=payload.id, request=request,
    )
    if claimed is not None:
        return _rendered(200 if claimed.duplicate else 201, {
            "ok": True, "kind": claimed.kind, "outcome": claimed.outcome,
            "duplicate": claimed.duplicate, "checkin_id": claimed.record_id,
            "arrived_at": claimed.at, "ends_at": claimed.at,
            "display": vars(services.claimed_display(claimed)),
        })
    staff = services.checkin_staff_scan(
        controller=_caller(request), venue=venue, payload=payload.payload,
        scanned_at=payload.scanned_at, checkin_id=payload.id, request=request,
    )
    return _rendered(_status(staff.result), _staff_out(staff))


@router.post(
    "/manual",
    url_name="checkins_manual",
    response={200: StaffScanOut, 201: StaffScanOut},
    auth=logged_in,
    summary="A controller enters a visitor by hand",
)
def manual(request: HttpRequest, payload: ManualIn) -> Status[dict[str, Any]]:
    """Name and phone or address (and a document number of the type
    `id_kind`, checked against it), or `person_id` from `people-lookup`.
    A document number needs the visitor's `birth_date`,
    which must agree with the record that has the number (or `separate`
    records them apart); name and phone alone never reach an account's
    history. Audited under the visitor."""
    venue = _staff_venue(request, payload.venue)
    staff = services.checkin_manual(
        controller=_caller(request), venue=venue, full_name=payload.full_name,
        phone=payload.phone, id_number=payload.id_number, id_kind=payload.id_kind,
        street=payload.street, birth_date=payload.birth_date,
        separate=payload.separate, person_id=payload.person_id,
        scanned_at=payload.scanned_at, checkin_id=payload.id, request=request,
    )
    return Status(_status(staff.result), _staff_out(staff))


@router.get(
    "/people-lookup",
    url_name="checkins_people_lookup",
    response=list[PersonLookupOut],
    auth=logged_in,
    summary="Find a visitor for manual entry (masked)",
)
def people_lookup(request: HttpRequest, venue: str, q: str = "") -> list[dict[str, Any]]:
    """`venue` is the code of a venue the caller scans at. A whole phone or
    document number matches anyone; a name matches only visitors of this
    venue within the retention period. Masked; audited."""
    found_venue = _staff_venue(request, venue)
    services.checkin_throttle(scope="lookup", request=request, user=_caller(request))
    people = selectors.people_lookup(
        controller=_caller(request), venue=found_venue, query=q, request=request
    )
    return [
        {"id": p.pk, "name": p.masked_name, "birth_year": p.birth_year,
         "masked_phone": p.masked_phone, "masked_id": p.masked_id}
        for p in people
    ]


@router.post(
    "/batch",
    url_name="checkins_batch",
    response=BatchOut,
    auth=logged_in,
    summary="Upload an offline queue",
)
def batch(request: HttpRequest, payload: BatchIn) -> HttpResponse:
    """Each item is applied on its own: rejected items come back with their
    own `code` and `error` (for example `checkin_too_old`,
    `checkin_backdated`, `checkin_in_future`, `qr_revoked`, `qr_forged`,
    `venue_unknown`, `identity_mismatch`)
    while the others are recorded. Posting the same batch again records
    nothing new and returns the same results, marked `duplicate`. Up to 500
    items."""
    items = [
        services.BatchItem(
            id=item.id, kind=item.kind, venue=item.venue, scanned_at=item.scanned_at,
            payload=item.payload, full_name=item.full_name, phone=item.phone,
            id_number=item.id_number, id_kind=item.id_kind, street=item.street,
            birth_date=item.birth_date, separate=item.separate, person_id=item.person_id,
        )
        for item in payload.items
    ]
    results = services.checkins_batch(actor=_caller(request), items=items, request=request)
    rendered = [
        {
            "id": str(r.id), "ok": r.ok, "outcome": r.outcome, "duplicate": r.duplicate,
            "checkin_id": str(r.checkin_id) if r.checkin_id else None,
            "display": vars(r.display) if r.display else None,
            "code": r.code, "error": str(r.message),
            "errors": [
                {"field": e.field, "message": str(e.message), "code": e.code} for e in r.errors
            ],
        }
        for r in results
    ]
    accepted = sum(1 for r in results if r.ok)
    body = {"ok": True, "accepted": accepted, "rejected": len(results) - accepted,
            "results": rendered}
    # Rendered here in BatchOut's shape and order (tests pin it): validating
    # up to 500 results against the schema again costs a fifth of the batch.
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder),
                        content_type="application/json; charset=utf-8")


@router.post(
    "/decode",
    url_name="checkins_decode",
    response=DecodeOut,
    auth=logged_in,
    summary="Decode QR codes in a camera frame",
)
def decode(request: HttpRequest, image: File[UploadedFile]) -> dict[str, Any]:
    """For browsers without BarcodeDetector: upload one frame (multipart
    field `image`; PNG, JPEG or WebP up to CHECKIN_DECODE_MAX_BYTES). Only
    decodes; post the text to `/staff-scan` or `/scan` to record it."""
    services.checkin_throttle(scope="decode", request=request, user=_caller(request))
    data = image.read(settings.CHECKIN_DECODE_MAX_BYTES + 1)
    codes = decode_frame(
        data, content_type=image.content_type or "",
        max_bytes=settings.CHECKIN_DECODE_MAX_BYTES,
    )
    return {
        "ok": True, "found": bool(codes),
        "results": [{"text": c.text, "format": c.format, "kind": c.kind} for c in codes],
    }


# --- Personal QR -----------------------------------------------------------------------


@router.get(
    "/personal-qr",
    url_name="checkins_personal_qr",
    response=PersonalQrOut,
    auth=logged_in,
    summary="My personal QR token",
)
def personal_qr(request: HttpRequest) -> dict[str, Any]:
    """The text to show as a QR. It carries an opaque reference and an
    Ed25519 signature, no ID number, birth date or phone."""
    person = _caller(request).person
    token = personal_qr_token(person)
    measured = personal_qr_measure(token)
    status = card_status_for(person)
    return {
        "token": token, "length": measured.length, "qr_version": measured.qr_version,
        "card_colour": status.colour if status else None,
        "card_reason": status.reason if status else "",
        "card_change": status.change_note if status else "",
        "offline_token": personal_qr_token_with_claim(
            person, colour=status.colour, valid_until=status.valid_until) if status else "",
        "key_id": personal_qr_key_id(),
    }


@router.post(
    "/personal-qr/rotate",
    url_name="checkins_personal_qr_rotate",
    response=PersonalQrOut,
    auth=logged_in,
    summary="Replace my personal QR",
)
def personal_qr_rotate(request: HttpRequest) -> dict[str, Any]:
    """Every earlier token, screenshots and printed cards included, stops
    working."""
    personal_qr_rotate_token(_caller(request).person)
    return personal_qr(request)


@router.get(
    "/personal-qr/public-key",
    url_name="checkins_personal_qr_public_key",
    response=PublicKeyOut,
    summary="Public key to verify personal QRs offline",
)
def personal_qr_public_key(request: HttpRequest) -> dict[str, Any]:
    """Verify `signature` (Ed25519) over `signed_part`. Whether a token was
    rotated or revoked since is known only online."""
    return {"key_id": personal_qr_key_id(), "public_key": personal_qr_public_key_b64()}


# --- A venue's visitors: check-ins, mounted under /api/v1/venues/ by truyvet/api.py -------

venue_router = Router(tags=["venues"])


def _range(filters: LogRange) -> tuple[Any, Any]:
    since, until = selectors.default_log_range()
    return filters.since or since, filters.until or until


@venue_router.get("/{code}/visitors", response=VisitorLogOut, auth=logged_in,
                  summary="Visitor log (masked)")
def visitor_log(request: HttpRequest, code: str, filters: Query[LogRange]) -> dict[str, Any]:
    """Owners and venue admins only. `since`/`until` are local dates,
    inclusive; the last 7 days by default."""
    venue = venue_selectors.venue_for(viewer=_caller(request), code=code)
    since, until = _range(filters)
    log = selectors.venue_visitor_log(
        viewer=_caller(request), venue=venue, since=since, until=until,
        limit=filters.limit, offset=filters.offset,
    )
    return {"since": log.since, "until": log.until, "total": log.total, "items": log.entries}


def _export(request: HttpRequest, code: str, filters: LogRange, fmt: str) -> HttpResponse:
    venue = venue_selectors.venue_for(viewer=_caller(request), code=code)
    since, until = _range(filters)
    export = selectors.venue_visitor_log_export(
        viewer=_caller(request), venue=venue, since=since, until=until, fmt=fmt,
        request=request,
    )
    return file_response(export.content, export.content_type, export.filename)


@venue_router.get("/{code}/visitors.csv", auth=logged_in, summary="Export the visitor log (CSV)")
def visitor_log_csv(request: HttpRequest, code: str, filters: Query[LogRange]) -> HttpResponse:
    """Audited as an export."""
    return _export(request, code, filters, "csv")


@venue_router.get("/{code}/visitors.xlsx", auth=logged_in, summary="Export the visitor log (XLSX)")
def visitor_log_xlsx(request: HttpRequest, code: str, filters: Query[LogRange]) -> HttpResponse:
    """Audited as an export."""
    return _export(request, code, filters, "xlsx")


@venue_router.get("/{code}/visits-per-day", response=list[DayCountRead], auth=logged_in,
                  summary="Visits per day")
def visits_per_day(
    request: HttpRequest, code: str, filters: Query[LogRange]
) -> list[selectors.DayCount]:
    venue = venue_selectors.venue_for(viewer=_caller(request), code=code)
    since, until = _range(filters)
    return selectors.venue_visits_per_day(
        viewer=_caller(request), venue=venue, since=since, until=until
    )
