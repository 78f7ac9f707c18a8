"""Permission decisions about venues, as named functions.

Venue roles (owner, admin, controller) are memberships (``venues.VenueStaff``),
read from the database on every call and never cached on the user, so a
removed staff member loses access with their very next request. Officers act
on venues through their unit roles (``truyvet.accounts.permissions``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from truyvet.accounts.models import Viewer
from truyvet.accounts.permissions import can_manage_unit, can_view_unit, is_officer
from truyvet.core.rawrows import python_values
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import StaffRole, Venue, VenueStaff


def venue_role(user: Viewer, venue: Venue) -> str | None:
    """The user's staff role at ``venue`` (owner, admin, controller) or None.
    An invitation not yet accepted is no role."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return (
        VenueStaff.objects.filter(venue_id=venue.pk, user_id=user.pk, accepted_at__isnull=False)
        .values_list("role", flat=True)
        .first()
    )


def _venue_roles_in(user: Viewer, venue: Venue, roles: frozenset[str]) -> bool:
    return venue_role(user, venue) in roles


_VENUE_MANAGERS = frozenset({StaffRole.OWNER, StaffRole.ADMIN})
_VENUE_STAFF = frozenset({StaffRole.OWNER, StaffRole.ADMIN, StaffRole.CONTROLLER})


def can_register_venue(user: Viewer) -> bool:
    """Any logged-in person registers their own venue (self-service); where
    an officer registers on someone's behalf is checked with
    ``can_register_venue_for_unit``."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def can_register_venue_for_unit(user: Viewer, commune: AdministrativeUnit | None) -> bool:
    """Registers venues for others (activated at once, bulk import): officers
    over the commune."""
    return can_manage_unit(user, commune)


def can_import_venues(user: Viewer) -> bool:
    """Opens the bulk import page; each row's commune is then checked with
    ``can_register_venue_for_unit``."""
    return is_officer(user)


def can_view_venue(user: Viewer, venue: Venue) -> bool:
    """The venue's staff, and officials whose scope covers its commune."""
    return can_view_unit(user, venue.commune) or venue_role(user, venue) is not None


def can_manage_venue(user: Viewer, venue: Venue) -> bool:
    """Edits details, prints posters, revokes the QR: the owner and venue
    admins, and officers over the commune."""
    return can_manage_unit(user, venue.commune) or _venue_roles_in(user, venue, _VENUE_MANAGERS)


def can_manage_venue_staff(user: Viewer, venue: Venue, role: str) -> bool:
    """Adds or removes a staff member holding ``role``: the owner manages
    admins and controllers, a venue admin manages controllers, officers over
    the commune manage everyone (owners included)."""
    if can_manage_unit(user, venue.commune):
        return True
    mine = venue_role(user, venue)
    if mine == StaffRole.OWNER:
        return role in (StaffRole.ADMIN, StaffRole.CONTROLLER)
    if mine == StaffRole.ADMIN:
        return role == StaffRole.CONTROLLER
    return False


def can_view_venue_staff(user: Viewer, venue: Venue) -> bool:
    return can_manage_venue(user, venue)


def can_view_visitor_log(user: Viewer, venue: Venue) -> bool:
    """Who came, even masked, is for the owner and venue admins only: not
    controllers, and not officers (tracing reaches visits through a case)."""
    return _venue_roles_in(user, venue, _VENUE_MANAGERS)


def can_change_venue_status(user: Viewer, venue: Venue) -> bool:
    """Approves, suspends, closes and reopens: officers over the commune."""
    return can_manage_unit(user, venue.commune)


def can_scan_at_venue(user: Viewer, venue: Venue) -> bool:
    """Checks people in at the door: the venue's controllers, admins and owner."""
    return _venue_roles_in(user, venue, _VENUE_STAFF)


def venue_staff_since(user: Viewer, venue: Venue) -> datetime | None:
    """When the user became the venue's owner, admin or controller, or None
    when they are none of these (``can_scan_at_venue`` is then False): one
    query for both whether they may scan there and how long they have,
    which bounds how far back their scans may be dated."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    # Hand-written: it runs on every door and checkpoint scan, where the
    # ORM's building of it cost several times its running (decision 0015).
    roles = sorted(_VENUE_STAFF)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT added_at FROM {connection.ops.quote_name(VenueStaff._meta.db_table)} "  # noqa: S608 - names from the models, values bound
            f"WHERE venue_id = %s AND user_id = %s AND role IN ({', '.join(['%s'] * len(roles))}) "
            "ORDER BY id LIMIT 1", [venue.pk, user.pk, *roles])
        row = cursor.fetchone()
    if row is None:
        return None
    added_at: datetime = python_values(connection, [_ADDED_AT], row)[0]
    return added_at


_ADDED_AT = VenueStaff._meta.get_field("added_at")


def can_print_posters_for_unit(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Downloads every poster of a commune or district in one PDF."""
    return can_manage_unit(user, unit)
