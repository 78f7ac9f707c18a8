"""Shared set-up of the issuing tests: signing keys in a temporary folder,
records of each kind, and an independent DCC decoder written from the
specifications with cryptography, cbor2, zlib and base45 only."""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from truyvet.certificates.models import Recovery, TestKind, TestOutcome, TestResult
from truyvet.vaccination.services import dose_record
from truyvet.venues.models import VenueType
from truyvet.venues.services import venue_register


@dataclass
class Decoded:
    kid: bytes
    issuer: str
    issued_at: int
    expires_at: int
    dcc: dict[str, Any]
    signature_ok: bool


def independent_decode(hc1: str, trust_list: list[dict[str, Any]]) -> Decoded:
    """HC1 → Base45 → zlib → COSE_Sign1 (tag 18) → ES256 over the
    Sig_structure with the DSC whose kid is the first 8 bytes of its DER's
    SHA-256 → CWT claims."""
    assert hc1.startswith("HC1:")
    message = cbor2.loads(zlib.decompress(base45.b45decode(hc1[4:])))
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    protected, unprotected, payload, signature = message.value
    header = cbor2.loads(protected)
    assert header[1] == -7  # ES256
    kid = header[4]
    dscs = {base64.b64decode(e["kid"]): base64.b64decode(e["rawData"]) for e in trust_list
            if e["certificateType"] == "DSC"}
    der = dscs[kid]
    assert hashlib.sha256(der).digest()[:8] == kid
    key = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der_signature = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                         int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der_signature, to_be_signed, ec.ECDSA(hashes.SHA256()))
        ok = True
    except Exception:  # noqa: BLE001 - InvalidSignature: reported, asserted by the caller
        ok = False
    claims = cbor2.loads(payload)
    return Decoded(kid=kid, issuer=claims[1], issued_at=claims[6], expires_at=claims[4],
                   dcc=claims[-260][1], signature_ok=ok)


def vaccinate(personas: Any, site: Any, person: Any, *, vaccine: str = "Pfizer",
              given_on: date = date(2021, 10, 1)) -> Any:
    return dose_record(actor=personas.venue_owner, site=site, person=person, vaccine=vaccine,
                       given_on=given_on)


def a_testing_site(personas: Any) -> Any:
    return venue_register(
        actor=personas.district_officer, name="Phòng xét nghiệm TTYT Hạ Lang",
        venue_type=VenueType.TESTING, commune=personas.units.thanh_nhat,
        street="Phố Thanh Nhật", contact_phone="0912555009")


def pcr(person: Any, facility: Any, *, sampled_at: datetime | None = None,
        result: str = TestOutcome.NEGATIVE) -> TestResult:
    return TestResult.objects.create(
        person=person, kind=TestKind.PCR, result=result, facility=facility,
        sampled_at=sampled_at or datetime.now(tz=UTC) - timedelta(hours=5),
        test_name="Cobas SARS-CoV-2")


def recovered(person: Any, *, first_positive: date) -> Recovery:
    return Recovery.objects.create(person=person, first_positive_on=first_positive,
                                   recovered_on=first_positive + timedelta(days=12))
