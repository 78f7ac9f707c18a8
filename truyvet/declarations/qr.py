"""The declaration QR: a short signed token for a declaration, valid for
``DECLARATION_QR_VALID_HOURS`` (72 by default, as VNEID's was).

    TVD1.<ref>.<expires>.<kid>.<tag>

- ``ref`` is the declaration series' opaque random reference (12 base32
  characters): the token names no one, so a photo of it leaks no name, ID
  number or phone (as the personal QR, ``checkins.personal_qr``);
- ``expires`` is when it stops being valid, in Unix seconds, signed with the
  rest, so a device can tell an expired code offline;
- ``kid`` and ``tag`` are ``core.signing``'s key id and HMAC tag (purpose
  ``declaration-qr``; base32), so a key is rotated like the posters'.

Every character is an upper-case letter, a digit or ".", which fits the QR
alphanumeric mode (46 characters: version 3 at level M, 29 modules, roomy on
a 5 x 5 cm card).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from truyvet.core import signing
from truyvet.core.errors import ServiceError

PREFIX = "TVD1"
PURPOSE = "declaration-qr"
REF_LENGTH = 12
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TOKEN = re.compile(r"TVD1\.([A-Z2-7]{12})\.([0-9]{9,11})\.([0-9A-Z]{1,2})\.([A-Z2-7]{16})")


class DeclarationQrError(ServiceError):
    """A declaration QR that cannot be used. ``code``: ``declaration_qr_malformed``,
    ``declaration_qr_forged``, ``declaration_qr_expired``, ``declaration_qr_revoked``."""


def looks_like_declaration_qr(text: str) -> bool:
    """Whether ``text`` is meant as a declaration QR (by its prefix)."""
    return (text or "").strip().upper().startswith(PREFIX + ".")


def new_ref() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(REF_LENGTH))


def valid_for() -> timedelta:
    return timedelta(hours=settings.DECLARATION_QR_VALID_HOURS)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def qr_token(*, ref: str, expires: datetime) -> str:
    """The token for the series ``ref``, valid until ``expires``."""
    signed = f"{PREFIX}.{ref}.{int(expires.timestamp())}"
    kid, tag = signing.sign(signed.encode("ascii"), purpose=PURPOSE)
    return f"{signed}.{kid.upper()}.{_b32(tag)}"


@dataclass(frozen=True)
class ParsedQr:
    ref: str
    expires: datetime


def qr_check(token: str, *, now: datetime) -> ParsedQr:
    """Format, signature and expiry, without the database (what a device
    can tell by itself). Raises DeclarationQrError."""
    text = (token or "").strip().upper()
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise DeclarationQrError(_("Mã QR tờ khai không đúng định dạng."),
                                 code="declaration_qr_malformed")
    ref, expires_s, kid, tag_text = match.groups()
    signed = f"{PREFIX}.{ref}.{expires_s}"
    try:
        tag = base64.b32decode(tag_text + "=" * (-len(tag_text) % 8))
    except ValueError:
        tag = b""
    if len(tag) != signing.TAG_BYTES or _b32(tag) != tag_text or not signing.verify(
        signed.encode("ascii"), kid=kid, tag=tag, purpose=PURPOSE
    ):
        raise DeclarationQrError(
            _("Mã QR tờ khai không hợp lệ: chữ ký không đúng (mã giả hoặc đã bị sửa)."),
            code="declaration_qr_forged",
        )
    expires = datetime.fromtimestamp(int(expires_s), tz=UTC)
    if now > expires:
        raise DeclarationQrError(
            _("Mã QR tờ khai đã hết hạn. Người khai cần cập nhật tờ khai để có mã mới."),
            code="declaration_qr_expired", status=409,
        )
    return ParsedQr(ref=ref, expires=expires)
