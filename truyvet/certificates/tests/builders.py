"""Credentials built the way an issuer builds them, with cryptography, cbor2,
zlib and the base45 package only: nothing from the code under test, so the
verifier is checked against the specifications rather than against itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

EKU_TEST = "1.3.6.1.4.1.1847.2021.1.1"
EKU_VACCINATION = "1.3.6.1.4.1.1847.2021.1.2"
EKU_RECOVERY = "1.3.6.1.4.1.1847.2021.1.3"
NOW = datetime(2022, 6, 1, 9, 0, tzinfo=UTC)


@dataclass
class Signer:
    """A document signing certificate (DSC) and its private key."""

    key: Any
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)

    @property
    def kid(self) -> bytes:
        return hashlib.sha256(self.der).digest()[:8]

    def pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)

    def gateway_entry(self, country: str = "VN") -> dict[str, str]:
        return {"kid": base64.b64encode(self.kid).decode(), "country": country,
                "certificateType": "DSC", "rawData": base64.b64encode(self.der).decode()}


def make_signer(
    *, algorithm: str = "ES256", ekus: list[str] | None = None, country: str = "VN",
    not_before: datetime = NOW - timedelta(days=365), not_after: datetime = NOW + timedelta(
        days=365),
) -> Signer:
    key: Any = ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256" else (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Test DSC {algorithm}"),
    ])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
    )
    if ekus:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(oid) for oid in ekus]), critical=False
        )
    return Signer(key, builder.sign(key, hashes.SHA256()))


def vaccination(**changes: Any) -> dict[str, Any]:
    """A Vietnamese vaccination DCC (schema 1.3.0): Comirnaty, dose 2 of 2."""
    dcc: dict[str, Any] = {
        "ver": "1.3.0",
        "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Thị Hoa", "gnt": "THI<HOA"},
        "dob": "1990-04-12",
        "v": [{
            "tg": "840539006", "vp": "J07BX03", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
            "dn": 2, "sd": 2, "dt": "2021-10-01", "co": "VN",
            "is": "Ministry of Health of Viet Nam", "ci": "URN:UVCI:01:VN:TESTVACC0001",
        }],
    }
    dcc.update(changes)
    return dcc


def pcr_result(**changes: Any) -> dict[str, Any]:
    dcc: dict[str, Any] = {
        "ver": "1.3.0", "nam": {"fn": "Trần", "fnt": "TRAN", "gn": "Văn Nam", "gnt": "VAN<NAM"},
        "dob": "1985-02-03",
        "t": [{
            "tg": "840539006", "tt": "LP6464-4", "nm": "PCR", "sc": "2022-05-31T08:00:00Z",
            "tr": "260415000", "tc": "Bệnh viện Bạch Mai", "co": "VN",
            "is": "Ministry of Health of Viet Nam", "ci": "URN:UVCI:01:VN:TESTPCR0001",
        }],
    }
    dcc.update(changes)
    return dcc


@dataclass
class DccSpec:
    dcc: dict[str, Any] = field(default_factory=vaccination)
    issued_at: datetime = NOW - timedelta(days=1)
    expires_at: datetime = NOW + timedelta(days=180)
    issuer: str = "VN"
    kid_in: str = "protected"  # or "unprotected"
    compress: bool = True
    claims: dict[Any, Any] | None = None  # replaces the whole CWT payload


def sign1_bytes(signer: Signer, payload: bytes, *, kid_in: str = "protected",
                kid: bytes | None = None) -> tuple[bytes, bytes]:
    """A tagged COSE_Sign1 over ``payload``; returns it and its signature."""
    is_ec = isinstance(signer.key, ec.EllipticCurvePrivateKey)
    protected_header: dict[int, Any] = {1: -7 if is_ec else -37}
    unprotected: dict[int, Any] = {}
    (protected_header if kid_in == "protected" else unprotected)[4] = kid or signer.kid
    protected = cbor2.dumps(protected_header)
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    if is_ec:
        r, s = decode_dss_signature(signer.key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = signer.key.sign(
            to_sign, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    message = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))
    return message, signature


def make_dcc(signer: Signer, spec: DccSpec | None = None) -> str:
    """``HC1:`` + Base45(zlib(COSE_Sign1(CWT))), as the hcert spec builds it."""
    spec = spec or DccSpec()
    claims = spec.claims if spec.claims is not None else {
        1: spec.issuer, 6: int(spec.issued_at.timestamp()), 4: int(spec.expires_at.timestamp()),
        -260: {1: spec.dcc},
    }
    message, _signature = sign1_bytes(signer, cbor2.dumps(claims), kid_in=spec.kid_in)
    body = zlib.compress(message, 9) if spec.compress else message
    return "HC1:" + str(base45.b45encode(body).decode("ascii"))


def dcc_parts(text: str) -> list[Any]:
    """The COSE array of an HC1 string (to tamper with in tests)."""
    raw = zlib.decompress(base45.b45decode(text[4:]))
    return list(cbor2.loads(raw).value)


def dcc_from_parts(parts: list[Any]) -> str:
    message = cbor2.dumps(cbor2.CBORTag(18, parts))
    return "HC1:" + str(base45.b45encode(zlib.compress(message)).decode("ascii"))


# --- SMART Health Cards ------------------------------------------------------------------

SHC_ISSUER = "https://shc.test.truyvet.example/issuer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class ShcIssuer:
    key: ec.EllipticCurvePrivateKey
    url: str = SHC_ISSUER

    @property
    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        public = {"crv": "P-256", "kty": "EC", "x": b64url(numbers.x.to_bytes(32, "big")),
                  "y": b64url(numbers.y.to_bytes(32, "big"))}
        # RFC 7638 thumbprint: the required members, sorted, no spaces.
        thumbprint = hashlib.sha256(
            json.dumps(public, sort_keys=True, separators=(",", ":")).encode()
        ).digest()
        return {**public, "kid": b64url(thumbprint), "use": "sig", "alg": "ES256"}

    def jwks(self) -> bytes:
        return json.dumps({"keys": [self.jwk]}).encode()


def make_shc_issuer(url: str = SHC_ISSUER) -> ShcIssuer:
    return ShcIssuer(ec.generate_private_key(ec.SECP256R1()), url)


def shc_payload(issuer_url: str = SHC_ISSUER, *, nbf: datetime = NOW - timedelta(days=1),
                exp: datetime | None = None, rid: str | None = None,
                types: list[str] | None = None) -> dict[str, Any]:
    vc: dict[str, Any] = {
        "type": types if types is not None else ["https://smarthealth.cards#health-card",
                                                  "https://smarthealth.cards#immunization"],
        "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": {
            "resourceType": "Bundle", "type": "collection", "entry": [
                {"fullUrl": "resource:0", "resource": {
                    "resourceType": "Patient", "name": [{"family": "Lê", "given": ["Minh", "An"]}],
                    "birthDate": "1979-09-09"}},
                {"fullUrl": "resource:1", "resource": {
                    "resourceType": "Immunization", "status": "completed",
                    "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx",
                                                "code": "208"}]},
                    "patient": {"reference": "resource:0"}, "occurrenceDateTime": "2021-09-01",
                    "lotNumber": "FA1234"}},
            ]}},
    }
    if rid is not None:
        vc["rid"] = rid
    payload: dict[str, Any] = {"iss": issuer_url, "nbf": nbf.timestamp(), "vc": vc}
    if exp is not None:
        payload["exp"] = exp.timestamp()
    return payload


def make_jws(issuer: ShcIssuer, payload: dict[str, Any], *, kid: str | None = None) -> str:
    header = {"zip": "DEF", "alg": "ES256", "kid": kid or issuer.jwk["kid"]}
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(json.dumps(payload, separators=(",", ":")).encode()) + \
        deflater.flush()
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(body)}"
    r, s = decode_dss_signature(
        issuer.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    )
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def shc_numeric(jws: str) -> str:
    return "shc:/" + "".join(f"{ord(c) - 45:02d}" for c in jws)


def shc_chunks(jws: str, parts: int) -> list[str]:
    size = -(-len(jws) // parts)
    pieces = [jws[i:i + size] for i in range(0, len(jws), size)]
    return [
        f"shc:/{i}/{len(pieces)}/" + "".join(f"{ord(c) - 45:02d}" for c in piece)
        for i, piece in enumerate(pieces, 1)
    ]
