"""API input and output for check-ins.

Inputs forbid unknown fields and check only shape; meaning (a forged venue
code, a bad CCCD, a time too old) is checked by the services, so the API and
the pages give the same messages. Times are ISO 8601 with a time zone, for
example ``2021-10-01T08:30:00+07:00``; a time without a zone is refused.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict

from truyvet.accounts.schemas import StrictIn

VENUE_FIELD = Field(
    max_length=500,
    description=(
        "The venue. For a citizen: the scanned venue QR (the URL, `/v/TOKEN` or the "
        "token). For a controller: the venue's QR or its plain code, e.g. `HK7M3QWX`."
    ),
)
ID_FIELD = Field(
    None,
    description=(
        "A UUID the client generates for this scan. Sending the same id again (a retry) "
        "records nothing new and returns the first answer with `duplicate: true`."
    ),
)
SCANNED_AT_FIELD = Field(
    None,
    description=(
        "When the scan happened on the device, with a time zone; default: now. At most "
        "CHECKIN_RETENTION_DAYS old and CHECKIN_MAX_CLOCK_SKEW_SECONDS in the future. A "
        "controller's scan is never older than when they joined the venue and the venue was "
        "approved, and at most CHECKIN_OFFLINE_WINDOW_HOURS old while the venue or the "
        "controller has less than CHECKIN_TRACK_RECORD_DAYS behind them (`checkin_backdated`)."
    ),
)
BIRTH_DATE_FIELD = Field(
    None,
    description=(
        "The visitor's birth date from their document: required with `id_number`, and with "
        "a `person_id` whose record has an account or a document number; it must agree with "
        "the record (`birth_date_required`, `identity_mismatch`)"
    ),
)
SEPARATE_FIELD = Field(
    False,
    description=(
        "Record the visitor apart, in a record of their own without the document number "
        "(unverified), instead of the record that number belongs to"
    ),
)


# --- Inputs ---------------------------------------------------------------------------


class CitizenScanIn(StrictIn):
    venue: str = VENUE_FIELD
    scanned_at: datetime | None = SCANNED_AT_FIELD
    id: uuid.UUID | None = ID_FIELD


class GuestCheckInIn(StrictIn):
    venue: str = VENUE_FIELD
    full_name: str = Field(max_length=200)
    phone: str = Field(max_length=32)
    id_number: str = Field("", max_length=32, description="CCCD, CMND or passport; optional")
    id: uuid.UUID | None = ID_FIELD


class StaffScanIn(StrictIn):
    venue: str = VENUE_FIELD
    payload: str = Field(
        max_length=2000,
        description=(
            "The text read from the visitor's code: a truyvet personal QR (`TV1.…`), the "
            "chip ID card (CCCD) QR or the national personal QR of PC-Covid/VNEID."
        ),
    )
    scanned_at: datetime | None = SCANNED_AT_FIELD
    id: uuid.UUID | None = ID_FIELD


ID_KIND_DESCRIPTION = (
    "The document type of `id_number`: `cccd` (12 digits), `cmnd` (9) or `passport`; "
    "guessed from the number when empty (older clients)")
STREET_DESCRIPTION = "The visitor's address; a phone or an address is required"


class ManualIn(StrictIn):
    venue: str = VENUE_FIELD
    full_name: str = Field("", max_length=200)
    phone: str = Field("", max_length=32)
    id_number: str = Field("", max_length=32)
    id_kind: str = Field("", max_length=8, description=ID_KIND_DESCRIPTION)
    street: str = Field("", max_length=200, description=STREET_DESCRIPTION)
    birth_date: date | None = BIRTH_DATE_FIELD
    separate: bool = SEPARATE_FIELD
    person_id: int | None = Field(
        None, description="A person picked from `people-lookup` instead of typed details"
    )
    scanned_at: datetime | None = SCANNED_AT_FIELD
    id: uuid.UUID | None = ID_FIELD


class BatchItemIn(BaseModel):
    """One queued scan. A plain pydantic model, not a ninja ``Schema``, with
    ``StrictIn``'s rules: ninja wraps every Schema in a Django-aware getter
    that read each field through Python, a quarter of a batch item's CPU;
    pydantic validates these in Rust (decision 0023)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: uuid.UUID = Field(description="The client's UUID for this scan (idempotency key)")
    kind: str = Field(max_length=20, description="`staff_scan`, `manual` or `citizen_scan`")
    venue: str = VENUE_FIELD
    scanned_at: datetime = Field(description="The device time of the scan, with a time zone")
    payload: str = Field("", max_length=2000, description="staff_scan: the scanned text")
    full_name: str = Field("", max_length=200, description="manual")
    phone: str = Field("", max_length=32, description="manual")
    id_number: str = Field("", max_length=32, description="manual")
    id_kind: str = Field("", max_length=8, description="manual: as in `/manual`")
    street: str = Field("", max_length=200, description="manual: as in `/manual`")
    birth_date: date | None = Field(None, description="manual: as in `/manual`")
    separate: bool = Field(False, description="manual: as in `/manual`")
    person_id: int | None = Field(None, description="manual: a person from people-lookup")


class BatchIn(StrictIn):
    items: list[BatchItemIn] = Field(max_length=500)


class CheckoutIn(StrictIn):
    guest_token: str = Field(
        "", max_length=400,
        description="For a guest without an account: the `checkout_token` of the guest check-in",
    )


# --- Outputs -----------------------------------------------------------------------


class VenueBrief(Schema):
    code: str
    name: str
    venue_type: str
    commune: str = Field(description="Commune, district and province")


