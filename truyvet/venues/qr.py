"""Venue QR codes: short public codes and signed check-in URLs.

A poster's QR encodes ``{PUBLIC_BASE_URL}/v/{CODE}.{VERSION}.{KID}{SIGNATURE}``,
for example ``https://truyvet.caobang.gov.vn/v/HK7M3QWX.1.DMFRGGZDFMZTWQ2LK``:

- ``CODE`` is the venue's public code (``venue_code_generate``);
- ``VERSION`` is ``Venue.qr_version``; bumping it revokes every poster printed
  before, for example after a poster was defaced or copied to another place;
- ``KID`` is the 1-2 character id of the signing key (core.signing);
- ``SIGNATURE`` is the 10-byte HMAC tag over ``CODE.VERSION`` in base32,
  exactly 16 characters.

The token after ``/v/`` uses upper-case letters, digits and ``.`` only (QR
alphanumeric characters) and is read back case-insensitively. With a 30-character
base URL the whole URL is 61 bytes: a version 4 symbol (33 × 33 modules) at
level M, so each module is 4.6 mm on a 15.2 cm poster QR.
The check-in page is routed at ``v/<str:token>`` (venues/urls.py or
checkins/urls.py) and passes the token or the whole URL to
``venue_qr_resolve``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.db import connections, router
from django.utils.translation import gettext_lazy as _

from truyvet.core import signing
from truyvet.core.errors import NotFound, ServiceError
from truyvet.core.rawrows import columns_of, instances_from_row
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import Venue

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud over the phone or typed from
# a poster cannot be mistaken for another one.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 8  # 25^8 ≈ 1.5e11 codes: collisions stay rare with millions of venues
QR_PATH = "/v/"
SIGNING_PURPOSE = "venues.qr"
QR_ERROR_LEVEL = "m"

# Lenient on purpose: a code or signature with any letter or digit changed must
# parse and then fail the signature check ("forged"), not be called malformed.
_TOKEN = re.compile(
    r"(?P<code>[0-9A-Z]{4,12})\.(?P<version>[1-9][0-9]{0,8})\."
    r"(?P<kid>[0-9A-Z]{1,2})(?P<signature>[0-9A-Z]{16})"
)


@dataclass(frozen=True)
class ParsedVenueQr:
    code: str
    version: int
    kid: str
    signature: str  # base32 text as printed; decoded when verified


def venue_code_generate() -> str:
    """A fresh random public code. The caller makes sure it is unused
    (``Venue.code`` is unique, so a rare collision fails loudly on save)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _position in range(CODE_LENGTH))


def _signed_message(code: str, version: int) -> bytes:
    return f"{code}.{version}".encode("ascii")


def _b32(tag: bytes) -> str:
    return base64.b32encode(tag).decode("ascii").rstrip("=")


def venue_qr_token(venue: Venue) -> str:
    """The part of the URL after ``/v/``: ``CODE.VERSION.KIDSIGNATURE``."""
    code = venue.code.upper()
    kid, tag = signing.sign(_signed_message(code, venue.qr_version), purpose=SIGNING_PURPOSE)
    return f"{code}.{venue.qr_version}.{kid.upper()}{_b32(tag)}"


def venue_qr_payload(venue: Venue) -> str:
    """The https URL a phone camera opens when it scans the venue's poster."""
    return f"{settings.PUBLIC_BASE_URL}{QR_PATH}{venue_qr_token(venue)}"


def venue_qr_parse(payload: str) -> ParsedVenueQr:
    """Reads a scanned payload: the full URL with any host, the path
    (``/v/TOKEN``) or the bare token, in any letter case, with or without a
    trailing slash. Raises ``ServiceError(code="qr_malformed")`` otherwise.
    Nothing is verified here."""
    text = (payload or "").strip()
    if len(text) > 500:  # no real poster is this long; don't regex a novel
        raise _malformed()
    if "://" in text:
        try:
            text = urlsplit(text).path
        except ValueError as error:
            raise _malformed() from error
    parts = [part for part in text.split("/") if part]
    # "TOKEN" alone, or a path ending in ".../v/TOKEN".
    if not parts or (len(parts) > 1 and parts[-2].lower() != QR_PATH.strip("/")):
        raise _malformed()
    found = _TOKEN.fullmatch(parts[-1].upper())
    if found is None:
        raise _malformed()
    return ParsedVenueQr(
        code=found["code"],
        version=int(found["version"]),
        kid=found["kid"],
        signature=found["signature"],
    )


