"""Scope probes for venues.

The data outside most personas' scope: a venue in Quảng Hòa that Lương Văn
Đức (other_citizen) registered and owns, and a visit there by Nguyễn Thị
Hoa. Officials over Quảng Hòa (admin, Cao Bằng's province officer, Quảng
Hòa's officer) see and manage the venue; its owner sees and manages it too,
and alone reads its visitor log.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.venues.models import Venue, VenueStaff

from .framework import OVER_QUANG_HOA, Probe, Req, World

VENUE_NAME = "Tiệm Bánh Cuốn Nhà Đức"
VISITOR = "N. T. Hoa"  # Nguyễn Thị Hoa, masked as the visitor log shows her
INVITED = "0987654001"
OWNER = frozenset({"other_citizen"})
MANAGERS = OVER_QUANG_HOA | OWNER
OFFICERS = frozenset({"admin", "province_officer", "district_officer", "neighbour_officer",
                      "commune_officer"})


def _venue_with_visit(world: World) -> None:
    from truyvet.checkins.services import checkin_record
    from truyvet.venues.services import venue_register, venue_staff_add

    personas = world.personas
    venue = venue_register(
        actor=personas.other_citizen, name=VENUE_NAME, venue_type="restaurant",
        commune=personas.units.quang_hoa_commune, street="Phố Hòa Thuận",
        contact_phone=personas.other_citizen.phone,
    )
    checkin_record(venue=venue, person=personas.citizen.person, arrived_at=timezone.now(),
                   method="citizen_scan")
    world.extra["venue"] = venue
    world.extra["invited"] = venue_staff_add(
        actor=personas.other_citizen, venue=venue, phone=INVITED, role="controller",
    )


INVITING_VENUE = "Quán Cơm Lời Mời"


def _invitation_to_duc(world: World) -> None:
    """The venue owner persona invites Lương Văn Đức to work at their venue:
    only Đức sees the invitation, and only he may accept or decline it."""
    from truyvet.venues.services import venue_register, venue_staff_add

    personas = world.personas
    venue = venue_register(
        actor=personas.venue_owner, name=INVITING_VENUE, venue_type="restaurant",
        commune=personas.units.thanh_nhat, street="Phố Thanh Nhật",
        contact_phone=personas.venue_owner.phone,
    )
    world.extra["invitation"] = venue_staff_add(
        actor=personas.venue_owner, venue=venue, phone=personas.other_citizen.phone,
        role="controller", notify=False,
    )


def _invitation_state(world: World) -> Any:
    return tuple(VenueStaff.objects.filter(pk=world.extra["invitation"].pk)
                 .values_list("accepted_at", flat=True))


def _code(world: World) -> str:
    return str(world.extra["venue"].code)


def _venue_state(world: World) -> tuple[Any, ...]:
    venue = Venue.objects.get(pk=world.extra["venue"].pk)
    return venue.name, venue.status, venue.qr_version


def _approval_state(world: World) -> Any:
    return Venue.objects.get(pk=world.extra["venue"].pk).staff_checkins_from


def _staff_state(world: World) -> list[str]:
    return sorted(VenueStaff.objects.filter(venue=world.extra["venue"])
                  .values_list("phone", flat=True))


def _exports(world: World) -> int:
    return AuditEvent.objects.filter(action=AuditAction.EXPORT,
                                     target=f"venue:{_code(world)}").count()


def _venues_in_quang_hoa(world: World) -> int:
    return Venue.objects.filter(commune=world.personas.units.quang_hoa_commune).count()


def _import_file(world: World) -> dict[str, Any]:
    from truyvet.venues.tests.conftest import xlsx_bytes

    upload = io.BytesIO(xlsx_bytes([[
        "Quán Trà Chiều", "Nhà hàng/quán ăn", world.personas.units.quang_hoa_commune.code,
        "Phố Hòa Thuận", "0987654002", None, None,
    ]]))
    upload.name = "dia-diem.xlsx"
    return {"file": upload}


def _name(world: World) -> list[str]:
    return [VENUE_NAME]


def _nothing(world: World) -> list[str]:
    return []


def _visitor(world: World) -> list[str]:
    return [VISITOR]


API = "/api/v1/venues"

PROBES = [
    # --- Lists and one venue -------------------------------------------------------
    Probe("GET /api/v1/venues/", lambda w: Req("GET", f"{API}/", api=True),
          MANAGERS, _name, setup=_venue_with_visit),
    Probe("GET /api/v1/venues/{code}", lambda w: Req("GET", f"{API}/{_code(w)}", api=True),
          MANAGERS, _name, setup=_venue_with_visit),
    Probe("page venues:detail", lambda w: Req("GET", f"/venues/{_code(w)}/"),
          MANAGERS, _name, setup=_venue_with_visit),
    Probe("page venues:manage", lambda w: Req("GET", "/venues/manage/"),
          OVER_QUANG_HOA, _name, setup=_venue_with_visit),
    Probe("page venues:mine", lambda w: Req("GET", "/venues/"),
          OWNER, _name, setup=_venue_with_visit),
    # --- Changes -------------------------------------------------------------------------
    Probe("PATCH /api/v1/venues/{code}",
          lambda w: Req("PATCH", f"{API}/{_code(w)}", {"name": "Tiệm Bánh Cuốn Mới"}, api=True),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_venue_state),
    Probe("page venues:edit",
          lambda w: Req("POST", f"/venues/{_code(w)}/edit/", {
              "name": "Tiệm Bánh Cuốn Mới", "venue_type": "restaurant",
              "commune": w.personas.units.quang_hoa_commune.pk, "street": "Phố Hòa Thuận",
              "contact_phone": w.personas.other_citizen.phone}),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_venue_state,
          ok_statuses=frozenset({302})),
    Probe("POST /api/v1/venues/{code}/status",
          lambda w: Req("POST", f"{API}/{_code(w)}/status",
                        {"status": "suspended", "reason": "Kiểm tra đột xuất"}, api=True),
          OVER_QUANG_HOA, _nothing, setup=_venue_with_visit, state=_venue_state),
    Probe("page venues:status",
          lambda w: Req("POST", f"/venues/{_code(w)}/status/",
                        {"status": "suspended", "reason": "Kiểm tra đột xuất"}),
          OVER_QUANG_HOA, _nothing, setup=_venue_with_visit, state=_venue_state,
          ok_statuses=frozenset({302})),
    # Its owner registered it: its staff wait for an officer over its commune.
    Probe("POST /api/v1/venues/{code}/approve",
          lambda w: Req("POST", f"{API}/{_code(w)}/approve", {}, api=True),
          OVER_QUANG_HOA, _nothing, setup=_venue_with_visit, state=_approval_state),
    Probe("page venues:approve", lambda w: Req("POST", f"/venues/{_code(w)}/approve/"),
          OVER_QUANG_HOA, _nothing, setup=_venue_with_visit, state=_approval_state,
          ok_statuses=frozenset({302})),
    Probe("POST /api/v1/venues/{code}/revoke-qr",
          lambda w: Req("POST", f"{API}/{_code(w)}/revoke-qr", {}, api=True),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_venue_state),
    Probe("page venues:revoke_qr", lambda w: Req("POST", f"/venues/{_code(w)}/revoke-qr/"),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_venue_state,
          ok_statuses=frozenset({302})),
    # --- Staff ---------------------------------------------------------------------------
    Probe("GET /api/v1/venues/{code}/staff",
          lambda w: Req("GET", f"{API}/{_code(w)}/staff", api=True),
          MANAGERS, lambda w: [w.personas.other_citizen.person.full_name],
          setup=_venue_with_visit),
    Probe("POST /api/v1/venues/{code}/staff",
          lambda w: Req("POST", f"{API}/{_code(w)}/staff",
                        {"phone": "0987654000", "role": "controller"}, api=True),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_staff_state,
          ok_statuses=frozenset({201})),
    Probe("page venues:staff_add",
          lambda w: Req("POST", f"/venues/{_code(w)}/staff/",
                        {"phone": "0987654000", "role": "controller"}),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_staff_state,
          ok_statuses=frozenset({302})),
    Probe("DELETE /api/v1/venues/{code}/staff/{staff_id}",
          lambda w: Req("DELETE", f"{API}/{_code(w)}/staff/{w.extra['invited'].pk}", api=True),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_staff_state,
          ok_statuses=frozenset({204})),
    Probe("page venues:staff_remove",
          lambda w: Req("POST", f"/venues/{_code(w)}/staff/{w.extra['invited'].pk}/remove/"),
          MANAGERS, _nothing, setup=_venue_with_visit, state=_staff_state,
          ok_statuses=frozenset({302})),
    # --- Invitations to the caller ---------------------------------------------------------
    Probe("GET /api/v1/venues/invitations",
          lambda w: Req("GET", f"{API}/invitations", api=True),
          OWNER, lambda w: [INVITING_VENUE], setup=_invitation_to_duc),
    Probe("POST /api/v1/venues/invitations/{staff_id}/accept",
          lambda w: Req("POST", f"{API}/invitations/{w.extra['invitation'].pk}/accept", {},
                        api=True),
          OWNER, _nothing, setup=_invitation_to_duc, state=_invitation_state),
    Probe("POST /api/v1/venues/invitations/{staff_id}/decline",
          lambda w: Req("POST", f"{API}/invitations/{w.extra['invitation'].pk}/decline", {},
                        api=True),
          OWNER, _nothing, setup=_invitation_to_duc, state=_invitation_state,
          ok_statuses=frozenset({204})),
    Probe("page venues:invitation_accept",
          lambda w: Req("POST", f"/venues/invitations/{w.extra['invitation'].pk}/accept/"),
          OWNER, _nothing, setup=_invitation_to_duc, state=_invitation_state,
          ok_statuses=frozenset({302})),
    Probe("page venues:invitation_decline",
          lambda w: Req("POST", f"/venues/invitations/{w.extra['invitation'].pk}/decline/"),
          OWNER, _nothing, setup=_invitation_to_duc, state=_invitation_state,
          ok_statuses=frozenset({302})),
    # --- Posters -------------------------------------------------------------------------
    *(
        Probe(endpoint, lambda w, suffix=suffix, api=api: Req(
            "GET", f"{API if api else '/venues'}/{_code(w)}/{suffix}", api=api),
            MANAGERS, _nothing, setup=_venue_with_visit)
        for endpoint, suffix, api in (
            ("GET /api/v1/venues/{code}/poster.pdf", "poster.pdf", True),
            ("GET /api/v1/venues/{code}/qr.png", "qr.png", True),
            ("GET /api/v1/venues/{code}/qr.svg", "qr.svg", True),
            ("page venues:poster_pdf", "poster.pdf", False),
            ("page venues:qr_png", "qr.png", False),
            ("page venues:qr_svg", "qr.svg", False),
        )
    ),
    Probe("GET /api/v1/venues/posters.pdf",
          lambda w: Req("GET", f"{API}/posters.pdf?unit={w.personas.units.quang_hoa_commune.code}",
                        api=True),
          OVER_QUANG_HOA, _nothing, setup=_venue_with_visit),
    Probe("page venues:posters",
          lambda w: Req("GET", f"/venues/posters/?unit={w.personas.units.quang_hoa_commune.code}"),
          OVER_QUANG_HOA, _nothing, setup=_venue_with_visit),
    # --- Visitors: the owner alone ---------------------------------------------------------
    Probe("GET /api/v1/venues/{code}/visitors",
          lambda w: Req("GET", f"{API}/{_code(w)}/visitors", api=True),
          OWNER, _visitor, setup=_venue_with_visit),
    Probe("page venues:visitors", lambda w: Req("GET", f"/venues/{_code(w)}/visitors/"),
          OWNER, _visitor, setup=_venue_with_visit),
    Probe("GET /api/v1/venues/{code}/visitors.csv",
          lambda w: Req("GET", f"{API}/{_code(w)}/visitors.csv", api=True),
          OWNER, _visitor, setup=_venue_with_visit, state=_exports),
    Probe("GET /api/v1/venues/{code}/visitors.xlsx",
          lambda w: Req("GET", f"{API}/{_code(w)}/visitors.xlsx", api=True),
          OWNER, _nothing, setup=_venue_with_visit, state=_exports),
    Probe("page venues:visitors_export",
          lambda w: Req("GET", f"/venues/{_code(w)}/visitors.csv"),
          OWNER, _visitor, setup=_venue_with_visit, state=_exports),
    Probe("GET /api/v1/venues/{code}/visits-per-day",
          lambda w: Req("GET", f"{API}/{_code(w)}/visits-per-day", api=True),
          MANAGERS, _nothing, setup=_venue_with_visit),
    # --- Import (officers, into their own area) -----------------------------------------------
    Probe("POST /api/v1/venues/import",
          lambda w: Req("POST", f"{API}/import", _import_file(w), api=True, json=False),
          OVER_QUANG_HOA, _nothing, state=_venues_in_quang_hoa, ok_statuses=frozenset({201})),
    Probe("page venues:import",
          lambda w: Req("POST", "/venues/import/", _import_file(w)),
          OVER_QUANG_HOA, _nothing, state=_venues_in_quang_hoa),
    Probe("GET /api/v1/venues/import/template.xlsx",
          lambda w: Req("GET", f"{API}/import/template.xlsx", api=True), OFFICERS, _nothing),
    Probe("GET /api/v1/venues/import/template.csv",
          lambda w: Req("GET", f"{API}/import/template.csv", api=True), OFFICERS, _nothing),
    Probe("page venues:import_template",
          lambda w: Req("GET", "/venues/import/template.xlsx"), OFFICERS, _nothing),
]

PUBLIC = {
    "page venue_scan": "a poster's signed QR is public; the page shows the venue's name and "
                       "address only",
    "POST /api/v1/venues/resolve": "resolves a scanned poster QR to the venue's public summary",
    "POST /api/v1/venues/": "registers a venue owned by the caller (or in an officer's area); "
                            "answers with that venue only",
    "page venues:register": "the form for registering the caller's own venue",
    "page venues:import_report": "the caller's own last import report, kept in their session",
}
