"""Unique vaccination certificate identifiers (UVCI), as the eHealth
Network's UVCI specification and the DCC schema's FAQ define them:

    URN:UVCI:01:VN:<unique>#<check>

- ``01`` is the identifier scheme's version, ``VN`` the issuing country;
- ``<unique>`` is ours: 20 characters of Crockford-free uppercase base32
  (``A``–``Z``, ``2``–``7``) from 100 random bits, so that two certificates
  never share one however many are issued, and nothing about the person or
  the dose can be read from it;
- ``<check>`` is the Luhn mod N check character over the whole identifier
  before ``#`` (prefix included), with N = 38 over the alphabet
  ``A``–``Z``, ``0``–``9``, ``/``, ``:`` (we only issue identifiers whose
  check character is a letter or digit).
"""

from __future__ import annotations

import base64
import secrets

LUHN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
_CODE = {char: index for index, char in enumerate(LUHN_ALPHABET)}
PREFIX = "URN:UVCI:01:VN:"
UNIQUE_CHARS = 20


def luhn_mod_n(text: str) -> str:
    """The check character of ``text`` (every character in LUHN_ALPHABET)."""
    n = len(LUHN_ALPHABET)
    factor = 2
    total = 0
    for char in reversed(text):
        addend = factor * _CODE[char]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return LUHN_ALPHABET[(n - total % n) % n]


def luhn_mod_n_valid(text: str) -> bool:
    """True when ``text``'s last character checks the rest."""
    if len(text) < 2 or any(char not in _CODE for char in text):
        return False
    return luhn_mod_n(text[:-1]) == text[-1]


def uvci_new() -> str:
    """A new UVCI. A unique part whose check character would be "/" or ":"
    is drawn again: those are valid, but a UVCI that is one URL path
    segment (once "#" is percent-encoded) is simpler for every client."""
    while True:
        unique = base64.b32encode(secrets.token_bytes(15)).decode("ascii")[:UNIQUE_CHARS]
        body = PREFIX + unique
        check = luhn_mod_n(body)
        if check.isalnum():
            return f"{body}#{check}"


def uvci_valid(uvci: str) -> bool:
    body, sep, check = uvci.partition("#")
    return bool(sep) and len(check) == 1 and body.startswith("URN:UVCI:") and luhn_mod_n_valid(
        body + check)
