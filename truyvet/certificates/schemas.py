"""API input and output for certificate verification. The result shape is
the CLI's ``--json`` shape (result.Verification.as_json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class VerifyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        max_length=200_000,
        description=(
            "One credential per line: `HC1:…` (EU DCC), `shc:/…` (SMART Health Card; the "
            "parts of a chunked `shc:/i/n/…` set on separate lines), or a compact JWS."
        ),
    )
    at: datetime | None = Field(
        None, description="The validation clock, ISO 8601 with a time zone; default: now."
    )


class ProblemOut(Schema):
    code: str
    message: str


class VerificationOut(Schema):
    input: str
    kind: str = Field(
        description="`dcc` or `shc` (for an input that could not be read: the one it resembles)"
    )
    valid: bool
    stages: dict[str, bool | None] = Field(
        description="Each stage: true passed, false failed, null not applicable or not reached"
    )
    errors: list[ProblemOut]
    holder: dict[str, str] | None = Field(
        description="name, family_name, given_name, date_of_birth: to check against an ID"
    )
    summary: dict[str, Any] | None


class VerifyOut(Schema):
    ok: bool
    valid: bool = Field(description="true when every credential is valid")
    results: list[VerificationOut]


class DecodedOut(Schema):
    text: str
    kind: str | None


class DecodeOut(Schema):
    ok: bool
    found: bool
    results: list[DecodedOut]
