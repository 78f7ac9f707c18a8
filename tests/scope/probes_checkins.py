"""Scope probes for check-ins.

The data outside everyone's scope but one: Lương Văn Đức (other_citizen)
owns a venue in Quảng Hòa and has a visit there. Only he may list that
visit, end it, or scan people in at that venue; officials reach visits only
through a case (tracing), never through these endpoints.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from truyvet.checkins.models import CheckIn, PersonalQrKey
from truyvet.core.models import AuditAction, AuditEvent

from .framework import OVER_QUANG_HOA, Probe, Req, World

VENUE_NAME = "Quán Nước Quảng Hòa"
CCCD = "004301234567||Hoàng Thị Lan|09092001|Nữ|Xã An Lạc, Hạ Lang, Cao Bằng|01012022"
SCAN_ID = str(uuid.UUID("5f0c3a0e-0000-4000-8000-000000000042"))
OTHER = frozenset({"other_citizen"})


def _venue_and_visit(world: World) -> None:
    """A Quảng Hòa venue owned by Lương Văn Đức, and his visit there."""
    from truyvet.checkins.services import checkin_record
    from truyvet.venues.services import venue_register

    personas = world.personas
    venue = venue_register(
        actor=personas.neighbour_officer, name=VENUE_NAME, venue_type="restaurant",
        commune=personas.units.quang_hoa_commune, street="Phố Hòa Thuận",
        contact_phone=personas.other_citizen.phone,
    )
    world.extra["venue"] = venue
    world.extra["visit"] = checkin_record(
        venue=venue, person=world.secret_person, arrived_at=timezone.now(),
        method="citizen_scan",
    ).checkin


def _venue(world: World) -> Any:
    return world.extra["venue"]


def _visit(world: World) -> Any:
    return world.extra["visit"]


def _visits_at_venue(world: World) -> int:
    return CheckIn.objects.filter(venue=_venue(world)).count()


def _departure(world: World) -> str:
    return CheckIn.objects.get(pk=_visit(world).pk).departure_kind


def _token_of_other(world: World) -> list[str]:
    from truyvet.checkins.personal_qr import personal_qr_token

    return [personal_qr_token(world.secret_person)]


def _key_version_of_other(world: World) -> Any:
    return PersonalQrKey.objects.filter(person=world.secret_person).values_list(
        "version", flat=True
    ).first()


def _elder_without_account(world: World) -> None:
    from truyvet.accounts.services import PersonInput, person_create

    world.extra["elder"] = person_create(data=PersonInput(
        full_name="Lương Thị Cụ", commune=world.personas.units.quang_hoa_commune))


def _card_prints_of_elder(world: World) -> int:
    return AuditEvent.objects.filter(
        action=AuditAction.EXPORT, subject_person=world.extra["elder"]
    ).count()


def _ensure_key(world: World) -> None:
    _token_of_other(world)


def _guest_visit_of_other(world: World) -> None:
    """Someone used the guest form with Lương Văn Đức's name and phone at his
    venue: only he is offered that visit, and only he adopts or declines it."""
    from truyvet.checkins.services import checkin_guest

    _venue_and_visit(world)
    checkin_guest(venue=_venue(world), full_name=world.secret_person.full_name,
                  phone=world.secret_person.phone)


def _offered_to_other(world: World) -> int:
    from truyvet.checkins.selectors import guest_visits_offered

    return guest_visits_offered(user=world.personas.other_citizen).count()


PROBES = [
    # --- A citizen's own visits -----------------------------------------------------
    Probe(
        endpoint="GET /api/v1/checkins/mine",
        setup=_venue_and_visit,
        request=lambda w: Req("GET", "/api/v1/checkins/mine", api=True),
        allowed=OTHER,
        secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="page checkins:history",
        setup=_venue_and_visit,
        request=lambda w: Req("GET", "/checkins/history/"),
        allowed=OTHER,
        secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="page checkins:visit",
        setup=_venue_and_visit,
        request=lambda w: Req("GET", f"/checkins/visit/{_visit(w).pk}/"),
        allowed=OTHER,
        secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="POST /api/v1/checkins/{checkin_id}/checkout",
        setup=_venue_and_visit,
        request=lambda w: Req("POST", f"/api/v1/checkins/{_visit(w).pk}/checkout", {},
                              api=True),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_departure,
    ),
    Probe(
        endpoint="page checkins:checkout",
        setup=_venue_and_visit,
        request=lambda w: Req("POST", f"/checkins/visit/{_visit(w).pk}/checkout/"),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_departure,
        ok_statuses=frozenset({302}),
    ),
    # --- Visits recorded without an account, waiting for their holder ---------------------
    Probe(
        endpoint="GET /api/v1/checkins/guest-visits",
        setup=_guest_visit_of_other,
        request=lambda w: Req("GET", "/api/v1/checkins/guest-visits", api=True),
        allowed=OTHER,
        secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="POST /api/v1/checkins/guest-visits/adopt",
        setup=_guest_visit_of_other,
        request=lambda w: Req("POST", "/api/v1/checkins/guest-visits/adopt", {}, api=True),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_offered_to_other,
    ),
    Probe(
        endpoint="POST /api/v1/checkins/guest-visits/decline",
        setup=_guest_visit_of_other,
        request=lambda w: Req("POST", "/api/v1/checkins/guest-visits/decline", {}, api=True),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_offered_to_other,
    ),
    Probe(
        endpoint="page checkins:guest_visits",
        setup=_guest_visit_of_other,
        request=lambda w: Req("POST", "/checkins/history/guest-visits/", {"action": "adopt"}),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_offered_to_other,
        ok_statuses=frozenset({302}),
    ),
    # --- Personal QR ------------------------------------------------------------------
    Probe(
        endpoint="GET /api/v1/checkins/personal-qr",
        setup=_ensure_key,
        request=lambda w: Req("GET", "/api/v1/checkins/personal-qr", api=True),
        allowed=OTHER,
        secrets=_token_of_other,
    ),
    Probe(
        endpoint="page checkins:personal_qr",
        request=lambda w: Req("GET", "/checkins/qr/"),
        allowed=OTHER,
        secrets=lambda w: [w.secret_person.masked_name],
    ),
    Probe(
        endpoint="POST /api/v1/checkins/personal-qr/rotate",
        setup=_ensure_key,
        request=lambda w: Req("POST", "/api/v1/checkins/personal-qr/rotate", {}, api=True),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_key_version_of_other,
    ),
    Probe(
        endpoint="page checkins:personal_qr_rotate",
        setup=_ensure_key,
        request=lambda w: Req("POST", "/checkins/qr/rotate/"),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_key_version_of_other,
        ok_statuses=frozenset({302}),
    ),
    # A card for someone of Quảng Hòa without an account (nobody prints one
    # for a person who has an account: they print their own; issue 12).
    Probe(
        endpoint="page checkins:person_card",
        setup=_elder_without_account,
        request=lambda w: Req("POST", f"/checkins/cards/{w.extra['elder'].pk}/",
                              {"purpose": "In thẻ cho cụ Lương"}),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=_card_prints_of_elder,
    ),
    # --- At the door of Lương Văn Đức's venue -------------------------------------------
    Probe(
        endpoint="POST /api/v1/checkins/staff-scan",
        setup=_venue_and_visit,
        request=lambda w: Req("POST", "/api/v1/checkins/staff-scan",
                              {"venue": _venue(w).code, "payload": CCCD}, api=True),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_visits_at_venue,
        ok_statuses=frozenset({201}),
    ),
    Probe(
        endpoint="POST /api/v1/checkins/manual",
        setup=_venue_and_visit,
        request=lambda w: Req("POST", "/api/v1/checkins/manual",
                              {"venue": _venue(w).code, "full_name": "Nông Văn Bảy",
                               "phone": "0987111222"}, api=True),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_visits_at_venue,
        ok_statuses=frozenset({201}),
    ),
    Probe(
        endpoint="POST /api/v1/checkins/batch",
        setup=_venue_and_visit,
        request=lambda w: Req("POST", "/api/v1/checkins/batch", {"items": [{
            "id": SCAN_ID, "kind": "staff_scan", "venue": _venue(w).code, "payload": CCCD,
            "scanned_at": timezone.now().isoformat(),
        }]}, api=True),
        allowed=OTHER,
        secrets=lambda w: [],
        state=_visits_at_venue,
    ),
    Probe(
        endpoint="GET /api/v1/checkins/people-lookup",
        setup=_venue_and_visit,
        request=lambda w: Req(
            "GET", f"/api/v1/checkins/people-lookup?venue={_venue(w).code}&q=0912000008",
            api=True,
        ),
        allowed=OTHER,
        secrets=lambda w: [w.secret_person.masked_phone],
    ),
    Probe(
        endpoint="page checkins:control_lookup",
        setup=_venue_and_visit,
        request=lambda w: Req("GET", f"/checkins/control/{_venue(w).code}/lookup/?q=0912000008"),
        allowed=OTHER,
        secrets=lambda w: [w.secret_person.masked_phone],
    ),
    Probe(
        endpoint="page checkins:control",
        setup=_venue_and_visit,
        request=lambda w: Req("GET", f"/checkins/control/{_venue(w).code}/"),
        allowed=OTHER,
        secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="page checkins:control_index",
        setup=_venue_and_visit,
        request=lambda w: Req("GET", "/checkins/control/?choose=1"),
        allowed=OTHER,
        secrets=lambda w: [VENUE_NAME],
    ),
]

PUBLIC = {
    "POST /api/v1/checkins/scan": "records the caller's own visit at a venue whose QR they hold",
    "page checkins:scan": "records the caller's own visit at a venue whose QR they hold",
    "POST /api/v1/checkins/guest": "a visitor records their own visit; nothing is read back",
    "page checkins:guest": "a visitor records their own visit; nothing is read back",
    "POST /api/v1/checkins/decode": "decodes an uploaded image; reads no stored data",
    "GET /api/v1/checkins/personal-qr/public-key": "the public key that verifies personal QRs",
    "page checkins:personal_qr_card": "the caller's own card (a PDF of their own QR)",
}
