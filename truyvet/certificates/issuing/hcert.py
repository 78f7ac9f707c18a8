"""Making an EU DCC (hcert spec §2–§4): the DCC JSON of one vaccination,
test or recovery (schema 1.3.0, codes from the value sets), validated
against the schema before it is signed, then

    CWT {1: iss "VN", 4: exp, 6: iat, -260: {1: DCC}}
    → COSE_Sign1 ES256, the DSC's kid in the protected header
    → zlib → Base45 → "HC1:"

Pure functions: no database. The bulk benchmark (bench/certs_issue_bench.py)
runs ``hc1_sign`` alone.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from truyvet.certificates import dccschema
from truyvet.certificates.cose import ES256, HEADER_ALG, HEADER_KID
from truyvet.certificates.dcc import CLAIM_EXP, CLAIM_HCERT, CLAIM_IAT, CLAIM_ISS, HCERT_EU_DCC
from truyvet.certificates.encoding import BASE45_ALPHABET
from truyvet.certificates.result import VerificationFailed

SCHEMA_VERSION = "1.3.0"
COUNTRY = "VN"
ISSUER = "Ministry of Health of Viet Nam"
DISEASE_COVID = "840539006"
TEST_PCR = "LP6464-4"  # nucleic acid amplification
TEST_RAPID = "LP217198-3"  # rapid immunoassay (antigen)
RESULT_NEGATIVE = "260415000"
RESULT_POSITIVE = "260373001"
VALID_MONTHS = 12
# A recovery certificate is valid from day 11 to day 180 after the first
# positive test (Regulation (EU) 2021/953 Annex, and the hcert guidelines).
RECOVERY_FROM_DAYS = 11
RECOVERY_UNTIL_DAYS = 180
_ICAO = re.compile(r"[^A-Z<]")


class DccInvalid(Exception):
    """The DCC built from a record does not pass its schema or value sets."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


# --- The DCC JSON ------------------------------------------------------------------------


def icao_transliteration(text: str) -> str:
    """ICAO 9303 machine-readable form: A–Z, spaces and hyphens as "<"."""
    folded = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).upper()
    return _ICAO.sub("", re.sub(r"[\s\-]+", "<", ascii_only.strip()))[:80]


def name_parts(full_name: str) -> tuple[str, str]:
    """Family name and given names of a Vietnamese full name (family name first)."""
    words = full_name.split()
    if len(words) < 2:
        return full_name.strip(), ""
    return words[0], " ".join(words[1:])


def holder(*, full_name: str, birth_date: date | None, birth_year: int | None) -> dict[str, Any]:
    family, given = name_parts(full_name)
    nam: dict[str, str] = {"fn": family[:80], "fnt": icao_transliteration(family)}
    if given:
        nam["gn"] = given[:80]
        nam["gnt"] = icao_transliteration(given)
    dob = birth_date.isoformat() if birth_date else (str(birth_year) if birth_year else "")
    return {"ver": SCHEMA_VERSION, "nam": nam, "dob": dob}


@dataclass(frozen=True)
class VaccinationFacts:
    dose_number: int
    series_doses: int
    given_on: date
    product: str
    manufacturer: str
    vaccine_type: str
    country: str = COUNTRY


@dataclass(frozen=True)
class TestFacts:
    test_type: str  # TEST_PCR or TEST_RAPID
    sampled_at: datetime
    result: str  # RESULT_NEGATIVE or RESULT_POSITIVE
    centre: str
    device: str = ""  # RAT device identifier (test-manf value set)
    name: str = ""
    country: str = COUNTRY


@dataclass(frozen=True)
class RecoveryFacts:
    first_positive: date
    country: str = COUNTRY


Facts = VaccinationFacts | TestFacts | RecoveryFacts


def kind_of(facts: Facts) -> str:
    if isinstance(facts, VaccinationFacts):
        return "v"
    return "t" if isinstance(facts, TestFacts) else "r"


def _iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def entry(facts: Facts, *, uvci: str) -> dict[str, Any]:
    common = {"tg": DISEASE_COVID, "co": facts.country, "is": ISSUER, "ci": uvci}
    if isinstance(facts, VaccinationFacts):
        return {**common, "vp": facts.vaccine_type, "mp": facts.product,
                "ma": facts.manufacturer, "dn": facts.dose_number, "sd": facts.series_doses,
                "dt": facts.given_on.isoformat()}
    if isinstance(facts, TestFacts):
        found: dict[str, Any] = {**common, "tt": facts.test_type,
                                 "sc": _iso_seconds(facts.sampled_at), "tr": facts.result,
                                 "tc": facts.centre[:80]}
        if facts.name:
            found["nm"] = facts.name[:80]
        if facts.device:
            found["ma"] = facts.device
        return found
    return {**common, "fr": facts.first_positive.isoformat(),
            "df": (facts.first_positive + timedelta(days=RECOVERY_FROM_DAYS)).isoformat(),
            "du": (facts.first_positive + timedelta(days=RECOVERY_UNTIL_DAYS)).isoformat()}


