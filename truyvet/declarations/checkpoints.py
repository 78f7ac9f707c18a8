"""Checkpoints (chốt kiểm soát): a venue of type checkpoint whose staff scan
declaration QRs, or type in a paper declaration, and so record a
``CheckpointPass``.

A scan reaches here from the controller's door page, the staff-scan API and
offline batches, through ``checkins.hooks.door_scan_claim`` (the door page
belongs to checkins, below this app), or from this app's own API. A pass
keeps the epidemic levels of both ends as they were, for the movement
counts, and the officials of the origin and destination communes see it in
their queue (``selectors.movements_for``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import Person, User
from truyvet.checkins.hooks import ClaimedScan
from truyvet.checkins.services import checkin_throttle
from truyvet.core.errors import FieldError, NotFound, ServiceError
from truyvet.core.masking import mask_name
from truyvet.core.models import AuditAction
from truyvet.core.rawrows import columns_of, instances_from_row, instances_insert
from truyvet.core.services import audit_event
from truyvet.declarations import permissions, qr, zones
from truyvet.declarations.models import CheckpointPass, Declaration, DeclarationKind, PassDirection
from truyvet.declarations.plates import plate_display
from truyvet.declarations.services import DeclarationInput, declaration_submit
from truyvet.places.cache import units_by_id
from truyvet.places.levels import LevelBadge
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import Venue, VenueType
from truyvet.venues.readiness import venue_require_ready

NOT_YOURS = gettext_lazy("Bạn không phải cán bộ kiểm soát của chốt này.")


@dataclass(frozen=True)
class PassResult:
    checkpoint_pass: CheckpointPass
    declaration: Declaration
    duplicate: bool
    # The origin commune's level when the pass was made, for the screen.
    origin_badge: LevelBadge | None = None


def _require_controller(controller: User, venue: Venue) -> None:
    if venue.venue_type != VenueType.CHECKPOINT:
        raise ServiceError(
            gettext_lazy("Mã QR tờ khai chỉ được quét tại chốt kiểm soát (địa điểm loại "
                         "chốt kiểm dịch)."), code="not_a_checkpoint")
    if not permissions.can_scan_at_checkpoint(controller, venue):
        raise NotFound(NOT_YOURS, code="venue_unknown")
    venue_require_ready(venue, by_staff=True)


def declaration_from_qr(token: str, *, at: datetime) -> Declaration:
    """The current version of the declaration a QR stands for, at the time
    of the scan. Raises DeclarationQrError: malformed, forged (bad signature,
    or a reference we never issued or already purged), expired, revoked."""
    parsed = qr.qr_check(token, now=at)
    declaration = _current_declaration(parsed.ref)
    if declaration is None:
        raise qr.DeclarationQrError(
            gettext_lazy("Mã QR tờ khai không hợp lệ: không có trong hệ thống."),
            code="declaration_qr_forged")
    person = declaration.person
    units = units_by_id([declaration.commune_id, declaration.origin_id,
                         declaration.destination_id, person.commune_id if person else None])
    declaration.commune = units[declaration.commune_id]
    if declaration.origin_id is not None and declaration.destination_id is not None:
        declaration.origin = units[declaration.origin_id]
        declaration.destination = units[declaration.destination_id]
    if person is not None and person.commune_id is not None:
        person.commune = units[person.commune_id]
    if declaration.qr_revoked_at is not None and declaration.qr_revoked_at <= at:
        raise qr.DeclarationQrError(
            gettext_lazy("Mã QR tờ khai này đã bị thu hồi."), code="declaration_qr_revoked",
            status=409)
    return declaration


def _current_declaration(ref: str) -> Declaration | None:
    """The current version of the series behind a QR reference, with its
    person, in one hand-written statement. A series has one current version
    (an update supersedes the previous one in its own transaction), so no
    ordering is asked for. The places come from memory (``places.cache``),
    not from joins, and the statement is written by hand: on the scan path
    the ORM spent more building the query than the database running it
    (decision 0015)."""
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {columns_of(Declaration, 'd', connection)}, "  # noqa: S608 - model names
        f"{columns_of(Person, 'p', connection)} "
        f"FROM {quote(Declaration._meta.db_table)} d "
        f"LEFT JOIN {quote(Person._meta.db_table)} p ON p.id = d.person_id "
        "WHERE d.qr_ref = %s AND d.superseded_at IS NULL LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ref])
        row = cursor.fetchone()
    if row is None:
        return None
    declaration: Declaration
    declaration, person = instances_from_row(connection, row, Declaration, Person)
    declaration.person = person
    return declaration


def _scan_time(scanned_at: datetime | None, now: datetime) -> datetime:
    """A device time, bounded like a door scan's: not in the future beyond
    the clock skew, not older than the offline window."""
    if scanned_at is None:
        return now
    if scanned_at > now + timedelta(seconds=settings.CHECKIN_MAX_CLOCK_SKEW_SECONDS):
        raise ServiceError(gettext_lazy("Thời điểm quét ở tương lai: hãy kiểm tra đồng hồ "
                                        "của máy."), code="checkin_in_future")
    if scanned_at < now - timedelta(hours=settings.CHECKIN_OFFLINE_WINDOW_HOURS):
        raise ServiceError(gettext_lazy("Lượt quét quá cũ để ghi nhận."), code="checkin_too_old")
    return scanned_at


def direction_for(venue: Venue, declaration: Declaration) -> str:
    """In when the trip ends in the checkpoint's district and starts
    outside it, out when it is the other way round; a trip through the
    district counts as in. (Paths are ``scheme/province/district/commune/``.)"""
    district = venue.commune.path.rsplit("/", 2)[0] + "/"
    assert declaration.origin is not None and declaration.destination is not None
    if (declaration.origin.path.startswith(district)
            and not declaration.destination.path.startswith(district)):
        return PassDirection.OUT
    return PassDirection.IN


def _record_pass(*, controller: User, venue: Venue, declaration: Declaration, at: datetime,
                 direction: str | None, scan_id: uuid.UUID | None,
                 request: HttpRequest | None) -> PassResult:
    if declaration.kind != DeclarationKind.MOVEMENT:
        raise ServiceError(gettext_lazy(
            "Đây là tờ khai y tế, không có lộ trình: người đi đường cần khai di chuyển nội "
            "địa."), code="declaration_not_movement")
    if direction not in (None, "", *PassDirection.values):
        message = gettext_lazy("Hướng đi phải là vào (in) hoặc ra (out).")
        raise ServiceError(message, code="validation_error",
                           errors=[FieldError("direction", message, "invalid")])
    assert declaration.origin is not None and declaration.destination is not None
    levels = zones.levels_at([declaration.origin, declaration.destination], at, cached=True)
    origin_entry = levels.get(declaration.origin.pk)
    destination_entry = levels.get(declaration.destination.pk)
    row = CheckpointPass(
        id=scan_id or uuid.uuid4(), checkpoint=venue, declaration=declaration,
        direction=direction or direction_for(venue, declaration), passed_at=at,
        plate=declaration.plate, controller=controller, origin=declaration.origin,
        destination=declaration.destination,
        origin_level=origin_entry.level if origin_entry is not None else None,
        destination_level=destination_entry.level if destination_entry is not None else None,
    )
    try:
        # The client's id is the idempotency key: a retry fails to insert
        # and answers as before (no look-up first: retries are rare). The
        # pass and its audit row are written together or not at all: an
        # audited read is never served without its audit row.
        instances_insert(row, audit_event(
            actor=controller, action=AuditAction.PERSON_READ,
            purpose=_("Quét tờ khai tại chốt %(venue)s") % {"venue": venue.name},
            subject_person=declaration.person, target=f"declaration:{declaration.pk}",
            unit=venue.commune, request=request,
            detail={"at_venue": venue.name, "pass": str(row.pk), "direction": row.direction},
        ))
    except IntegrityError:
        return _seen(CheckpointPass.objects.select_related("declaration").get(pk=row.pk),
                     venue, declaration)
    return PassResult(checkpoint_pass=row, declaration=declaration, duplicate=False,
                      origin_badge=zones.badge(origin_entry))


def _seen(existing: CheckpointPass, venue: Venue, declaration: Declaration) -> PassResult:
    if existing.checkpoint_id != venue.pk or existing.declaration.series != declaration.series:
        raise ServiceError(gettext_lazy("Mã lượt quét đã được dùng cho lượt khác."),
                           code="scan_id_reused", status=409)
    return PassResult(checkpoint_pass=existing, declaration=declaration, duplicate=True,
                      origin_badge=zones.level_badge_at(declaration.origin, existing.passed_at))


def checkpoint_scan(*, controller: User, venue: Venue, payload: str,
                    direction: str | None = None, scanned_at: datetime | None = None,
                    scan_id: uuid.UUID | None = None,
                    request: HttpRequest | None = None) -> PassResult:
    """A controller at a checkpoint scanned a declaration QR: records the
    pass (direction given, or from the route), once per scan id."""
    _require_controller(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    at = _scan_time(scanned_at, timezone.now())
    declaration = declaration_from_qr(payload, at=at)
    return _record_pass(controller=controller, venue=venue, declaration=declaration, at=at,
                        direction=direction, scan_id=scan_id, request=request)


def checkpoint_paper_entry(*, controller: User, venue: Venue, data: DeclarationInput,
                           direction: str | None = None,
                           request: HttpRequest | None = None) -> PassResult:
    """A paper movement declaration typed in at the checkpoint: the
    declaration (declared on behalf by the controller) and its pass, together
    or not at all."""
    _require_controller(controller, venue)
    checkin_throttle(scope="staff", request=request, user=controller)
    data = DeclarationInput(**{**vars(data), "kind": DeclarationKind.MOVEMENT,
                               "on_behalf": True})
    with transaction.atomic():
        declaration = declaration_submit(actor=controller, data=data, request=request)
        declaration = Declaration.objects.select_related(
            "commune__parent__parent", "origin__parent__parent",
            "destination__parent__parent").get(pk=declaration.pk)
        return _record_pass(controller=controller, venue=venue, declaration=declaration,
                            at=timezone.now(), direction=direction, scan_id=None,
                            request=request)


# --- What the controller sees -------------------------------------------------------------


def scan_lines(result: PassResult) -> tuple[str, ...]:
    """The scan screen's lines, within one phone screen: plate, residence,
    route, declared symptoms, the origin's epidemic level, the direction."""
    declaration = result.declaration
    row = result.checkpoint_pass
    assert declaration.origin is not None and declaration.destination is not None
    badge = result.origin_badge
    symptoms = (_("Có: %(text)s") % {"text": declaration.symptoms_text}
                if declaration.symptoms and declaration.symptoms_text
                else _("Có") if declaration.symptoms else _("Không"))
    return (
        _("Hướng: %(direction)s") % {"direction": PassDirection(row.direction).label},
        _("Biển số: %(plate)s") % {
            "plate": plate_display(declaration.plate) if declaration.plate else _("không có")},
        _("Nơi ở: %(commune)s") % {"commune": _short(declaration.commune)},
        _("Lộ trình: %(origin)s → %(destination)s") % {
            "origin": _short(declaration.origin),
            "destination": _short(declaration.destination)},
        _("Triệu chứng: %(answer)s") % {"answer": symptoms},
        _("Cấp độ dịch nơi đi: %(level)s") % {
            "level": badge.text if badge is not None else _("chưa công bố")},
    )


