"""Permission decisions about check-ins, as named functions.

Scanning at a venue and reading its visitor log are venue roles
(``truyvet.venues.permissions.can_scan_at_venue``, ``can_view_visitor_log``).
There is deliberately no permission to list another person's visits:
officials reach visits only through a case (tracing).
"""

from __future__ import annotations

from truyvet.accounts.models import Person, User, Viewer
from truyvet.accounts.permissions import can_view_unit
from truyvet.checkins.models import CheckIn


def can_checkout_checkin(user: Viewer, checkin: CheckIn) -> bool:
    """Ends a visit by tapping "leaving": only the person who made it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return getattr(user, "person_id", None) == checkin.person_id


def can_print_personal_qr_card(user: Viewer, person: Person) -> bool:
    """Prints the 5 × 5 cm personal QR card: the person themselves, and
    officials whose scope covers where the person lives, for people without
    an account of their own (no smartphone; each print is audited). A card
    is a live credential that checks its holder in anywhere, so nobody
    prints one for someone who has an account: they print their own."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if getattr(user, "person_id", None) == person.pk:
        return True
    if not can_view_unit(user, person.commune):
        return False
    return not User.objects.filter(person_id=person.pk).exists()
