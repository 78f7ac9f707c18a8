"""Writes for check-ins, one module per concern:

- ``recording``: how scans become visits (the rules, ``_decide``) and the
  one recording path every kind of scan goes through; the shared rate limits.
- ``citizen``: citizens' own scans, the guest form, the "leaving" tap, and
  guest visits offered to an account (adopt or decline).
- ``door`` (with ``identity`` and ``people``): staff scans and manual entries
  at a door, identity confirmation, the backdating floor, the door audit.
- ``batch`` (with ``batch_lookups``): offline queues.
- ``qr_cards``: printable personal QR cards.

The public services are re-exported here; callers import them from
``truyvet.checkins.services``. Private helpers are imported from (and
monkeypatched on) the module that owns them.
"""

from truyvet.checkins.services.batch import (
    BATCH_MAX_ITEMS,
    ItemResult,
    checkins_batch,
)
from truyvet.checkins.services.batch_lookups import (
    BatchItem,
    BatchKind,
    venue_for_staff,
)
from truyvet.checkins.services.citizen import (
    GUEST_CHECKOUT_SALT,
    MAX_CHECKOUT_AFTER,
    checkin_checkout,
    checkin_citizen_scan,
    checkin_guest,
    checkins_adopt_guest,
    checkins_decline_guest,
    checkins_follow_merged_person,
    checkins_move_to_person,
    checkins_offer_guest_visits,
    guest_checkout_token,
    guest_token_matches,
    venue_from_scanned_payload,
)
from truyvet.checkins.services.door import (
    ScanDisplay,
    StaffScanResult,
    checkin_manual,
    checkin_staff_scan,
    claimed_display,
    door_scan_claimed,
)
from truyvet.checkins.services.identity import (
    MISMATCHES_PER_RECORD_PER_HOUR,
    MISMATCHES_PER_STAFF_PER_HOUR,
    IdentityMismatch,
)
from truyvet.checkins.services.people import (
    INVALID_INPUT,
)
from truyvet.checkins.services.qr_cards import (
    personal_qr_card_pdf,
)
from truyvet.checkins.services.recording import (
    EXIT_SCAN_METHODS,
    STAFF_METHODS,
    CheckInResult,
    checkin_record,
    checkin_throttle,
    checkins_after_bulk_load,
)

__all__ = [
    "INVALID_INPUT",
    "BATCH_MAX_ITEMS",
    "BatchItem",
    "BatchKind",
    "CheckInResult",
    "EXIT_SCAN_METHODS",
    "GUEST_CHECKOUT_SALT",
    "IdentityMismatch",
    "ItemResult",
    "MAX_CHECKOUT_AFTER",
    "MISMATCHES_PER_RECORD_PER_HOUR",
    "MISMATCHES_PER_STAFF_PER_HOUR",
    "STAFF_METHODS",
    "ScanDisplay",
    "StaffScanResult",
    "checkin_checkout",
    "checkin_citizen_scan",
    "checkin_guest",
    "checkin_manual",
    "checkin_record",
    "checkin_staff_scan",
    "claimed_display",
    "door_scan_claimed",
    "checkin_throttle",
    "checkins_adopt_guest",
    "checkins_after_bulk_load",
    "checkins_batch",
    "checkins_decline_guest",
    "checkins_follow_merged_person",
    "checkins_move_to_person",
    "checkins_offer_guest_visits",
    "guest_checkout_token",
    "guest_token_matches",
    "personal_qr_card_pdf",
    "venue_for_staff",
    "venue_from_scanned_payload",
]
