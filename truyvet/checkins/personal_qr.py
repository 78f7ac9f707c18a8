"""The personal QR: a short signed token that stands for a person.

    TV1.<ref>.<version>.<signature>

- ``ref`` is an opaque random reference (12 base32 characters, 60 bits) kept
  in ``checkins.PersonalQrKey``; it says nothing about the person, so a
  leaked screenshot leaks no ID number, birth date or phone number (the
  PC-Covid QR leaked all three, context/vietnam.md §5).
- ``version`` is bumped by a rotation, which revokes every earlier token,
  printed cards included.
- ``signature`` is Ed25519 over ``TV1.<ref>.<version>`` (base32, no padding).
  A controller's device verifies it offline with the public key from
  ``GET /api/v1/checkins/personal-qr/public-key``; whether the version is
  still current (not rotated or revoked) needs the server.

On screen (never on the printed card) the token may carry a signed claim
of the COVID card colour, so that a controller's device that is offline
still shows it (issue 16)::

    TV1.<ref>.<version>.<signature>.<C><expires>.<claim signature>

``C`` is G, Y or R; ``expires`` is a Unix time in seconds, at most 24 hours
after the token was made; the claim signature is Ed25519 by the same key
over ``TV1C.<ref>.<version>.<C><expires>``, so a claim cannot be moved to
another person's QR. The claim says nothing else about the person. A token
without a claim is exactly the original format, and the claim is ignored
wherever only the person matters (``personal_qr_verify``).

Every character is upper-case base32, a digit or ".", so the whole token
fits the QR alphanumeric mode: 122 characters, which is exactly the capacity
of QR version 5 at error correction level M (37 × 37 modules, about 1 mm per
module on the 5 × 5 cm card) while the version number has one digit
(``personal_qr_measure`` reports the numbers). 60 random bits keep the
reference unique in practice (a rare collision is retried); forging is
stopped by the signature, not by the reference being hard to guess.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person
from truyvet.checkins import hooks
from truyvet.checkins.hooks import CardStatus
from truyvet.checkins.models import PersonalQrKey
from truyvet.core.errors import ServiceError

PREFIX = "TV1"
REF_LENGTH = 12
BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TOKEN = re.compile(r"TV1\.([A-Z2-7]{12})\.([1-9][0-9]{0,4})\.([A-Z2-7]{103})"
                    r"(?:\.([GYR])([0-9]{10})\.([A-Z2-7]{103}))?")
CLAIM_COLOURS = {"G": "green", "Y": "yellow", "R": "red"}
CLAIM_LETTERS = {colour: letter for letter, colour in CLAIM_COLOURS.items()}
CLAIM_MAX_SECONDS = 24 * 3600
KEY_FILE_NAME = "personal_qr_ed25519.key"


class PersonalQrError(ServiceError):
    """A personal QR that cannot stand for anyone. ``code`` tells why:
    ``personal_qr_malformed``, ``personal_qr_forged``, ``personal_qr_revoked``."""


# --- Keys ------------------------------------------------------------------------


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _key_file() -> Path:
    return Path(settings.VAR_DIR) / KEY_FILE_NAME


def _generated_key_b64() -> str:
    """A key made once per installation and kept under VAR_DIR (development
    and single-machine set-ups); production sets PERSONAL_QR_PRIVATE_KEY."""
    path = _key_file()
    if not path.exists():
        raw = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        try:
            # O_EXCL: of two processes starting at once only one writes the key.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(raw)
    return path.read_text().strip()


@lru_cache(maxsize=4)
def _private_key_from(encoded: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            "PERSONAL_QR_PRIVATE_KEY must be base64 of exactly 32 raw bytes."
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def _private_key() -> Ed25519PrivateKey:
    encoded = settings.PERSONAL_QR_PRIVATE_KEY or _generated_key_b64()
    return _private_key_from(encoded)


def _public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def personal_qr_public_key_b64() -> str:
    """The raw 32-byte Ed25519 public key, base64: what a controller's
    device needs to verify personal QRs offline."""
    raw = _public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def personal_qr_key_id() -> str:
    """First 8 bytes of the SHA-256 of the public key, hex: lets a device
    notice that the server's key changed."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(_public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    return digest.finalize()[:8].hex()


# --- Tokens ----------------------------------------------------------------------