class CheckInRead(Schema):
    id: uuid.UUID
    venue: VenueBrief
    arrived_at: datetime = Field(description="When the scan happened (device clock)")
    received_at: datetime = Field(description="When the server received it")
    ends_at: datetime = Field(
        description="The departure, or arrival + the venue's dwell time until there is one"
    )
    departure_kind: str = Field(description="`estimated`, `citizen` or `exit_scan`")
    method: str


class CheckInResultOut(Schema):
    ok: bool = True
    outcome: str = Field(
        description="`created` (a new visit), `merged` (a repeat within the merge window) "
        "or `checked_out` (an exit scan ended the visit)"
    )
    duplicate: bool = Field(description="This scan id was seen before; nothing was written")
    checkin: CheckInRead


class GuestResultOut(CheckInResultOut):
    checkout_token: str = Field(
        description="Send it to POST /checkins/{id}/checkout to end the visit without an account"
    )


class ScanDisplayOut(Schema):
    name: str = Field(description="Abbreviated, e.g. `N. T. Hoa`")
    birth_year: int | None
    card_colour: str | None = Field(
        description="`green`, `yellow`, `red`, or null while there is no vaccination data"
    )
    method: str
    method_label: str
    outcome: str
    outcome_label: str
    lines: list[str] = Field(
        default_factory=list,
        description="Further lines for the door screen (a declaration QR at a checkpoint: "
                    "plate, residence, route, symptoms, the origin's epidemic level)",
    )


class StaffScanOut(Schema):
    ok: bool = True
    kind: str = Field(
        "checkin",
        description="What was recorded: `checkin`, or `checkpoint_pass` for a declaration "
                    "QR scanned at a checkpoint (`checkin_id` is then the pass's id)",
    )
    outcome: str
    duplicate: bool
    checkin_id: uuid.UUID
    arrived_at: datetime
    ends_at: datetime
    display: ScanDisplayOut


class PersonLookupOut(Schema):
    id: int
    name: str = Field(description="Abbreviated")
    birth_year: int | None
    masked_phone: str
    masked_id: str


class FieldErrorOut(Schema):
    field: str
    message: str
    code: str


class BatchItemOut(Schema):
    id: uuid.UUID
    ok: bool
    outcome: str = ""
    duplicate: bool = False
    checkin_id: uuid.UUID | None = None
    display: ScanDisplayOut | None = None
    code: str = Field("", description="Why the item was rejected, e.g. `checkin_too_old`, "
                      "`checkin_in_future`, `qr_revoked`, `qr_forged`, `cccd_malformed`")
    error: str = Field("", description="The reason in the user's language")
    errors: list[FieldErrorOut] = []


class BatchOut(Schema):
    ok: bool = True
    accepted: int
    rejected: int
    results: list[BatchItemOut]


class HistoryItemOut(Schema):
    id: uuid.UUID
    venue: VenueBrief
    arrived_at: datetime
    ends_at: datetime
    departure_kind: str
    method: str
    epidemic_level: int | None = Field(
        description="The commune's epidemic level (1-4) at the time; null until levels exist"
    )


class GuestVisitsOut(Schema):
    count: int
    items: list[HistoryItemOut] = Field(
        description="Visits recorded without an account under your phone and name, newest "
        "first (at most 50 listed)"
    )


class AdoptedOut(Schema):
    ok: bool = True
    moved: int


class DecodedOut(Schema):
    text: str
    format: str
    kind: str = Field(description="`personal_qr`, `cccd`, `national_qr`, `venue` or `unknown`")


class DecodeOut(Schema):
    ok: bool = True
    found: bool
    results: list[DecodedOut]


class PersonalQrOut(Schema):
    token: str = Field(description="Encode this text in the QR; it carries no personal data")
    length: int
    qr_version: int = Field(description="QR version at error correction level M")
    card_colour: str | None
    card_reason: str = Field("", description="Why the card has its colour")
    card_change: str = Field("", description="When the colour will change, in words")
    offline_token: str = Field(
        "", description="The token with a signed colour claim (≤ 24 h) for offline "
        "controllers: show this one on screen, never print it")
    key_id: str


class PublicKeyOut(Schema):
    alg: str = "Ed25519"
    key_id: str = Field(description="First 8 bytes of SHA-256 of the raw public key, hex")
    public_key: str = Field(description="The raw 32-byte public key, base64")
    token_format: str = "TV1.<ref>.<version>.<signature>"  # noqa: S105 - a format, not a secret
    signed_part: str = Field(
        "TV1.<ref>.<version>",
        description="The ASCII text the signature covers; ref and signature are base32 "
        "(RFC 4648, upper case, no padding)",
    )
    claim_format: str = ".<G|Y|R><expires, Unix seconds, 10 digits>.<signature>"
    claim_signed_part: str = Field(
        "TV1C.<ref>.<version>.<G|Y|R><expires>",
        description="What a colour claim's signature covers (same key); a claim "
        "appended to the token is valid until it expires, at most 24 h")


# --- A venue's visitors (mounted under /api/v1/venues/) ---------------------------------


class LogRange(Schema):
    since: date | None = None
    until: date | None = None
    limit: int = 100
    offset: int = 0


class VisitorRead(Schema):
    arrived_at: datetime
    ends_at: datetime
    name: str = Field(description="Masked")
    phone: str = Field(description="Masked")
    method: str
    method_label: str


class VisitorLogOut(Schema):
    since: date
    until: date
    total: int
    items: list[VisitorRead]


class DayCountRead(Schema):
    day: date
    visits: int