def dcc_build(*, person: dict[str, Any], facts: Facts, uvci: str) -> dict[str, Any]:
    """The DCC JSON; raises ``DccInvalid`` unless it passes schema 1.3.0 and
    the value sets."""
    dcc = {**person, kind_of(facts): [entry(facts, uvci=uvci)]}
    try:
        dccschema.dcc_schema_check(dcc)
        dccschema.valueset_check(dcc)
    except VerificationFailed as exc:
        raise DccInvalid(exc.problem.code, exc.problem.detail) from None
    return dcc


def expiry_of(issued_at: datetime) -> datetime:
    """Twelve months after ``issued_at`` (the same day of the month, or the
    month's last day)."""
    month = issued_at.month - 1 + VALID_MONTHS
    year, month = issued_at.year + month // 12, month % 12 + 1
    for day in (issued_at.day, 30, 29, 28):
        try:
            return issued_at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --- Signing -----------------------------------------------------------------------------

_SHA256 = ec.ECDSA(hashes.SHA256())


_BASE45_TABLE = np.frombuffer(BASE45_ALPHABET, dtype=np.uint8)


def base45_encode(data: bytes) -> str:
    """RFC 9285, on numpy arrays (a pure Python loop is about 0.5 ms for one
    DCC; this is about 15 µs): each pair of bytes n = 256a + b becomes the
    three digits c + 45d + 2025e written c, d, e; a last single byte two."""
    whole = len(data) // 2 * 2
    pairs = np.frombuffer(data, dtype=">u2", count=whole // 2).astype(np.uint32)
    digits = np.empty((pairs.size, 3), dtype=np.uint8)
    digits[:, 0] = pairs % 45
    digits[:, 1] = pairs // 45 % 45
    digits[:, 2] = pairs // 2025
    out = _BASE45_TABLE[digits.reshape(-1)].tobytes()
    if len(data) % 2:
        last = data[-1]
        out += bytes((BASE45_ALPHABET[last % 45], BASE45_ALPHABET[last // 45]))
    return out.decode("ascii")


def _bstr(data: bytes) -> bytes:
    """A CBOR byte string: its head (major type 2, RFC 8949 §3.1) and bytes."""
    length = len(data)
    if length < 24:
        head = bytes((0x40 | length,))
    elif length < 0x100:
        head = bytes((0x58, length))
    elif length < 0x10000:
        head = b"\x59" + length.to_bytes(2, "big")
    else:
        head = b"\x5a" + length.to_bytes(4, "big")
    return head + data


def cose_sign1(payload: bytes, *, key: ec.EllipticCurvePrivateKey, kid: bytes) -> bytes:
    """COSE_Sign1 (RFC 8152 §4.2), tag 18: [protected {1: -7, 4: kid}, {},
    payload, r || s]. The arrays are written directly (a CBOR array head
    then its items) rather than through cbor2, which would copy the payload
    twice more."""
    protected = _bstr(cbor2.dumps({HEADER_ALG: ES256, HEADER_KID: kid}))
    # Sig_structure = ["Signature1", protected, external_aad h'', payload]
    to_be_signed = b"\x84\x6aSignature1" + protected + b"\x40" + _bstr(payload)
    r, s = decode_dss_signature(key.sign(to_be_signed, _SHA256))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return b"\xd2\x84" + protected + b"\xa0" + _bstr(payload) + b"\x58\x40" + signature


@dataclass(frozen=True)
class Signed:
    hc1: str
    signature: bytes  # the COSE signature (r || s), for the revocation hashes
    issued_at: datetime
    expires_at: datetime


def hc1_sign(dcc: dict[str, Any], *, key: ec.EllipticCurvePrivateKey, kid: bytes,
             issued_at: datetime) -> Signed:
    """Signs a validated DCC as an ``HC1:`` string valid for 12 months."""
    expires_at = expiry_of(issued_at)
    claims = {CLAIM_ISS: COUNTRY, CLAIM_IAT: int(issued_at.timestamp()),
              CLAIM_EXP: int(expires_at.timestamp()), CLAIM_HCERT: {HCERT_EU_DCC: dcc}}
    message = cose_sign1(cbor2.dumps(claims), key=key, kid=kid)
    signature = message[-64:]
    return Signed("HC1:" + base45_encode(zlib.compress(message, 9)), signature,
                  issued_at.replace(microsecond=0), expires_at.replace(microsecond=0))
