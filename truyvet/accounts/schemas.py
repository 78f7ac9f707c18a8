"""API input and output for people, accounts, roles and the audit log.

Inputs forbid unknown fields and only check shape (types, lengths); the
services check meaning, so the API and the HTML forms give the same messages
in the user's language. Outputs about other people are masked unless they
come from the audited detail endpoint.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from truyvet.accounts.models import (
    AccessToken,
    BrowserSession,
    IdentityClaim,
    Person,
    RoleAssignment,
)
from truyvet.accounts.selectors import roles_of
from truyvet.core.masking import mask_identifier, mask_name, mask_phone
from truyvet.core.models import AuditEvent
from truyvet.places.models import AdministrativeUnit


class StrictIn(Schema):
    """Base for request bodies: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- Inputs ---------------------------------------------------------------------


class OtpRequestIn(StrictIn):
    phone: str = Field(max_length=32, description="Any common spelling: 0912 345 678, +849...")
    purpose: str = Field(
        "register", max_length=10, description="`register` or `reset` (password reset)"
    )


class PersonFieldsIn(StrictIn):
    """What is known about a person; everything but the name is optional."""

    full_name: str = Field(max_length=200)
    birth_date: date | None = None
    birth_year: int | None = Field(None, description="When only the year is known")
    sex: str = Field("", max_length=10, description="`male`, `female`, `other` or empty")
    id_kind: str = Field(
        "", max_length=10, description="`cccd`, `cmnd`, `passport`; guessed when empty"
    )
    id_number: str = Field("", max_length=32)
    commune_id: int | None = Field(None, description="Id of a commune-level unit (places API)")
    street: str = Field("", max_length=200)


class RegisterIn(PersonFieldsIn):
    phone: str = Field(max_length=32)
    code: str = Field(max_length=12, description="The 6-digit code sent by SMS")
    password: str = Field(max_length=128)
    token_label: str = Field("", max_length=60, description="Names the device, e.g. 'Zalo phone'")


class PersonCreate(PersonFieldsIn):
    """An official records someone who has no login (no smartphone)."""

    phone: str = Field("", max_length=32)


class LoginIn(StrictIn):
    phone: str = Field(max_length=32)
    password: str = Field(max_length=128)
    token_label: str = Field("", max_length=60)


class PasswordResetIn(StrictIn):
    phone: str = Field(max_length=32)
    code: str = Field(max_length=12)
    new_password: str = Field(max_length=128)


class RoleGrantIn(StrictIn):
    phone: str = Field(max_length=32, description="The account that receives the role")
    role: str = Field(max_length=20)
    unit_code: str = Field("", max_length=10, description="GSO code; empty for system_admin")
    scheme: str = Field("", max_length=4, description="Only if the code exists in two maps")


class ClaimCodeIn(StrictIn):
    code: str = Field(max_length=12, description="The 6-digit code sent to the record's phone")


class ClaimUnitIn(StrictIn):
    commune_id: int = Field(description="The commune office where the card will be shown")


class ClaimConfirmIn(StrictIn):
    id_number: str = Field(max_length=32, description="The number read from the card shown")
    note: str = Field("", max_length=300)


class ClaimRejectIn(StrictIn):
    note: str = Field(max_length=300, description="Why; the claimant sees it")


# --- Outputs --------------------------------------------------------------------


class OtpSentOut(Schema):
    ok: bool = True
    expires_in: int = Field(description="Seconds the code stays valid")
    resend_after: int = Field(description="Seconds before another code may be asked for")


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: datetime
    person_id: int


class OkOut(Schema):
    ok: bool = True


class UnitRef(Schema):
    id: int
    code: str
    name: str
    level: int
    full_name: str

    @staticmethod
    def resolve_full_name(obj: AdministrativeUnit) -> str:
        return obj.full_name


class PersonRead(Schema):
    """Someone else, as lists show them: masked name and identifiers."""

    id: int
    name: str
    birth_year: int | None
    sex: str
    masked_id: str
    masked_phone: str
    commune: UnitRef | None

    @staticmethod
    def resolve_name(obj: Person) -> str:
        return mask_name(obj.full_name)


class PersonDetailRead(Schema):
    """Full values: from the audited detail endpoint, or one's own record."""

    id: int
    full_name: str
    birth_date: date | None
    birth_year: int | None
    sex: str
    id_kind: str
    id_number: str | None
    phone: str
    commune: UnitRef | None
    street: str
    created_at: datetime


class RoleBrief(Schema):
    id: int
    role: str
    role_label: str
    unit: UnitRef | None

    @staticmethod
    def resolve_role_label(obj: RoleAssignment) -> str:
        return str(obj.get_role_display())