def venue_qr_verify(parsed: ParsedVenueQr) -> bool:
    """True when the signature matches the code and version under a key
    that is still configured."""
    try:
        tag = base64.b32decode(parsed.signature + "=" * (-len(parsed.signature) % 8))
    except (binascii.Error, ValueError):
        return False
    return signing.verify(
        _signed_message(parsed.code, parsed.version),
        kid=parsed.kid, tag=tag, purpose=SIGNING_PURPOSE,
    )


# The check-in hot path's venues, by code: (monotonic expiry, venue). See
# ``venue_qr_resolve(cached=True)``.
_CACHE: dict[str, tuple[float, Venue]] = {}


def _venue_by_code(code: str, *, version: int) -> Venue | None:
    """The cached venue of ``code`` if it was read less than
    VENUE_QR_CACHE_SECONDS ago and knows ``version``: a poster newer than the
    cached venue (printed after a revocation made elsewhere) reads it again at
    once; an older one is refused by the caller as revoked."""
    found = _CACHE.get(code)
    if found is None:
        return None
    expires, venue = found
    if time.monotonic() >= expires or version > venue.qr_version:
        _CACHE.pop(code, None)
        return None
    return venue


def _venue_read(code: str) -> Venue | None:
    """The venue with ``code``, its commune and the commune's two ancestors
    attached (for ``commune.full_name``) as ``select_related`` would attach
    them, in one hand-written statement: on a province's scale most scans
    find no venue in memory, and the ORM spent more time building this join
    than the database spent running it (decision 0013)."""
    connection = connections[router.db_for_read(Venue)]
    quote = connection.ops.quote_name
    units = quote(AdministrativeUnit._meta.db_table)
    sql = (
        f"SELECT {columns_of(Venue, 'v', connection)}, "  # noqa: S608 - model names
        f"{columns_of(AdministrativeUnit, 'c', connection)}, "
        f"{columns_of(AdministrativeUnit, 'd', connection)}, "
        f"{columns_of(AdministrativeUnit, 'p', connection)} "
        f"FROM {quote(Venue._meta.db_table)} v "
        f"JOIN {units} c ON c.id = v.{quote(str(Venue._meta.get_field('commune').column))} "
        f"LEFT JOIN {units} d ON d.id = c.parent_id LEFT JOIN {units} p ON p.id = d.parent_id "
        "WHERE v.code = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [code])
        row = cursor.fetchone()
    if row is None:
        return None
    venue, commune, district, province = instances_from_row(
        connection, row, Venue, AdministrativeUnit, AdministrativeUnit, AdministrativeUnit)
    venue._state.fields_cache["commune"] = commune
    for unit, parent in ((commune, district), (district, province)):
        if unit is not None:
            unit._state.fields_cache["parent"] = parent if unit.parent_id is not None else None
    return venue


def venue_qr_cache_clear(code: str | None = None) -> None:
    """Forgets the cached venue of ``code`` (all of them when None): the
    services that change a venue's QR version or status call it, so this
    instance sees the change at once; other instances within
    VENUE_QR_CACHE_SECONDS."""
    if code is None:
        _CACHE.clear()
    else:
        _CACHE.pop(code.upper(), None)


def venue_by_code_cached(code: str) -> Venue | None:
    """The venue with the plain ``code`` (a controller's typed or stored
    code), from the same in-process table as ``venue_qr_resolve(cached=True)``
    and with the same bound; None when no venue has it."""
    code = code.upper()
    venue = _venue_by_code(code, version=0)
    if venue is None:
        venue = _venue_read(code)
        if venue is not None and settings.VENUE_QR_CACHE_SECONDS:
            _CACHE[code] = (time.monotonic() + settings.VENUE_QR_CACHE_SECONDS, venue)
    return venue


def venue_qr_forget_saved(sender: Any, instance: Venue, **kwargs: Any) -> None:
    """``post_save`` receiver: a saved venue is read again by its next scan."""
    venue_qr_cache_clear(instance.code)


def venue_qr_resolve(payload: str, *, cached: bool = False) -> Venue:
    """The venue a scanned QR payload belongs to, its commune and the
    commune's ancestors selected (for ``commune.full_name``).

    ``cached=True`` (the check-in hot path, decision 0013) answers from an
    in-process table of venues read at most VENUE_QR_CACHE_SECONDS ago: a
    revocation (a new ``qr_version``) or a status change made through
    another instance is seen here within that bound, one made here at once
    (``venue_qr_cache_clear``). The venue returned is shared: read it, never
    change it.

    Checked in this order, each with its own error code and message:

    1. ``qr_malformed`` (400): not a truyvet venue code at all;
    2. ``qr_forged`` (400): the signature does not match the code and version,
       so any changed character in the code or the signature lands here. This
       is checked before the database is touched, so junk costs no query;
    3. ``qr_unknown`` (404): correctly signed, but no venue has this code
       (deleted, or the code was signed with the same keys elsewhere);
    4. ``qr_revoked`` (410): genuine, but the venue has since moved to a new
       ``qr_version``, so this poster was replaced. A version *above* the
       current one (only possible after restoring an older database) is
       refused the same way: only the current poster is valid.

    A pending, suspended or closed venue is returned like any other, because
    its poster is genuine and the check-in page should name the venue and say
    why it takes no check-ins. Whether it takes one is decided by the one
    rule in ``venues.readiness``, which every check-in asks before it writes.
    """
    parsed = venue_qr_parse(payload)
    if not venue_qr_verify(parsed):
        raise ServiceError(
            _("Mã QR này không hợp lệ: mã đã bị sửa đổi hoặc bị làm giả. "
              "Không khai báo bằng mã này và báo cho cán bộ phụ trách."),
            code="qr_forged",
        )
    venue = _venue_by_code(parsed.code, version=parsed.version) if cached else None
    if venue is None:
        venue = _venue_read(parsed.code)
        if cached and venue is not None and settings.VENUE_QR_CACHE_SECONDS:
            _CACHE[parsed.code] = (time.monotonic() + settings.VENUE_QR_CACHE_SECONDS, venue)
    if venue is None:
        raise NotFound(
            _("Không tìm thấy địa điểm của mã QR này. Địa điểm có thể đã bị xóa."),
            code="qr_unknown",
        )
    if parsed.version != venue.qr_version:
        raise ServiceError(
            _("Mã QR này đã được thay thế hoặc đã bị thu hồi. "
              "Hãy hỏi địa điểm để quét mã QR mới."),
            code="qr_revoked",
            status=410,
        )
    return venue


def _malformed() -> ServiceError:
    return ServiceError(
        _("Đây không phải mã QR địa điểm của hệ thống truy vết."), code="qr_malformed"
    )


def venue_qr_code(venue: Venue) -> segno.QRCode:
    """The QR symbol for the venue's current poster: error correction at
    least M (segno raises it for free when the version has room to spare)."""
    return segno.make(venue_qr_payload(venue), error=QR_ERROR_LEVEL, micro=False)


def venue_qr_png(venue: Venue, *, scale: int = 10) -> bytes:
    """A PNG of the QR alone, ``scale`` pixels per module, with the standard
    4-module quiet zone."""
    out = io.BytesIO()
    venue_qr_code(venue).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def venue_qr_svg(venue: Venue) -> bytes:
    """An SVG of the QR alone (10 user units per module, scalable), with the
    quiet zone; the venue name is its title."""
    out = io.BytesIO()
    venue_qr_code(venue).save(out, kind="svg", border=4, scale=10, title=venue.name)
    return out.getvalue()
