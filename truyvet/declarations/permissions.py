"""Who may do what with declarations and checkpoint passes."""

from __future__ import annotations

from truyvet.accounts.models import User, Viewer
from truyvet.accounts.permissions import can_view_unit, is_official
from truyvet.declarations.models import Declaration
from truyvet.places.models import AdministrativeUnit
from truyvet.venues import permissions as venue_permissions
from truyvet.venues.models import Venue, VenueType


def can_declare(user: Viewer) -> bool:
    """Anyone with an account, for themselves or for someone else (khai hộ)."""
    return bool(getattr(user, "is_authenticated", False)) and user.is_active


def is_declarant(user: Viewer, declaration: Declaration) -> bool:
    """The account that filled the declaration in, or whose record it is about."""
    if not isinstance(user, User):
        return False
    return declaration.declared_by_id == user.pk or (
        declaration.person_id is not None and declaration.person_id == user.person_id
    )


def can_view_declaration(user: Viewer, declaration: Declaration) -> bool:
    """The declarant, and the officials over the commune declared as the
    contact address (their reads are audited)."""
    return is_declarant(user, declaration) or can_follow_up(user, declaration.commune)


def can_follow_up(user: Viewer, commune: AdministrativeUnit | None) -> bool:
    """The officials and health workers over the commune of the address."""
    return is_official(user) and can_view_unit(user, commune)


def can_list_declarations(user: Viewer) -> bool:
    """The follow-up and movement lists: officials, each list cut to their scope."""
    return is_official(user)


def can_view_movements(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """The officials over a place see who moved into and out of it."""
    return is_official(user) and can_view_unit(user, unit)


def can_scan_at_checkpoint(user: Viewer, venue: Venue) -> bool:
    """The checkpoint's controllers, admins and owner."""
    return (venue.venue_type == VenueType.CHECKPOINT
            and venue_permissions.venue_staff_since(user, venue) is not None)
