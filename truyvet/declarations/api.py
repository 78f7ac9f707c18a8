"""The declarations API, mounted at /api/v1/declarations/ by truyvet/api.py.

Error codes: `validation_error` (with per-field codes such as
`departure_too_old`, `departure_too_far`, `same_as_origin`,
`commune_unknown`, `plate_invalid`, `id_letters`, `birth_year_future`),
`declaration_unknown`, `declaration_conflict`, `declaration_qr_malformed`,
`declaration_qr_forged`, `declaration_qr_expired`, `declaration_qr_revoked`,
`declaration_not_movement`, `not_a_checkpoint`, `venue_unknown`,
`follow_up_done`, `scan_id_reused`, `rate_limited`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from truyvet.accounts.models import User
from truyvet.checkins.services import venue_for_staff
from truyvet.core.api_auth import logged_in
from truyvet.core.masking import mask_name, mask_phone
from truyvet.declarations import checkpoints, permissions, selectors, services
from truyvet.declarations.models import Declaration
from truyvet.declarations.schemas import (
    CheckpointPaperIn,
    CheckpointScanIn,
    DeclarationDetailOut,
    DeclarationIn,
    DeclarationOut,
    FollowUpIn,
    FollowUpOut,
    FollowUpRow,
    MovementsOut,
    PassOut,
)
from truyvet.places.models import AdministrativeUnit
from truyvet.places.selectors import unit_by_code

router = Router(tags=["declarations"])


def _caller(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _input(payload: DeclarationIn) -> services.DeclarationInput:
    fields = payload.model_dump(exclude={"venue", "direction"})
    return services.DeclarationInput(**fields)


def _unit(unit: AdministrativeUnit | None) -> dict[str, str] | None:
    return {"code": unit.code, "name": unit.full_name} if unit is not None else None


def _out(declaration: Declaration) -> dict[str, Any]:
    token, expires = selectors.declaration_qr(declaration)
    return {
        "series": declaration.series, "version": declaration.version, "kind": declaration.kind,
        "on_behalf": declaration.on_behalf, "full_name": declaration.full_name,
        "birth_year": declaration.birth_year, "commune": _unit(declaration.commune),
        "vehicle": declaration.vehicle, "origin": _unit(declaration.origin),
        "destination": _unit(declaration.destination), "plate": declaration.plate,
        "departure_date": declaration.departure_date, "symptoms": declaration.symptoms,
        "follow_up": declaration.follow_up, "created_at": declaration.created_at,
        "qr": token, "qr_expires_at": expires,
        "qr_revoked": declaration.qr_revoked_at is not None,
    }


@router.post("/", url_name="declarations_create", response={201: DeclarationOut},
             auth=logged_in, summary="Declare (health or domestic movement)")
def create(request: HttpRequest, payload: DeclarationIn) -> Status[dict[str, Any]]:
    """A health declaration (khai báo toàn dân) or a domestic movement
    declaration (khai di chuyển nội địa), for oneself or, with `on_behalf`,
    for someone else. Returns it with its QR, valid for
    `DECLARATION_QR_VALID_HOURS` (72 by default)."""
    declaration = services.declaration_submit(actor=_caller(request), data=_input(payload),
                                              request=request)
    return Status(201, _out(declaration))


@router.get("/mine", url_name="declarations_mine", response=list[DeclarationOut],
            auth=logged_in, summary="My declarations (current versions)")
def mine(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(d) for d in selectors.declarations_of(user=request.user)[:50]]


@router.get("/follow-up", url_name="declarations_follow_up", response=FollowUpOut,
            auth=logged_in, summary="Declarations to follow up (officials, in their scope)")
def follow_up(request: HttpRequest, done: bool = False) -> dict[str, Any]:
    """Current declarations in the caller's scope that answered yes to a
    symptom or contact question: open ones, or with `done=true` those
    followed up. Masked; audited (one row per person listed)."""
    found = selectors.follow_ups_for(viewer=request.user, done=done, request=request)
    return {"open": found.open_count, "done": found.done_count, "rows": [
        FollowUpRow(
            id=d.pk, name=mask_name(d.full_name), birth_year=d.birth_year,
            commune=d.commune.full_name, phone=mask_phone(d.phone), symptoms=d.symptoms,
            symptoms_text=d.symptoms_text, contact=d.contact_any, created_at=d.created_at,
            done_at=d.follow_up_done_at, note=d.follow_up_note,
        ) for d in found.rows]}


@router.post("/follow-up/{declaration_id}/done", url_name="declarations_follow_up_done",
             response=FollowUpRow, auth=logged_in, summary="Mark a follow-up done")
def follow_up_done(request: HttpRequest, declaration_id: int, payload: FollowUpIn) -> FollowUpRow:
    d = services.follow_up_done(actor=_caller(request), declaration_id=declaration_id,
                                note=payload.note, request=request)
    return FollowUpRow(
        id=d.pk, name=mask_name(d.full_name), birth_year=d.birth_year,
        commune=d.commune.full_name, phone=mask_phone(d.phone), symptoms=d.symptoms,
        symptoms_text=d.symptoms_text, contact=d.contact_any, created_at=d.created_at,
        done_at=d.follow_up_done_at, note=d.follow_up_note,
    )


@router.get("/movements", url_name="declarations_movements", response=MovementsOut,
            auth=logged_in, summary="Movements into and out of an area (officials)")
def movements(request: HttpRequest, unit: str = "", days: int = 7,
              watched: bool = False) -> dict[str, Any]:
    """Checkpoint passes and declared trips whose origin or destination is
    in `unit` (a unit's code; default: the caller's scope) over the last
    `days` days (1-31), counted per day; `watched=true` keeps movements into
    or out of level-3/4 zones. Masked; audited."""
    area = unit_by_code(code=unit) if unit else None
    found = selectors.movements_for(viewer=request.user, unit=area,
                                    days=max(1, min(days, 31)), watched_only=watched,
                                    request=request)
    return {
        "days": [vars(day) for day in found.days], "declared": len(found.declared),
        "passes": [{
            "id": p.pk, "passed_at": p.passed_at, "direction": p.direction,
            "checkpoint": p.checkpoint.name, "name": mask_name(p.declaration.full_name),
            "plate": p.plate, "origin": p.origin.full_name,
            "destination": p.destination.full_name, "origin_level": p.origin_level,
            "destination_level": p.destination_level,
        } for p in found.passes],
    }


def _pass_out(result: checkpoints.PassResult) -> dict[str, Any]:
    claimed = checkpoints.claimed(result)
    row = result.checkpoint_pass
    return {"id": row.pk, "duplicate": result.duplicate, "direction": row.direction,
            "passed_at": row.passed_at, "plate": row.plate, "name": claimed.name,
            "birth_year": result.declaration.birth_year, "lines": list(claimed.lines),
            "card_colour": claimed.card_colour}


@router.post("/checkpoint-scan", url_name="declarations_checkpoint_scan",
             response={200: PassOut, 201: PassOut}, auth=logged_in,
             summary="A checkpoint controller scans a declaration QR")
def checkpoint_scan(request: HttpRequest, payload: CheckpointScanIn) -> Status[dict[str, Any]]:
    """Records a checkpoint pass (once per `id`) and returns what the
    checkpoint screen shows: masked name, plate, residence, route, declared
    symptoms, the origin commune's epidemic level, the card colour. The
    door page's `/api/v1/checkins/staff-scan` takes declaration QRs too."""
    controller = _caller(request)
    venue = venue_for_staff(controller=controller, text=payload.venue)
    result = checkpoints.checkpoint_scan(
        controller=controller, venue=venue, payload=payload.payload,
        direction=payload.direction or None, scanned_at=payload.scanned_at,
        scan_id=payload.id, request=request)
    return Status(200 if result.duplicate else 201, _pass_out(result))