class MeRead(PersonDetailRead):
    roles: list[RoleBrief]

    @staticmethod
    def resolve_roles(obj: Person) -> list[Any]:
        return list(roles_of(obj.user))


class RoleRead(RoleBrief):
    user_id: int
    user_name: str
    user_phone: str = Field(description="Masked")
    granted_at: datetime

    @staticmethod
    def resolve_user_name(obj: RoleAssignment) -> str:
        return obj.user.person.full_name

    @staticmethod
    def resolve_user_phone(obj: RoleAssignment) -> str:
        return mask_phone(obj.user.phone)


class AuditEventRead(Schema):
    id: int
    at: datetime
    action: str
    action_label: str
    purpose: str
    actor_name: str
    actor_phone: str = Field(description="Masked")
    subject_person_id: int | None
    subject_name: str = Field(description="Masked")
    target: str
    unit: UnitRef | None
    ip_address: str | None
    detail: dict[str, Any]

    @staticmethod
    def resolve_action_label(obj: AuditEvent) -> str:
        return str(obj.get_action_display())

    @staticmethod
    def resolve_actor_name(obj: AuditEvent) -> str:
        return obj.actor.person.full_name if obj.actor else ""

    @staticmethod
    def resolve_actor_phone(obj: AuditEvent) -> str:
        return mask_phone(obj.actor.phone) if obj.actor else ""

    @staticmethod
    def resolve_subject_name(obj: AuditEvent) -> str:
        return mask_name(obj.subject_person.full_name) if obj.subject_person else ""


# --- Claims on existing records ---------------------------------------------------


class MyClaimRead(Schema):
    """The caller's own claim: only what they typed, never the record's
    values (which they have not proven theirs)."""

    id: int
    status: str
    status_label: str
    id_number: str = Field(description="As the caller typed it")
    created_at: datetime
    unit: UnitRef | None
    can_choose_unit: bool = Field(description="Whether the caller may name the commune office")
    decision_note: str

    @staticmethod
    def resolve_status_label(obj: IdentityClaim) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_can_choose_unit(obj: IdentityClaim) -> bool:
        return obj.status == "pending" and obj.record.commune_id is None


class ClaimRead(Schema):
    """A claim in an officer's list: masked."""

    id: int
    created_at: datetime
    claimant_name: str
    claimant_phone: str
    record_id_number: str = Field(description="Masked")
    details_match: bool
    unit: UnitRef | None

    @staticmethod
    def resolve_claimant_name(obj: IdentityClaim) -> str:
        return mask_name(obj.full_name)

    @staticmethod
    def resolve_claimant_phone(obj: IdentityClaim) -> str:
        return mask_phone(obj.user.phone)

    @staticmethod
    def resolve_record_id_number(obj: IdentityClaim) -> str:
        return mask_identifier(obj.id_number)


class ClaimDetailRead(ClaimRead):
    """One claim for the officer checking the card: what the claimant typed
    beside the record's own values (an audited read)."""

    status: str
    claimed_full_name: str
    claimed_birth_date: date | None
    claimed_birth_year: int | None
    record: PersonDetailRead
    record_has_account: bool

    @staticmethod
    def resolve_claimed_full_name(obj: IdentityClaim) -> str:
        return obj.full_name

    @staticmethod
    def resolve_claimed_birth_date(obj: IdentityClaim) -> date | None:
        return obj.birth_date

    @staticmethod
    def resolve_claimed_birth_year(obj: IdentityClaim) -> int | None:
        return obj.birth_year

    @staticmethod
    def resolve_record_has_account(obj: IdentityClaim) -> bool:
        return hasattr(obj.record, "user")


# --- Where one is signed in ---------------------------------------------------------


class SessionRead(Schema):
    id: int
    created_at: datetime
    expires_at: datetime
    user_agent: str
    ip_address: str | None
    current: bool = False


class TokenRead(Schema):
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    current: bool = False


class DevicesRead(Schema):
    sessions: list[SessionRead]
    tokens: list[TokenRead]


class EndedOut(Schema):
    ok: bool = True
    ended: int


def session_read(row: BrowserSession, current_key: str | None) -> dict[str, Any]:
    return {
        "id": row.pk, "created_at": row.created_at, "expires_at": row.expires_at,
        "user_agent": row.user_agent, "ip_address": row.ip_address,
        "current": bool(current_key) and row.session_key == current_key,
    }


def token_read(row: AccessToken, current_hash: str | None) -> dict[str, Any]:
    return {
        "id": row.pk, "label": row.label, "created_at": row.created_at,
        "last_used_at": row.last_used_at, "expires_at": row.expires_at,
        "current": bool(current_hash) and row.key_hash == current_hash,
    }
