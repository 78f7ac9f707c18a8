"""Text encodings of the two QR formats, strict and fast.

- Base45 (RFC 9285) for ``HC1:`` strings. The ``base45`` package is pure
  Python (about 50 µs for one DCC); this decoder validates with one regular
  expression and does the arithmetic on numpy arrays (about 6 µs). It is
  checked against the package in the tests.
- Base64url without padding, for JWS.
- SMART Health Card numeric mode: each character as two digits, code − 45.
"""

from __future__ import annotations

import base64
import binascii
import re

import numpy as np

from truyvet.certificates.result import VerificationFailed

BASE45_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = bytes.maketrans(BASE45_ALPHABET, bytes(range(45)))
_BASE45_TEXT = re.compile(r"[0-9A-Z $%*+\-./:]*")
_BASE45_WEIGHTS = np.array([1, 45, 45 * 45], dtype=np.uint32)


def base45_decode(text: str) -> bytes:
    """Decodes RFC 9285 Base45; raises ``VerificationFailed("dcc_base45")``
    for a character outside the alphabet, a dangling single character or a
    group whose value does not fit its bytes."""
    if not _BASE45_TEXT.fullmatch(text):
        raise VerificationFailed("dcc_base45", "character outside the Base45 alphabet")
    values = text.encode("ascii").translate(_BASE45_VALUES)
    whole = len(values) // 3 * 3
    rest = len(values) - whole
    if rest == 1:
        raise VerificationFailed("dcc_base45", "length leaves one character")
    triples = np.frombuffer(values, dtype=np.uint8, count=whole).reshape(-1, 3)
    numbers = triples.astype(np.uint32) @ _BASE45_WEIGHTS
    if numbers.size and int(numbers.max()) > 0xFFFF:
        raise VerificationFailed("dcc_base45", "a group exceeds 65535")
    out = numbers.astype(">u2").tobytes()
    if rest == 2:
        last = values[whole] + values[whole + 1] * 45
        if last > 0xFF:
            raise VerificationFailed("dcc_base45", "the last pair exceeds 255")
        out += bytes((last,))
    return out


_BASE64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*")


def base64url_decode(text: str) -> bytes:
    """Base64url without padding (RFC 7515 §2); raises ValueError otherwise."""
    if not _BASE64URL_TEXT.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def base64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def shc_numeric_decode(digits: str) -> str:
    """The JWS in a ``shc:/`` QR's digits: each pair is one character,
    ``chr(int(pair) + 45)``, and no pair exceeds 77 ('z')."""
    if len(digits) % 2 or not digits.isascii() or not digits.isdigit():
        raise VerificationFailed("shc_prefix", "digits must come in pairs")
    pairs = np.frombuffer(digits.encode("ascii"), dtype=np.uint8).reshape(-1, 2) - ord("0")
    codes = pairs[:, 0].astype(np.uint16) * 10 + pairs[:, 1]
    if codes.size and int(codes.max()) > ord("z") - 45:
        raise VerificationFailed("shc_prefix", "a pair exceeds 77")
    return (codes + 45).astype(np.uint8).tobytes().decode("ascii")
