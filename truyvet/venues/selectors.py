"""Reads of venues and their staff, already scoped to the viewer.

- Officials see the venues of the communes their roles cover.
- Owners, venue admins and controllers see the venues they are staff of.
- Nobody else sees any venue through these selectors; the public scan page
  resolves one signed QR at a time (``qr.venue_qr_resolve``).

A venue's visitors are check-ins, read by ``truyvet.checkins.selectors``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts import permissions as account_permissions
from truyvet.accounts.models import User, Viewer
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_event, audit_record_all
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.venues import permissions
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus, VenueType

VENUE_NOT_FOUND = gettext_lazy("Không tìm thấy địa điểm này.")
# What a list row needs, so the address and flags cost no query per row.
VENUE_RELATED = ("commune", "commune__parent", "commune__parent__parent",
                 "possible_duplicate_of")


def _role_subquery(user: User) -> Subquery:
    return Subquery(
        VenueStaff.objects.filter(
            venue=OuterRef("pk"), user_id=user.pk, accepted_at__isnull=False
        ).values("role")[:1]
    )


def venue_scope_q(viewer: Viewer) -> Q:
    """Venues the viewer may see: in an official's scope, or staffed by them."""
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_active:
        return Q(pk__in=[])
    if account_permissions.is_system_admin(viewer):
        return Q()  # an empty Q would vanish from an OR below, not match all
    staffed = Q(pk__in=VenueStaff.objects.filter(
        user_id=viewer.pk, accepted_at__isnull=False).values("venue_id"))
    if not account_permissions.is_official(viewer):
        return staffed
    return account_permissions.unit_scope_q(viewer, "commune__path") | staffed


def venues_visible_to(
    viewer: Viewer,
    *,
    query: str = "",
    commune: str = "",
    status: str = "",
    venue_type: str = "",
    duplicates_only: bool = False,
) -> QuerySet[Venue]:
    """Venues in the viewer's scope, filtered; each carries ``my_role`` (the
    viewer's staff role there, or None). ``query`` matches the name without
    regard to diacritics or case, or a venue code exactly; ``commune`` is a
    GSO code."""
    if not isinstance(viewer, User):
        return Venue.objects.none()  # anonymous: no scope (venue_scope_q)
    venues = (
        Venue.objects.filter(venue_scope_q(viewer))
        .select_related(*VENUE_RELATED)
        .annotate(my_role=_role_subquery(viewer))
    )
    text = " ".join((query or "").split())
    if text:
        condition = Q(name_folded__contains=fold(text))
        if len(text) <= 12:
            condition |= Q(code=text.upper()) | Q(code=text)
        venues = venues.filter(condition)
    if commune:
        venues = venues.filter(commune__code=commune.strip())
    if status:
        venues = venues.filter(status=status)
    if venue_type:
        venues = venues.filter(venue_type=venue_type)
    if duplicates_only:
        venues = venues.filter(possible_duplicate_of__isnull=False)
    return venues.order_by("commune__path", "name_folded", "pk")


def venues_of(user: Viewer) -> QuerySet[Venue]:
    """The venues ``user`` is staff of, with ``my_role``: the owner's list."""
    if not isinstance(user, User) or not user.is_active:
        return Venue.objects.none()
    return (
        Venue.objects.filter(staff__user_id=user.pk, staff__accepted_at__isnull=False)
        .select_related(*VENUE_RELATED)
        .annotate(my_role=_role_subquery(user))
        .order_by("name_folded", "pk")
    )


def venues_for_scanning(user: Viewer) -> QuerySet[Venue]:
    """Active venues where ``user`` may check people in (a controller
    serving several venues picks one of these at the door)."""
    return venues_of(user).filter(status=VenueStatus.ACTIVE)


def venue_for(*, viewer: Viewer, code: str) -> Venue:
    """The venue with ``code`` if the viewer may see it, with ``my_role``.
    Raises NotFound alike for unknown codes and venues out of scope."""
    venue = venues_visible_to(viewer).filter(code=(code or "").strip()).first()
    if venue is None:
        raise NotFound(VENUE_NOT_FOUND)
    return venue


