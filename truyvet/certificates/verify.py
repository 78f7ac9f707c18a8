"""One entry point for any credential: tells an EU DCC from a SMART Health
Card, and turns what people bring (pasted text, files, QR images, chunked
``shc:/i/n/…`` sets) into credentials to verify. Used by the page, the API
and the CLI alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from truyvet.certificates import dcc, shc
from truyvet.certificates.result import (
    DCC,
    SHC,
    Verification,
    VerificationFailed,
    undecodable,
)
from truyvet.certificates.trust import TrustStore
from truyvet.core.qrimage import QrImageError, qr_texts_in_image

# The longest credential any input may hold (a .smart-health-card file's JWS
# of a large lab report is the longest real case, a few tens of KB).
MAX_CREDENTIAL_CHARS = shc.MAX_TEXT_CHARS
# What one pasted text or file may hold in all (many credentials, one a line).
MAX_INPUT_BYTES = 16 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def kind_guess(text: str) -> str:
    """The kind an unreadable input most resembles, so that every result has
    the shape of one of the two (``kind`` is "dcc" or "shc"): a SMART Health
    Card for what starts like one or looks like a JWS or JSON, else an EU DCC."""
    head = text.lstrip()[:5].lower()
    return SHC if head.startswith(("shc", "{", "ey")) or text.count(".") == 2 else DCC


def credential_kind(text: str) -> str | None:
    if text[:2] == "HC" and text[3:4] == ":":
        return DCC
    if shc.is_shc_text(text):
        return SHC
    return None


def credential_verify(
    text: str, *, trust: TrustStore, at: datetime, check_signature: bool = True
) -> Verification:
    """Verifies one credential given as text; never raises for bad input."""
    text = text.strip()
    if not text:
        return undecodable("input_empty")
    if len(text) > MAX_CREDENTIAL_CHARS:
        return undecodable("input_too_long", kind=kind_guess(text[:100]))
    kind = credential_kind(text)
    try:
        if kind == DCC:
            return dcc.dcc_verify(text, trust=trust, at=at, check_signature=check_signature)
        if kind == SHC:
            return shc.shc_verify(text, trust=trust, at=at, check_signature=check_signature)
    except VerificationFailed as error:  # a stage helper used outside its stage
        return undecodable(error.problem.code, error.problem.detail, kind=kind or DCC)
    return undecodable("input_unknown", kind=kind_guess(text))


# --- Inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """One credential to verify: its text, or the error that kept it from being read."""

    label: str
    text: str = ""
    error: str = ""
    detail: str = ""

    def verify(self, *, trust: TrustStore, at: datetime, check_signature: bool = True
               ) -> Verification:
        if self.error:
            kind = SHC if self.error == "shc_chunks" or self.label.endswith(
                ".smart-health-card") else DCC
            return undecodable(self.error, self.detail, kind=kind)
        return credential_verify(self.text, trust=trust, at=at, check_signature=check_signature)


def _credentials_in_json(data: object) -> list[str] | None:
    """A ``.smart-health-card`` file (``{"verifiableCredential": [...]}``), a
    JSON array of credential strings, one JSON string, or a dgc-testdata
    file (its ``PREFIX``)."""
    if isinstance(data, Mapping) and isinstance(data.get("verifiableCredential"), list):
        return [str(item) for item in data["verifiableCredential"]]
    if isinstance(data, Mapping) and isinstance(data.get("PREFIX"), str):
        return [data["PREFIX"]]
    if isinstance(data, list) and data and all(isinstance(item, str) for item in data):
        return list(data)
    if isinstance(data, str):
        return [data]
    return None


def credentials_in_bytes(data: bytes, label: str) -> list[Credential]:
    """The credentials in a file's or an upload's bytes: a PNG or JPEG QR
    image, a ``.smart-health-card`` JSON file, or text with one per line."""
    if len(data) > MAX_INPUT_BYTES:
        return [Credential(label, error="input_too_long")]
    if data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC):
        try:
            texts = qr_texts_in_image(data)
        except QrImageError as exc:
            return [Credential(label, error="input_unreadable", detail=str(exc))]
        if not texts:
            return [Credential(label, error="image_no_qr")]
        return [Credential(label, text=text) for text in texts]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [Credential(label, error="input_unreadable", detail="not UTF-8 text")]
    if text.lstrip()[:1] in ("{", "[", '"'):
        try:
            found = _credentials_in_json(json.loads(text))
        except (ValueError, RecursionError):
            found = None
        if found is not None:
            if len(found) == 1:
                return [Credential(label, text=found[0])]
            return [Credential(f"{label}#{i + 1}", text=item) for i, item in enumerate(found)]
    return credentials_in_text(text, label)


def credentials_in_text(text: str, label: str) -> list[Credential]:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return [Credential(label, error="input_empty")]
    if len(lines) == 1:
        return [Credential(label, text=lines[0])]
    return [Credential(f"{label}:{number}", text=line) for number, line in enumerate(lines, 1)]


def chunks_grouped(credentials: Iterable[Credential]) -> Iterator[Credential]:
    """Joins ``shc:/i/n/…`` chunks into one card each (chunks of a set may be
    spread over several lines, files or images, in any order; a new set
    starts once the current one is complete). A set left incomplete is an
    error of its own. Other credentials pass through in order."""
    pending: list[tuple[Credential, shc.Chunk]] = []

    def flush() -> Iterator[Credential]:
        if not pending:
            return
        first = pending[0][0]
        try:
            jws = shc.chunks_join(chunk for _credential, chunk in pending)
            yield Credential(first.label, text=jws)
        except VerificationFailed as error:
            yield Credential(first.label, error=error.problem.code, detail=error.problem.detail)
        pending.clear()

    for credential in credentials:
        chunk = None
        if credential.text.startswith(shc.PREFIX) and credential.text.count("/") >= 3:
            try:
                chunk = shc.chunk_parse(credential.text)
            except VerificationFailed as error:
                yield Credential(credential.label, error=error.problem.code,
                                 detail=error.problem.detail)
                continue
        if chunk is None or chunk.total == 1:
            yield credential
            continue
        if pending and (pending[0][1].total != chunk.total or any(
                c.index == chunk.index for _cred, c in pending)):
            yield from flush()
        pending.append((credential, chunk))
        if len(pending) == chunk.total:
            yield from flush()
    yield from flush()