def _signed_part(ref: str, version: int) -> str:
    return f"{PREFIX}.{ref}.{version}"


def _new_ref() -> str:
    return "".join(secrets.choice(BASE32_ALPHABET) for _ in range(REF_LENGTH))


def _key_for(person: Person) -> PersonalQrKey:
    """The person's key, created on first use."""
    key = PersonalQrKey.objects.filter(person=person).first()
    if key is not None:
        return key
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return PersonalQrKey.objects.create(person=person, ref=_new_ref())
        except IntegrityError:
            # Another request created this person's key first (or, rarely,
            # the random ref was taken): use theirs or try again.
            key = PersonalQrKey.objects.filter(person=person).first()
            if key is not None:
                return key
    raise RuntimeError("could not create a personal QR key")


def personal_qr_token(person: Person) -> str:
    """The current token for ``person``. A revoked QR gets a fresh version
    here only through ``personal_qr_rotate``."""
    key = _key_for(person)
    signed = _signed_part(key.ref, key.version)
    signature = _private_key().sign(signed.encode("ascii"))
    return f"{signed}.{_b32(signature)}"


# Verified tokens, by their exact text (and the key): an Ed25519 check costs
# 60-200 µs here, and a door sees the same regulars' cards day after day; a
# token seen before costs one dictionary look-up, not its parsing and base32
# decoding either (decision 0023). Bounded (least recently used first out),
# about 500 bytes an entry; only good tokens are kept (a failed check raises,
# and lru_cache keeps no exception). Revocation and rotation are checked
# against the database on every scan (``personal_qr_verify``), never here; a
# colour claim's expiry is checked when it is read (``current_claim``).
SIGNATURE_CACHE_SIZE = 131_072


def personal_qr_signature_cache_info() -> tuple[int, int, int]:
    """(hits, misses, entries) of the verified-token cache of this process."""
    info = _signature_verified.cache_info()
    return info.hits, info.misses, info.currsize


@dataclass(frozen=True)
class ColourClaim:
    colour: str  # "green" | "yellow" | "red"
    expires_at: datetime


@dataclass(frozen=True)
class ParsedToken:
    ref: str
    version: int
    # A colour claim whose signature is right (expired or not: see ``current_claim``).
    claim: ColourClaim | None = None


def _claim_signed_part(ref: str, version: int, letter: str, expires: int) -> str:
    return f"TV1C.{ref}.{version}.{letter}{expires}"


def personal_qr_token_with_claim(person: Person, *, colour: str, valid_until: datetime,
                                 now: datetime | None = None) -> str:
    """The current token with a signed claim of ``colour`` appended, valid
    until ``valid_until`` but never more than 24 hours from now."""
    now = now or timezone.now()
    token = personal_qr_token(person)
    key = _key_for(person)
    expires = int(min(valid_until, now + timedelta(seconds=CLAIM_MAX_SECONDS)).timestamp())
    letter = CLAIM_LETTERS[colour]
    signed = _claim_signed_part(key.ref, key.version, letter, expires)
    return f"{token}.{letter}{expires}.{_b32(_private_key().sign(signed.encode('ascii')))}"


def current_claim(parsed: ParsedToken, now: datetime | None = None) -> ColourClaim | None:
    """The token's colour claim if it has one and it has not expired."""
    now = now or timezone.now()
    if parsed.claim is None or parsed.claim.expires_at <= now:
        return None
    return parsed.claim


def personal_qr_check_signature(token: str) -> ParsedToken:
    """Format and signature only, without the database: what an offline
    device can do. Raises PersonalQrError (malformed or forged)."""
    return _signature_verified(settings.PERSONAL_QR_PRIVATE_KEY or _generated_key_b64(),
                               (token or "").strip())


