"""Reads, scoped to the viewer. Officials' reads of declarations are
audited: one row per person shown (``audit_record_found``), one for an
opened declaration."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.accounts.models import User, Viewer
from truyvet.accounts.permissions import unit_scope_q
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record, audit_record_found
from truyvet.core.time import day_bounds, local_day
from truyvet.declarations import permissions, qr, zones
from truyvet.declarations.models import CheckpointPass, Declaration, DeclarationKind
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueType

_RELATED = ("commune__parent__parent", "origin__parent__parent", "destination__parent__parent")
LIST_LIMIT = 200


def declarations_of(*, user: Viewer) -> QuerySet[Declaration]:
    """The current versions of what the user declared, or what was declared
    about them, newest first."""
    if not isinstance(user, User):
        return Declaration.objects.none()
    return (Declaration.objects.filter(Q(declared_by_id=user.pk) | Q(person_id=user.person_id),
                                       superseded_at__isnull=True)
            .select_related(*_RELATED).order_by("-created_at"))


@dataclass(frozen=True)
class DeclarationView:
    current: Declaration
    versions: list[Declaration]  # every version, newest first
    token: str
    expires: datetime

    @property
    def expired(self) -> bool:
        return timezone.now() > self.expires


def declaration_qr(declaration: Declaration) -> tuple[str, datetime]:
    """The QR token of a (current) declaration and when it expires: the
    validity counts from the declaration's latest version."""
    expires = declaration.created_at + qr.valid_for()
    return qr.qr_token(ref=declaration.qr_ref, expires=expires), expires


def declaration_for(*, viewer: Viewer, series: uuid.UUID,
                    request: HttpRequest | None = None) -> DeclarationView:
    """A declaration with its versions, for its declarant or an official
    over its commune (audited). Anyone else: not found."""
    versions = list(Declaration.objects.filter(series=series).select_related(*_RELATED)
                    .order_by("-version"))
    if not versions or not versions[0].is_current:
        raise NotFound(_("Không tìm thấy tờ khai."), code="declaration_unknown")
    current = versions[0]
    if not permissions.can_view_declaration(viewer, current):
        raise NotFound(_("Không tìm thấy tờ khai."), code="declaration_unknown")
    if not permissions.is_declarant(viewer, current):
        audit_record(actor=viewer, action=AuditAction.PERSON_READ,
                     purpose=_("Xem tờ khai y tế"), request=request,
                     subject_person=current.person, target=f"declaration:{current.pk}",
                     unit=current.commune)
    token, expires = declaration_qr(current)
    return DeclarationView(current=current, versions=versions, token=token, expires=expires)


# --- Follow-up ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUps:
    rows: list[Declaration]
    open_count: int
    done_count: int
    by_commune: list[tuple[str, int, int]]  # (commune, open, done)


def follow_ups_for(*, viewer: Viewer, done: bool = False,
                   request: HttpRequest | None = None) -> FollowUps:
    """Current declarations in the viewer's scope that answered yes to a
    symptom or contact question: open ones (or done ones), with counts."""
    if not permissions.can_list_declarations(viewer):
        raise NotAllowed(_("Chỉ cán bộ xã, huyện, tỉnh và cán bộ y tế xem được danh sách này."))
    scoped = Declaration.objects.filter(unit_scope_q(viewer, "commune__path"),
                                        follow_up=True, superseded_at__isnull=True)
    counts = Counter[tuple[str, bool]]()
    for name, finished in scoped.values_list("commune__name", "follow_up_done_at"):
        counts[(name, finished is not None)] += 1
    communes = sorted({name for name, _done in counts})
    rows = list(scoped.filter(follow_up_done_at__isnull=not done)
                .select_related(*_RELATED, "follow_up_done_by__person")
                .order_by("-created_at")[:LIST_LIMIT])
    audit_record_found(actor=viewer, people=[r.person for r in rows if r.person is not None],
                       purpose=_("Danh sách theo dõi tờ khai y tế"), request=request,
                       target="declarations:follow-up")
    return FollowUps(
        rows=rows, open_count=sum(v for (_n, d), v in counts.items() if not d),
        done_count=sum(v for (_n, d), v in counts.items() if d),
        by_commune=[(c, counts[(c, False)], counts[(c, True)]) for c in communes],
    )


# --- Movements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    arrivals: int
    departures: int
    watched: int  # into or out of a level-3/4 zone


@dataclass(frozen=True)
class Movements:
    unit: AdministrativeUnit | None
    passes: list[CheckpointPass]
    declared: list[Declaration]  # movement declarations into or out of the area
    days: list[DayCount]
    watched_only: bool