def _short(unit: AdministrativeUnit) -> str:
    """Commune and district, enough at a checkpoint within one province."""
    return f"{unit.name}, {unit.parent.name}" if unit.parent is not None else unit.name


def claimed(result: PassResult) -> ClaimedScan:
    declaration = result.declaration
    row = result.checkpoint_pass
    return ClaimedScan(
        record_id=row.pk, at=row.passed_at, kind="checkpoint_pass", outcome="created",
        outcome_label=_("Đã ghi nhận qua chốt") if not result.duplicate
        else _("Đã ghi nhận trước đó"),
        duplicate=result.duplicate, name=mask_name(declaration.full_name),
        birth_year=declaration.birth_year,
        card_colour=zones.card_colour(declaration.person, row.passed_at),
        method="declaration_qr", method_label=_("Mã QR tờ khai"), lines=scan_lines(result),
    )


def claim_door_scan(*, controller: User, venue: Venue, payload: str,
                    scanned_at: datetime | None, scan_id: uuid.UUID | None,
                    request: HttpRequest | None, claims: list[ClaimedScan]) -> None:
    """Receiver of ``checkins.hooks.door_scan_claim``: a declaration QR
    scanned on the door page is a checkpoint pass."""
    if not qr.looks_like_declaration_qr(payload):
        return
    result = checkpoint_scan(controller=controller, venue=venue, payload=payload,
                             scanned_at=scanned_at, scan_id=scan_id, request=request)
    claims.append(claimed(result))
