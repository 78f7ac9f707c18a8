"""Short HMAC-SHA256 signatures under key ids, for codes printed on paper.

Keys come from ``settings.QR_SIGNING_KEYS`` as ``"kid:secret,kid2:secret2"``.
The first key signs and every listed key verifies, so a key is rotated by
putting a new one first and dropping the old one once its posters are gone.
Key ids are 1-2 characters from ``[0-9A-Za-z]`` and are matched without regard
to case, because printed codes are read back case-insensitively. When the
setting is empty (development and tests; settings.py refuses that in
production), a single key with id ``d`` is derived from ``SECRET_KEY``.

Every signature is bound to a ``purpose``: the MAC key is derived per purpose,
so a tag made for one kind of code never verifies as another.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# 80 bits. A tag is only ever checked online, by an endpoint that is rate
# limited, so a forger has to submit on the order of 2^79 guesses to hit one;
# a full 256-bit tag would buy nothing against that and would make the QR code
# denser, which costs scanning distance on a poster.
TAG_BYTES = 10

DEVELOPMENT_KID = "d"
MIN_SECRET_LENGTH = 16
_KID = re.compile(r"[0-9A-Za-z]{1,2}")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes = field(repr=False)  # never print a secret in a traceback


@dataclass(frozen=True)
class KeyRing:
    """The signing key followed by keys that still verify."""

    keys: tuple[SigningKey, ...]

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[0]

    def find(self, kid: str) -> SigningKey | None:
        folded = kid.upper()
        for key in self.keys:
            if key.kid.upper() == folded:
                return key
        return None


def parse_signing_keys(value: str) -> tuple[SigningKey, ...]:
    """Parses the ``QR_SIGNING_KEYS`` format; raises ImproperlyConfigured with a
    message naming the setting and the offending entry. An empty value gives an
    empty tuple (the caller then derives the development key)."""
    value = value.strip()
    if not value:
        return ()
    keys: list[SigningKey] = []
    seen: set[str] = set()
    for position, entry in enumerate(value.split(","), start=1):
        entry = entry.strip()
        kid, colon, secret = entry.partition(":")
        kid = kid.strip()
        if not colon:
            raise ImproperlyConfigured(
                f"QR_SIGNING_KEYS entry {position} must look like 'kid:secret' "
                "(entries are separated by commas)."
            )
        if not _KID.fullmatch(kid):
            raise ImproperlyConfigured(
                f"QR_SIGNING_KEYS entry {position}: the key id {kid!r} must be 1-2 "
                "characters from 0-9, A-Z, a-z."
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ImproperlyConfigured(
                f"QR_SIGNING_KEYS entry {position} (kid {kid!r}): the secret must be at "
                f"least {MIN_SECRET_LENGTH} characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )
        if kid.upper() in seen:
            raise ImproperlyConfigured(
                f"QR_SIGNING_KEYS: the key id {kid!r} appears twice (ids are compared "
                "without regard to case)."
            )
        seen.add(kid.upper())
        keys.append(SigningKey(kid=kid, secret=secret.encode()))
    return tuple(keys)


@lru_cache(maxsize=8)
def _key_ring(configured: str, secret_key: str) -> KeyRing:
    keys = parse_signing_keys(configured)
    if not keys:
        derived = hmac.new(
            secret_key.encode(), b"truyvet.core.signing development key", hashlib.sha256
        ).digest()
        keys = (SigningKey(kid=DEVELOPMENT_KID, secret=derived),)
    return KeyRing(keys=keys)


def key_ring() -> KeyRing:
    """The key ring for the current settings (cached per settings value, so
    tests that override the settings see their own keys)."""
    return _key_ring(settings.QR_SIGNING_KEYS, settings.SECRET_KEY)


def _tag(key: SigningKey, message: bytes, purpose: str) -> bytes:
    # A per-purpose subkey separates purposes without any chance of two
    # (purpose, message) pairs colliding on the same MAC input.
    subkey = hmac.new(key.secret, b"truyvet.signing:" + purpose.encode(), hashlib.sha256).digest()
    return hmac.new(subkey, message, hashlib.sha256).digest()[:TAG_BYTES]


def sign(message: bytes, *, purpose: str) -> tuple[str, bytes]:
    """Returns ``(kid, tag)``: the id of the current signing key and the
    ``TAG_BYTES``-long tag over ``message`` for ``purpose``."""
    key = key_ring().signing_key
    return key.kid, _tag(key, message, purpose)


def verify(message: bytes, *, kid: str, tag: bytes, purpose: str) -> bool:
    """True when ``tag`` was made by ``sign`` over ``message`` for ``purpose``
    with the key ``kid`` (any case), and that key is still configured."""
    key = key_ring().find(kid)
    if key is None:
        return False
    return hmac.compare_digest(_tag(key, message, purpose), tag)
