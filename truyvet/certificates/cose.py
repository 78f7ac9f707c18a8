"""COSE_Sign1 (RFC 8152 §4.2) as the EU DCC uses it: parse and verify with
cryptography directly.

Works with cbor2 5 and 6 (6 returns tuples and frozen maps where 5 returns
lists and dicts). Every malformed structure raises ``VerificationFailed``
with code ``dcc_cose``; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from truyvet.certificates.result import VerificationFailed

COSE_SIGN1_TAG = 18
CWT_TAG = 61
HEADER_ALG = 1
HEADER_KID = 4
ES256 = -7
PS256 = -37
ALGORITHMS = {ES256: "ES256", PS256: "PS256"}

_SHA256 = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)
_PSS = padding.PSS(mgf=padding.MGF1(_SHA256), salt_length=padding.PSS.AUTO)
# The first items of the CBOR array ["Signature1", protected, external_aad, payload].
_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1"
_DECODE_ERRORS = (
    cbor2.CBORDecodeError, ValueError, TypeError, LookupError, OverflowError, RecursionError,
    MemoryError, EOFError,
)


def cbor_loads(data: bytes) -> Any:
    """cbor2.loads with every failure as ``ValueError`` (deep nesting,
    absurd lengths, bad tags, truncation)."""
    try:
        return cbor2.loads(data)
    except _DECODE_ERRORS as exc:
        raise ValueError(f"CBOR: {type(exc).__name__}") from None


@dataclass(frozen=True)
class Sign1:
    protected: bytes  # the protected header exactly as signed
    protected_header: Mapping[Any, Any]
    unprotected_header: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    @property
    def algorithm(self) -> Any:
        if HEADER_ALG in self.protected_header:
            return self.protected_header[HEADER_ALG]
        return self.unprotected_header.get(HEADER_ALG)

    @property
    def kid(self) -> bytes | None:
        """The protected header's kid when present, else the unprotected
        one's (hcert spec §3.3.3: verifiers accept both, protected first)."""
        for header in (self.protected_header, self.unprotected_header):
            kid = header.get(HEADER_KID)
            if kid is not None:
                return kid if isinstance(kid, bytes) else None
        return None

    def to_be_signed(self) -> bytes:
        return b"".join((
            _SIG_STRUCTURE_HEAD, _bstr_head(len(self.protected)), self.protected, b"\x40",
            _bstr_head(len(self.payload)), self.payload,
        ))


def _bstr_head(length: int) -> bytes:
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


def sign1_parse(data: bytes) -> Sign1:
    """A COSE_Sign1 from bytes: tagged 18, untagged, or inside a CWT tag 61."""
    try:
        obj = cbor_loads(data)
    except ValueError as exc:
        raise VerificationFailed("dcc_cose", str(exc)) from None
    for _depth in range(2):
        if isinstance(obj, cbor2.CBORTag):
            if obj.tag not in (COSE_SIGN1_TAG, CWT_TAG):
                raise VerificationFailed("dcc_cose", f"unexpected tag {obj.tag}")
            obj = obj.value
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise VerificationFailed("dcc_cose", "not a 4-item array")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(payload, bytes):
        raise VerificationFailed("dcc_cose", "protected header and payload must be byte strings")
    if not isinstance(signature, bytes) or not isinstance(unprotected, Mapping):
        raise VerificationFailed("dcc_cose", "bad signature or unprotected header")
    if protected:
        try:
            protected_header = cbor_loads(protected)
        except ValueError as exc:
            raise VerificationFailed("dcc_cose", f"protected header: {exc}") from None
        if not isinstance(protected_header, Mapping):
            raise VerificationFailed("dcc_cose", "protected header is not a map")
    else:
        protected_header = {}
    return Sign1(protected, protected_header, unprotected, payload, signature)


def signature_verify(message: Sign1, public_key: Any) -> bool:
    """True when ``message``'s signature verifies with ``public_key`` under
    its algorithm (ES256 needs a P-256 key, PS256 an RSA key)."""
    algorithm = message.algorithm
    data = message.to_be_signed()
    try:
        if algorithm == ES256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            if not isinstance(public_key.curve, ec.SECP256R1) or len(message.signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(message.signature[:32], "big"),
                int.from_bytes(message.signature[32:], "big"),
            )
            public_key.verify(der, data, _ECDSA_SHA256)
            return True
        if algorithm == PS256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(message.signature, data, _PSS, _SHA256)
            return True
    except (InvalidSignature, ValueError):
        return False
    return False
