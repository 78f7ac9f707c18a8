"""API input and output for venues and their staff.

Inputs forbid unknown fields and check shape only; the services check
meaning, so the API and the pages give the same messages. Outputs show other
people masked.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from truyvet.accounts import permissions as account_permissions
from truyvet.accounts.schemas import StrictIn, UnitRef
from truyvet.core.masking import mask_phone
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus, VenueType

# --- Inputs ------------------------------------------------------------------------


class VenueCreate(StrictIn):
    name: str = Field(max_length=300)
    venue_type: str = Field(max_length=12, description="A key of `VenueType`: " + ", ".join(
        VenueType.values))
    commune_id: int | None = Field(None, description="Id of a commune (places API)")
    commune_code: str = Field("", max_length=10, description="Or its GSO code, e.g. 01558")
    street: str = Field(max_length=300, description="House number and street, or hamlet")
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    contact_phone: str = Field(max_length=32)
    otp_code: str = Field(
        "", max_length=12,
        description="Code from POST /api/v1/auth/otp with purpose `verify`, sent to "
                    "`contact_phone`; not needed when it is the caller's own verified number "
                    "or the caller is an officer over the commune",
    )


class VenueUpdate(StrictIn):
    """Only the fields sent change; `null` clears the coordinates or the
    dwell-time override."""

    name: str | None = Field(None, max_length=300)
    venue_type: str | None = Field(None, max_length=12)
    commune_id: int | None = None
    commune_code: str | None = Field(None, max_length=10)
    street: str | None = Field(None, max_length=300)
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    contact_phone: str | None = Field(None, max_length=32)
    otp_code: str = Field("", max_length=12)
    dwell_minutes: int | None = None


class VenueStatusIn(StrictIn):
    status: str = Field(max_length=10, description=", ".join(VenueStatus.values))
    reason: str = Field("", max_length=300, description="Required to suspend or close")


class StaffAddIn(StrictIn):
    phone: str = Field(max_length=32)
    role: str = Field(max_length=10, description=", ".join(StaffRole.values))


class ResolveIn(StrictIn):
    payload: str = Field(max_length=1000, description="The text a phone read from the poster QR")


class VenueFilter(Schema):
    q: str = Field("", max_length=100)
    commune: str = Field("", max_length=10, description="GSO code")
    status: str = Field("", max_length=10)
    type: str = Field("", max_length=12)
    duplicates: bool = False
    limit: int = 50
    offset: int = 0


# --- Outputs -----------------------------------------------------------------------


class VenueSummary(Schema):
    """What anyone who scanned the poster may know."""

    code: str
    name: str
    venue_type: str
    venue_type_label: str
    address: str
    status: str
    status_label: str
    accepts_checkins: bool

    @staticmethod
    def resolve_venue_type_label(obj: Venue) -> str:
        return str(obj.get_venue_type_display())

    @staticmethod
    def resolve_status_label(obj: Venue) -> str:
        return str(obj.get_status_display())


class VenueRead(VenueSummary):
    id: int
    commune: UnitRef
    street: str
    latitude: float | None
    longitude: float | None
    contact_phone: str = Field(description="Masked")
    contact_phone_verified: bool
    qr_version: int
    dwell_minutes: int = Field(description="Used to estimate departures")
    created_at: datetime
    status_changed_at: datetime
    staff_checkins_from: datetime = Field(
        description="From when its staff may record other people's visits (door scans, manual "
        "entries): at once for venues an officer registered or approved"
    )
    awaiting_approval: bool = Field(
        description="Its staff may not yet record other people's visits"
    )
    my_role: str | None = Field(None, description="The caller's staff role here, if any")
    possible_duplicate: bool
    possible_duplicate_of: str | None = Field(
        None, description="Code of the older look-alike venue; officials only"
    )

    @staticmethod
    def resolve_latitude(obj: Venue) -> float | None:
        return float(obj.latitude) if obj.latitude is not None else None

    @staticmethod
    def resolve_longitude(obj: Venue) -> float | None:
        return float(obj.longitude) if obj.longitude is not None else None

    @staticmethod
    def resolve_contact_phone(obj: Venue) -> str:
        return mask_phone(obj.contact_phone)

    @staticmethod
    def resolve_contact_phone_verified(obj: Venue) -> bool:
        return obj.contact_phone_verified_at is not None

    @staticmethod
    def resolve_dwell_minutes(obj: Venue) -> int:
        return obj.effective_dwell_minutes

    @staticmethod
    def resolve_awaiting_approval(obj: Venue) -> bool:
        return obj.awaits_staff_approval()

    @staticmethod
    def resolve_my_role(obj: Venue) -> str | None:
        return getattr(obj, "my_role", None)

    @staticmethod
    def resolve_possible_duplicate(obj: Venue) -> bool:
        return obj.possible_duplicate_of_id is not None

    @staticmethod
    def resolve_possible_duplicate_of(obj: Venue, context: Any) -> str | None:
        twin = obj.possible_duplicate_of
        viewer = getattr(context.get("request"), "auth", None) if context else None
        if twin is None or viewer is None or not account_permissions.can_view_unit(
            viewer, obj.commune
        ):
            return None
        return twin.code


class VenueDetailRead(VenueRead):
    """One venue: the contact phone in full for those who manage it (its
    owner and admins, officers over its commune); masked for the others who
    see it (its controllers, health workers), who have no need for it."""

    contact_phone_full: str = Field(description="In full for those who manage the venue")

    @staticmethod
    def resolve_contact_phone_full(obj: Venue, context: Any) -> str:
        viewer = getattr(context.get("request"), "auth", None) if context else None
        if getattr(obj, "my_role", None) in (StaffRole.OWNER, StaffRole.ADMIN) or (
            viewer is not None and account_permissions.can_manage_unit(viewer, obj.commune)
        ):
            return obj.contact_phone
        return mask_phone(obj.contact_phone)


class VenueListOut(Schema):
    count: int
    items: list[VenueRead]


class StaffRead(Schema):
    id: int
    role: str
    role_label: str
    phone: str = Field(description="Masked")
    name: str = Field(description="Empty until the holder has an account and has accepted")
    has_account: bool
    accepted: bool = Field(description="False while the place is an invitation")
    added_at: datetime

    @staticmethod
    def resolve_role_label(obj: VenueStaff) -> str:
        return str(obj.get_role_display())

    @staticmethod
    def resolve_phone(obj: VenueStaff) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_name(obj: VenueStaff) -> str:
        # Adding a phone number must not look up whose it is: the name shows
        # only once its holder has accepted the place.
        return obj.user.person.full_name if obj.user and obj.accepted_at else ""

    @staticmethod
    def resolve_has_account(obj: VenueStaff) -> bool:
        return obj.user_id is not None

    @staticmethod
    def resolve_accepted(obj: VenueStaff) -> bool:
        return obj.accepted_at is not None


class InvitationRead(Schema):
    """A place at a venue offered to the caller."""

    id: int
    role: str
    role_label: str
    venue: VenueSummary
    added_at: datetime

    @staticmethod
    def resolve_role_label(obj: VenueStaff) -> str:
        return str(obj.get_role_display())


class ImportIssueRead(Schema):
    row: int
    column: str
    message: str
    code: str

    @staticmethod
    def resolve_message(obj: Any) -> str:
        return str(obj.message)


class ImportReportOut(Schema):
    ok: bool
    filename: str
    rows: int
    created: int
    skipped_rows: list[int]
    errors: list[ImportIssueRead]
    duplicates: list[ImportIssueRead]
