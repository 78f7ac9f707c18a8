"""API input and output for declarations and checkpoints.

Inputs forbid unknown fields and check only shape; meaning (an unknown
commune, a malformed plate, a departure date in the far past) is checked by
the services, so the API and the pages give the same messages. Communes are
given by their code (``01792``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from ninja import Field, Schema

from truyvet.accounts.schemas import StrictIn

COMMUNE = "A commune's code, e.g. `01792` (Thị trấn Thanh Nhật)"


class DeclarationIn(StrictIn):
    kind: str = Field(max_length=10, description="`health` (khai báo toàn dân) or `movement` "
                                                 "(khai di chuyển nội địa)")
    on_behalf: bool = Field(False, description="Declaring for someone else (khai hộ): the "
                                               "caller is recorded as the declarant")
    full_name: str = Field(max_length=200)
    id_number: str = Field("", max_length=32, description="CCCD/CMND (digits), or a "
                                                          "passport number for a foreigner")
    birth_year: int | None = None
    sex: str = Field(max_length=6, description="`male`, `female` or `other`")
    nationality: str = Field("VN", max_length=2, description="ISO 3166 alpha-2")
    commune: str = Field(max_length=200, description=COMMUNE + " of the contact address")
    street: str = Field(max_length=300)
    phone: str = Field(max_length=32)
    email: str = Field("", max_length=254)
    travelled: bool = False
    travel_places: str = Field("", max_length=300)
    symptoms: bool = False
    symptoms_text: str = Field("", max_length=300)
    contact_case: bool = False
    contact_abroad: bool = False
    contact_symptoms: bool = False
    bhyt_number: str = Field("", max_length=20)
    consent: bool = False
    vehicle: str = Field("", max_length=8, description="movement: `plane`, `train`, `coach`, "
                                                       "`boat` or `private`")
    flight_number: str = Field("", max_length=10)
    origin: str = Field("", max_length=200, description="movement: " + COMMUNE)
    origin_point: str = Field("", max_length=200)
    destination: str = Field("", max_length=200, description="movement: " + COMMUNE)
    destination_point: str = Field("", max_length=200)
    plate: str = Field("", max_length=20, description="movement: e.g. `11A-123.45`")
    seat: str = Field("", max_length=10)
    departure_date: date | None = None


class UnitBrief(Schema):
    code: str
    name: str


class DeclarationOut(Schema):
    series: uuid.UUID
    version: int
    kind: str
    on_behalf: bool
    full_name: str
    birth_year: int
    commune: UnitBrief
    vehicle: str
    origin: UnitBrief | None
    destination: UnitBrief | None
    plate: str
    departure_date: date | None
    symptoms: bool
    follow_up: bool
    created_at: datetime
    qr: str = Field(description="The declaration QR's text (`TVD1.…`), for its declarant")
    qr_expires_at: datetime
    qr_revoked: bool


class DeclarationDetailOut(DeclarationOut):
    versions: list[int] = Field(description="Every version kept, newest first")


class CheckpointScanIn(StrictIn):
    venue: str = Field(max_length=500, description="The checkpoint's code")
    payload: str = Field(max_length=2000, description="The scanned declaration QR")
    direction: str = Field("", max_length=3, description="`in`, `out`, or empty to take "
                                                         "it from the route")
    id: uuid.UUID | None = Field(None, description="The client's id of the scan (idempotency)")
    scanned_at: datetime | None = None


class CheckpointPaperIn(DeclarationIn):
    venue: str = Field(max_length=500, description="The checkpoint's code")
    direction: str = Field("", max_length=3)
    kind: str = Field("movement", max_length=10)


class PassOut(Schema):
    id: uuid.UUID
    duplicate: bool
    direction: str
    passed_at: datetime
    plate: str
    name: str = Field(description="Masked")
    birth_year: int
    lines: list[str] = Field(description="What the checkpoint screen shows")
    card_colour: str | None


class FollowUpIn(StrictIn):
    note: str = Field("", max_length=500)


class FollowUpRow(Schema):
    id: int
    name: str = Field(description="Masked")
    birth_year: int
    commune: str
    phone: str = Field(description="Masked")
    symptoms: bool
    symptoms_text: str
    contact: bool
    created_at: datetime
    done_at: datetime | None
    note: str


class FollowUpOut(Schema):
    open: int
    done: int
    rows: list[FollowUpRow]


class MovementPassRow(Schema):
    id: uuid.UUID
    passed_at: datetime
    direction: str
    checkpoint: str
    name: str = Field(description="Masked")
    plate: str
    origin: str
    destination: str
    origin_level: int | None
    destination_level: int | None


class MovementDay(Schema):
    day: date
    arrivals: int
    departures: int
    watched: int


class MovementsOut(Schema):
    days: list[MovementDay]
    passes: list[MovementPassRow]
    declared: int