@lru_cache(maxsize=SIGNATURE_CACHE_SIZE)
def _signature_verified(key: str, text: str) -> ParsedToken:
    """``personal_qr_check_signature`` of ``text`` under the key ``key``
    names (the configured private key, base64)."""
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise PersonalQrError(
            _("Mã QR cá nhân không đúng định dạng."), code="personal_qr_malformed"
        )
    ref, version, signature = match.group(1), int(match.group(2)), match.group(3)
    claim = None
    public_key = _private_key_from(key).public_key()
    try:
        _verify(public_key, signature, _signed_part(ref, version))
        if match.group(4):
            letter, expires = match.group(4), int(match.group(5))
            _verify(public_key, match.group(6),
                    _claim_signed_part(ref, version, letter, expires))
            claim = ColourClaim(colour=CLAIM_COLOURS[letter],
                                expires_at=datetime.fromtimestamp(expires, tz=UTC))
    except (InvalidSignature, ValueError):
        raise PersonalQrError(
            _("Mã QR cá nhân không hợp lệ: chữ ký không đúng (mã giả hoặc đã bị sửa)."),
            code="personal_qr_forged",
        ) from None
    return ParsedToken(ref=ref, version=version, claim=claim)


def _verify(public_key: Ed25519PublicKey, signature: str, signed: str) -> None:
    raw_signature = _unb32(signature)
    # Base32 of 64 bytes leaves 3 unused bits in the last character:
    # only the canonical spelling is accepted, so no altered token passes.
    if _b32(raw_signature) != signature:
        raise ValueError("non-canonical base32")
    public_key.verify(raw_signature, signed.encode("ascii"))


def personal_qr_verify(token: str) -> Person:
    """The person a token stands for.

    Raises PersonalQrError with code ``personal_qr_malformed`` (not a
    personal QR), ``personal_qr_forged`` (bad signature, or signed by us for
    a reference that no longer exists) or ``personal_qr_revoked`` (rotated to
    a newer version, or revoked).
    """
    parsed = personal_qr_check_signature(token)
    key = (
        PersonalQrKey.objects.select_related("person").filter(ref=parsed.ref).first()
    )
    if key is None:
        raise PersonalQrError(
            _("Mã QR cá nhân không hợp lệ: không có trong hệ thống."),
            code="personal_qr_forged",
        )
    if key.revoked_at is not None or key.version != parsed.version:
        raise PersonalQrError(
            _("Mã QR cá nhân này đã bị thu hồi hoặc đã được đổi mã mới. "
              "Hãy mở mã QR mới nhất."),
            code="personal_qr_revoked", status=409,
        )
    return key.person


def personal_qr_rotate(person: Person) -> str:
    """Issues a new version (and lifts a revocation); every earlier token,
    screenshots and printed cards included, stops working. Returns the new
    token."""
    key = _key_for(person)
    with transaction.atomic():
        PersonalQrKey.objects.filter(pk=key.pk).update(
            version=F("version") + 1, rotated_at=timezone.now(), revoked_at=None
        )
    return personal_qr_token(person)


def personal_qr_revoke(person: Person) -> None:
    """Stops every token of the person (a lost card) until the next rotation."""
    key = _key_for(person)
    PersonalQrKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


@dataclass(frozen=True)
class QrMeasure:
    length: int  # characters in the token
    qr_version: int  # 1-40
    error: str  # error correction level
    mode: str  # QR encoding mode segno chose
    modules: int  # modules per side, without the quiet zone


def personal_qr_measure(token: str, *, error: str = "m") -> QrMeasure:
    """Length of ``token`` and the QR it makes: what the card and the report cite."""
    code = segno.make(token, error=error, micro=False)
    return QrMeasure(
        length=len(token),
        qr_version=int(code.version),
        error=code.error or error.upper(),
        mode=code.mode or "",
        modules=int(code.symbol_size(border=0)[0]),
    )


# --- The COVID card colour ----------------------------------------------------------


def card_statuses_for(people: list[Person], at: datetime | None = None
                      ) -> dict[int, CardStatus]:
    """The card colours of ``people`` by person id, as the apps above
    computed them (the ``card_status`` hook; certificates answers)."""
    found: dict[int, CardStatus] = {}
    distinct = list({person.pk: person for person in people}.values())
    if distinct:
        hooks.card_status(people=distinct, at=at or timezone.now(), found=found)
    return found


def card_status_for(person: Person, at: datetime | None = None) -> CardStatus | None:
    """The person's card colour; None when no app gave one, shown as grey
    "no vaccination data"."""
    return card_statuses_for([person], at).get(person.pk)


def card_colour_for(person: Person) -> str | None:
    """"green", "yellow" or "red" (BRIEF §3 G), None without data."""
    status = card_status_for(person)
    return status.colour if status else None