def movements_for(*, viewer: Viewer, unit: AdministrativeUnit | None = None, days: int = 7,
                  watched_only: bool = False, now: datetime | None = None,
                  request: HttpRequest | None = None) -> Movements:
    """Checkpoint passes and declared trips whose origin or destination lies
    in ``unit`` (or in the viewer's scope), over the last ``days`` local days,
    newest first, with counts per day; ``watched_only`` keeps those into or
    out of level-3/4 zones (the levels as they were at the time)."""
    if not permissions.can_list_declarations(viewer):
        raise NotAllowed(_("Chỉ cán bộ xã, huyện, tỉnh và cán bộ y tế xem được danh sách này."))
    if unit is not None and not permissions.can_view_movements(viewer, unit):
        raise NotFound(_("Không tìm thấy đơn vị hành chính."))
    now = now or timezone.now()
    first_day = local_day(now) - timedelta(days=days - 1)
    since = day_bounds(first_day)[0]
    if unit is not None:
        area = Q(origin__path__startswith=unit.path) | Q(destination__path__startswith=unit.path)
        into = Q(destination__path__startswith=unit.path)
    else:
        area = unit_scope_q(viewer, "origin__path") | unit_scope_q(viewer, "destination__path")
        into = unit_scope_q(viewer, "destination__path")
    passes_q = CheckpointPass.objects.filter(area, passed_at__gte=since)
    if watched_only:
        passes_q = passes_q.filter(Q(origin_level__in=zones.WATCHED_LEVELS)
                                   | Q(destination_level__in=zones.WATCHED_LEVELS))
    passes = list(passes_q.select_related("declaration", "checkpoint", *_RELATED[1:])
                  .order_by("-passed_at")[:LIST_LIMIT])
    declared_q = Declaration.objects.filter(area, kind=DeclarationKind.MOVEMENT,
                                            superseded_at__isnull=True, created_at__gte=since)
    declared = list(declared_q.select_related(*_RELATED).order_by("-created_at")[:LIST_LIMIT])
    if watched_only:
        declared = _declared_watched(declared)
    counts: dict[date, list[int]] = {first_day + timedelta(days=i): [0, 0, 0]
                                     for i in range(days)}
    arriving = set(passes_q.filter(into).values_list("pk", flat=True))
    for pk, passed_at, origin_level, destination_level in passes_q.values_list(
            "pk", "passed_at", "origin_level", "destination_level"):
        row = counts.get(local_day(passed_at))
        if row is None:
            continue
        row[0 if pk in arriving else 1] += 1
        if origin_level in zones.WATCHED_LEVELS or destination_level in zones.WATCHED_LEVELS:
            row[2] += 1
    people = [p.declaration.person for p in passes if p.declaration.person is not None]
    people += [d.person for d in declared if d.person is not None]
    audit_record_found(actor=viewer, people=list({p.pk: p for p in people}.values()),
                       purpose=_("Danh sách người ra vào địa bàn"), request=request,
                       target="declarations:movements", unit=unit)
    return Movements(
        unit=unit, passes=passes, declared=declared, watched_only=watched_only,
        days=[DayCount(day, *values) for day, values in sorted(counts.items(), reverse=True)],
    )


def _declared_watched(declared: list[Declaration]) -> list[Declaration]:
    """The declared trips into or out of a level-3/4 commune on their
    departure day (the levels of every trip in one query)."""
    ends = [(commune_id, d.departure_date) for d in declared
            for commune_id in (d.origin_id, d.destination_id)
            if commune_id is not None and d.departure_date is not None]
    levels = zones.levels_on(ends)
    return [d for d in declared if any(
        (entry := levels.get((commune_id, d.departure_date))) is not None  # type: ignore[arg-type]
        and entry.level in zones.WATCHED_LEVELS
        for commune_id in (d.origin_id, d.destination_id))]


def passes_per_day(*, venue: Venue, days: int = 7) -> list[tuple[date, int, int]]:
    """(day, in, out) at one checkpoint, newest first (for its controllers)."""
    first_day = local_day(timezone.now()) - timedelta(days=days - 1)
    counts: dict[date, list[int]] = {first_day + timedelta(days=i): [0, 0] for i in range(days)}
    for passed_at, direction in CheckpointPass.objects.filter(
            checkpoint=venue, passed_at__gte=day_bounds(first_day)[0]).values_list(
            "passed_at", "direction"):
        row = counts.get(local_day(passed_at))
        if row is not None:
            row[0 if direction == "in" else 1] += 1
    return [(day, *values) for day, values in sorted(counts.items(), reverse=True)]  # type: ignore[misc]


def recent_plates(*, venue: Venue, limit: int = 50) -> list[str]:
    """Plates recently seen at the checkpoint, for the paper form's autocomplete."""
    seen: list[str] = []
    for plate in (CheckpointPass.objects.filter(checkpoint=venue).exclude(plate="")
                  .order_by("-passed_at").values_list("plate", flat=True)[:limit * 4]):
        if plate not in seen:
            seen.append(plate)
    return seen[:limit]


def home_links_for(user: Viewer) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page (``truyvet.site.selectors.home_sections_for``):
    ``"mine"`` for everyone logged in, ``"control"`` for checkpoint staff
    (the paper form of each checkpoint), ``"official"`` for officials."""
    if not isinstance(user, User):
        return {"mine": [], "control": [], "official": []}
    mine = [(reverse("declarations:mine"), _("Khai báo y tế"))]
    checkpoints = (VenueStaff.objects.filter(
        user=user, venue__venue_type=VenueType.CHECKPOINT,
        role__in=[StaffRole.OWNER, StaffRole.ADMIN, StaffRole.CONTROLLER])
        .select_related("venue").order_by("venue__name")[:5])
    control = [(reverse("declarations:paper", kwargs={"code": s.venue.code}),
                _("Nhập tờ khai giấy: %(venue)s") % {"venue": s.venue.name}) for s in checkpoints]
    official = []
    if permissions.can_list_declarations(user):
        official = [(reverse("declarations:follow_up"), _("Theo dõi tờ khai y tế")),
                    (reverse("declarations:movements"), _("Người ra vào địa bàn"))]
    return {"mine": mine, "control": control, "official": official}