def venue_invitations_for(user: Viewer) -> QuerySet[VenueStaff]:
    """Places at venues offered to ``user`` that they have not accepted yet."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return VenueStaff.objects.none()
    return (
        VenueStaff.objects.filter(user_id=user.pk, accepted_at__isnull=True)
        .select_related("venue", "venue__commune", "venue__commune__parent",
                        "venue__commune__parent__parent")
        .order_by("-added_at", "-pk")
    )


def venue_staff_list(
    *, viewer: Viewer, venue: Venue, request: HttpRequest | None = None
) -> list[VenueStaff]:
    """The venue's staff, owners first; for those who manage the venue. The
    list shows full names, so it is audited under each member with an
    account (but the viewer), who sees it on "who viewed my data"."""
    if not permissions.can_view_venue_staff(viewer, venue):
        raise NotAllowed(_("Bạn không có quyền xem nhân sự của địa điểm này."))
    order = {StaffRole.OWNER: 0, StaffRole.ADMIN: 1, StaffRole.CONTROLLER: 2}
    with transaction.atomic():
        members: list[VenueStaff] = list(
            venue.staff.select_related("user", "user__person")
            .annotate(rank=Case(
                *(When(role=role, then=Value(rank)) for role, rank in order.items()),
                output_field=IntegerField(),
            ))
            .order_by("rank", "added_at", "pk")
        )
        # Only accepted members are shown by name (an invitation shows none).
        named = [m.user.person for m in members
                 if m.user is not None and m.accepted_at is not None
                 and m.user_id != getattr(viewer, "pk", None)]
        detail: dict[str, Any] = {"kind": "venue_staff", "venue_code": venue.code}
        if permissions.venue_role(viewer, venue) is not None:
            detail["at_venue"] = venue.name  # shown as venue staff, not as an official
        audit_record_all([
            audit_event(actor=viewer, action=AuditAction.PERSON_READ, request=request,
                        purpose=_("Xem danh sách nhân sự của %(venue)s") % {"venue": venue.name},
                        subject_person=person, target=f"venue:{venue.code}",
                        unit=venue.commune, detail=detail)
            for person in named
        ])
    return members


def venue_type_counts(viewer: Viewer) -> dict[str, int]:
    """How many venues of each type the viewer sees (every type listed)."""
    counts = {value: 0 for value in VenueType.values}
    for row in (
        Venue.objects.filter(venue_scope_q(viewer))
        .values("venue_type").annotate(n=Count("id")).order_by()
    ):
        counts[row["venue_type"]] = row["n"]
    return counts


# --- Officers: units for bulk posters and imports ------------------------------------------------


def poster_units_for(viewer: Viewer) -> list[AdministrativeUnit]:
    """Districts and communes the officer may print every poster of."""
    if not account_permissions.is_officer(viewer):
        return []
    if account_permissions.is_system_admin(viewer):
        return []  # the whole country: admins pick by code
    units: list[AdministrativeUnit] = []
    seen: set[int] = set()
    for scope in account_permissions.scope_units(viewer, account_permissions.OFFICER_ROLES):
        below = AdministrativeUnit.objects.filter(
            path__startswith=scope.path, level__in=(Level.DISTRICT, Level.COMMUNE)
        ).select_related("parent").order_by("path")[:500]
        for unit in below:
            if unit.pk not in seen:
                seen.add(unit.pk)
                units.append(unit)
    return units


def venues_for_posters(*, viewer: Viewer, unit: AdministrativeUnit) -> QuerySet[Venue]:
    """The active and pending venues of ``unit`` (a commune or district), for
    one bulk PDF; officers over the unit only."""
    if not permissions.can_print_posters_for_unit(viewer, unit):
        raise NotAllowed(_("Bạn chỉ in được áp phích của địa bàn mình phụ trách."))
    return (
        Venue.objects.filter(commune__path__startswith=unit.path)
        .filter(status__in=(VenueStatus.ACTIVE, VenueStatus.PENDING))
        .select_related("commune", "commune__parent", "commune__parent__parent")
        .order_by("commune__path", "name_folded", "pk")
    )


def import_communes_for(viewer: Viewer) -> list[AdministrativeUnit]:
    """The communes an officer may import venues into, for the template's
    list (at most 2,000: a province; admins get none and use codes)."""
    if not account_permissions.is_officer(viewer) or account_permissions.is_system_admin(viewer):
        return []
    scope = account_permissions.unit_scope_q(viewer, "path", account_permissions.OFFICER_ROLES)
    return list(
        AdministrativeUnit.objects.filter(scope, level=Level.COMMUNE)
        .select_related("parent").order_by("path")[:2000]
    )


def home_links_for(user: Viewer) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page: everyone's own venues, and the officials'
    venue work."""
    from django.urls import reverse

    mine = [(reverse("venues:mine"), _("Địa điểm của tôi"))]
    official: list[tuple[str, str]] = []
    if account_permissions.is_official(user):
        official.append((reverse("venues:manage"), _("Địa điểm trong địa bàn")))
    if permissions.can_import_venues(user):
        official.append((reverse("venues:import"), _("Nhập địa điểm từ tệp")))
        official.append((reverse("venues:posters"), _("In áp phích hàng loạt")))
    return {"mine": mine, "official": official}
