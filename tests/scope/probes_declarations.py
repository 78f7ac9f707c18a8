"""Scope probes for declarations and checkpoints.

The data outside everyone's scope but Quảng Hòa's: Lương Văn Đức
(other_citizen) declares a trip between two communes of Quảng Hòa, with a
cough, and owns a checkpoint there where his declaration was scanned. Only
he reads, updates or revokes his declaration and scans at his checkpoint;
the officials over Quảng Hòa see it (audited), its follow-up and the
movements; nobody else does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from truyvet.core.masking import mask_name
from truyvet.core.time import local_day
from truyvet.declarations.models import CheckpointPass, Declaration

from .framework import OVER_QUANG_HOA, Probe, Req, World

OTHER = frozenset({"other_citizen"})
DECLARANT_OR_OVER = OTHER | OVER_QUANG_HOA
CHECKPOINT_NAME = "Chốt kiểm soát Quảng Hòa"
MASKED = mask_name("Lương Văn Đức")


def _communes(world: World) -> tuple[Any, Any]:
    from truyvet.places.models import AdministrativeUnit

    units = world.personas.units
    second = (AdministrativeUnit.objects.filter(parent=units.quang_hoa)
              .exclude(pk=units.quang_hoa_commune.pk).order_by("code")[0])
    return units.quang_hoa_commune, second


def _fields(world: World) -> dict[str, Any]:
    origin, destination = _communes(world)
    return dict(
        kind="movement", full_name="Lương Văn Đức", birth_year=1985, sex="male",
        id_number="004085654321", commune=origin.code, street="Phố Hòa Thuận",
        phone="0912000008", consent=True, vehicle="private", origin=origin.code,
        destination=destination.code, plate="11A-222.33", symptoms=True,
        departure_date=str(local_day(timezone.now()) + timedelta(days=1)),
    )


def _declared(world: World) -> None:
    from truyvet.checkins.tests.conftest import establish
    from truyvet.declarations.checkpoints import checkpoint_scan
    from truyvet.declarations.selectors import declaration_qr
    from truyvet.declarations.services import DeclarationInput, declaration_submit
    from truyvet.venues.services import venue_register

    personas = world.personas
    declaration = declaration_submit(actor=personas.other_citizen,
                                     data=DeclarationInput(**_fields(world)))
    checkpoint = establish(venue_register(
        actor=personas.neighbour_officer, name=CHECKPOINT_NAME, venue_type="checkpoint",
        commune=personas.units.quang_hoa_commune, street="Quốc lộ 3",
        contact_phone=personas.other_citizen.phone,
    ))
    world.extra.update(declaration=declaration, checkpoint=checkpoint,
                       token=declaration_qr(declaration)[0])
    checkpoint_scan(controller=personas.other_citizen, venue=checkpoint,
                    payload=world.extra["token"])


def _series(world: World) -> str:
    return str(world.extra["declaration"].series)


def _versions(world: World) -> int:
    return Declaration.objects.filter(series=world.extra["declaration"].series).count()


def _revoked(world: World) -> Any:
    return Declaration.objects.filter(series=world.extra["declaration"].series,
                                      superseded_at__isnull=True).values_list(
        "qr_revoked_at", flat=True).first()


def _follow_up_done(world: World) -> Any:
    return Declaration.objects.filter(pk=world.extra["declaration"].pk).values_list(
        "follow_up_done_at", flat=True).first()


def _passes(world: World) -> int:
    return CheckpointPass.objects.count()


def _form(world: World) -> dict[str, Any]:
    origin, destination = _communes(world)
    fields = _fields(world)
    return {**{k: v for k, v in fields.items() if k not in ("kind", "consent", "symptoms")},
            "consent": "on", "symptoms": "1", "travelled": "0", "contact_case": "0",
            "contact_abroad": "0", "contact_symptoms": "0", "nationality": "VN"}


def _paper(world: World) -> dict[str, Any]:
    fields = {k: v for k, v in _fields(world).items() if k != "kind"}
    fields["departure_date"] = str(fields["departure_date"])
    return {**fields, "venue": world.extra["checkpoint"].code}


PROBES = [
    Probe(endpoint="GET /api/v1/declarations/mine", setup=_declared,
          request=lambda w: Req("GET", "/api/v1/declarations/mine", api=True),
          allowed=OTHER, secrets=lambda w: ["Lương Văn Đức"]),
    Probe(endpoint="page declarations:mine", setup=_declared,
          request=lambda w: Req("GET", "/declarations/"),
          allowed=OTHER, secrets=lambda w: ["Lương Văn Đức"]),
    Probe(endpoint="GET /api/v1/declarations/{series}", setup=_declared,
          request=lambda w: Req("GET", f"/api/v1/declarations/{_series(w)}", api=True),
          allowed=DECLARANT_OR_OVER, secrets=lambda w: ["Lương Văn Đức"]),
    Probe(endpoint="page declarations:detail", setup=_declared,
          request=lambda w: Req("GET", f"/declarations/{_series(w)}/"),
          allowed=DECLARANT_OR_OVER, secrets=lambda w: ["Lương Văn Đức"]),
    Probe(endpoint="page declarations:card", setup=_declared,
          request=lambda w: Req("GET", f"/declarations/{_series(w)}/card.pdf"),
          allowed=OTHER, secrets=lambda w: []),
    Probe(endpoint="POST /api/v1/declarations/{series}/versions", setup=_declared,
          request=lambda w: Req("POST", f"/api/v1/declarations/{_series(w)}/versions",
                                {**_fields(w), "seat": "3"}, api=True),
          allowed=OTHER, secrets=lambda w: [], state=_versions,
          ok_statuses=frozenset({201})),
    Probe(endpoint="page declarations:update", setup=_declared,
          request=lambda w: Req("POST", f"/declarations/{_series(w)}/update/", _form(w)),
          allowed=OTHER, secrets=lambda w: [], state=_versions,
          ok_statuses=frozenset({302})),
    Probe(endpoint="POST /api/v1/declarations/{series}/revoke-qr", setup=_declared,
          request=lambda w: Req("POST", f"/api/v1/declarations/{_series(w)}/revoke-qr", {},
                                api=True),
          allowed=OTHER, secrets=lambda w: [], state=_revoked),
    Probe(endpoint="page declarations:revoke", setup=_declared,
          request=lambda w: Req("POST", f"/declarations/{_series(w)}/revoke/"),
          allowed=OTHER, secrets=lambda w: [], state=_revoked,
          ok_statuses=frozenset({302})),
    Probe(endpoint="GET /api/v1/declarations/follow-up", setup=_declared,
          request=lambda w: Req("GET", "/api/v1/declarations/follow-up", api=True),
          allowed=OVER_QUANG_HOA, secrets=lambda w: [MASKED]),
    Probe(endpoint="page declarations:follow_up", setup=_declared,
          request=lambda w: Req("GET", "/declarations/follow-up/"),
          allowed=OVER_QUANG_HOA, secrets=lambda w: [MASKED]),
    Probe(endpoint="POST /api/v1/declarations/follow-up/{declaration_id}/done",
          setup=_declared,
          request=lambda w: Req(
              "POST", f"/api/v1/declarations/follow-up/{w.extra['declaration'].pk}/done",
              {"note": "Đã gọi"}, api=True),
          allowed=OVER_QUANG_HOA, secrets=lambda w: [], state=_follow_up_done),
    Probe(endpoint="GET /api/v1/declarations/movements", setup=_declared,
          request=lambda w: Req("GET", "/api/v1/declarations/movements", api=True),
          allowed=OVER_QUANG_HOA, secrets=lambda w: [MASKED]),
    Probe(endpoint="page declarations:movements", setup=_declared,
          request=lambda w: Req("GET", "/declarations/movements/"),
          allowed=OVER_QUANG_HOA, secrets=lambda w: [MASKED]),
    Probe(endpoint="POST /api/v1/declarations/checkpoint-scan", setup=_declared,
          request=lambda w: Req("POST", "/api/v1/declarations/checkpoint-scan",
                                {"venue": w.extra["checkpoint"].code,
                                 "payload": w.extra["token"]}, api=True),
          allowed=OTHER, secrets=lambda w: [MASKED], state=_passes,
          ok_statuses=frozenset({201})),
    Probe(endpoint="POST /api/v1/declarations/checkpoint-paper", setup=_declared,
          request=lambda w: Req("POST", "/api/v1/declarations/checkpoint-paper", _paper(w),
                                api=True),
          allowed=OTHER, secrets=lambda w: [MASKED], state=_passes,
          ok_statuses=frozenset({201})),
    Probe(endpoint="page declarations:paper", setup=_declared,
          request=lambda w: Req("GET", f"/declarations/checkpoint/{w.extra['checkpoint'].code}"
                                       "/paper/"),
          allowed=OTHER, secrets=lambda w: [CHECKPOINT_NAME, "11A-222.33"]),
]

PUBLIC = {
    "POST /api/v1/declarations/": "anyone logged in declares; what is declared is theirs "
                                  "(its reads are probed above)",
    "page declarations:new": "a blank form, filled in only with the caller's own details",
}