@router.post("/checkpoint-paper", url_name="declarations_checkpoint_paper",
             response={201: PassOut}, auth=logged_in,
             summary="Enter a paper movement declaration at a checkpoint")
def checkpoint_paper(request: HttpRequest, payload: CheckpointPaperIn) -> Status[dict[str, Any]]:
    """The controller types in a paper declaration: the declaration (on
    behalf, by the controller) and its pass are recorded together."""
    controller = _caller(request)
    venue = venue_for_staff(controller=controller, text=payload.venue)
    result = checkpoints.checkpoint_paper_entry(
        controller=controller, venue=venue, data=_input(payload),
        direction=payload.direction or None, request=request)
    return Status(201, _pass_out(result))


@router.get("/{series}", url_name="declarations_detail", response=DeclarationDetailOut,
            auth=logged_in, summary="A declaration and its versions")
def detail(request: HttpRequest, series: uuid.UUID) -> dict[str, Any]:
    """For its declarant, or an official over its commune (audited)."""
    found = selectors.declaration_for(viewer=request.user, series=series, request=request)
    out = _out(found.current)
    if not permissions.is_declarant(request.user, found.current):
        out["qr"] = ""  # the QR is the declarant's to show
    return {**out, "versions": [v.version for v in found.versions]}


@router.post("/{series}/versions", url_name="declarations_update",
             response={201: DeclarationOut}, auth=logged_in,
             summary="Update a declaration (a new version; the old ones are kept)")
def update(request: HttpRequest, series: uuid.UUID,
           payload: DeclarationIn) -> Status[dict[str, Any]]:
    declaration = services.declaration_update(actor=_caller(request), series=series,
                                              data=_input(payload), request=request)
    return Status(201, _out(declaration))


@router.post("/{series}/revoke-qr", url_name="declarations_revoke_qr",
             response=DeclarationOut, auth=logged_in, summary="Revoke a declaration's QR")
def revoke_qr(request: HttpRequest, series: uuid.UUID) -> dict[str, Any]:
    return _out(services.declaration_qr_revoke(actor=_caller(request), series=series))
