"""Signing keys for the certificates we issue (hcert spec §5, Appendix A).

A country's CSCA (country signing certificate authority) certifies one
document signing certificate (DSC) per issuing authority; each DSC carries
the extended-key-usage OIDs of the certificate types (v, t, r) its
authority may sign. ``truyvet cert keys`` makes a demo CSCA and DSCs; in
production an operator loads the DSCs the national CSCA issued.

Only public certificates are kept in the database (``SigningKey``). Private
keys never are: each is read, when a certificate is signed, from

- the environment variable ``DCC_SIGNING_KEY_<KEY NAME>`` (a PEM, ``\\n``
  escapes allowed), or else
- the file ``<DCC_SIGNING_KEYS_DIR>/<key name>.pem``.

Both are named in ``.env.example``.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from truyvet.certificates.trust import EKU_BY_TYPE, dsc_kid

# The spellings of Appendix A.4 (the ".0.1847" drafts are only read).
EKU_OIDS = {kind: min(oids, key=len) for kind, oids in EKU_BY_TYPE.items()}
KEY_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
CSCA_NAME = "csca"


class KeyMissing(Exception):
    """The private key of a DSC is in neither its variable nor its file."""


def keys_dir() -> Path:
    return Path(settings.DCC_SIGNING_KEYS_DIR)


def env_name(key_name: str) -> str:
    return "DCC_SIGNING_KEY_" + key_name.upper().replace("-", "_")


def private_key_load(key_name: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key named ``key_name``, from its variable or file."""
    text = os.environ.get(env_name(key_name), "").replace("\\n", "\n").strip()
    data: bytes | None = text.encode("ascii", "replace") if text else None
    if data is None:
        path = keys_dir() / f"{key_name}.pem"
        try:
            data = path.read_bytes()
        except OSError:
            raise KeyMissing(key_name) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyMissing(key_name) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve,
                                                                         ec.SECP256R1):
        raise KeyMissing(key_name)
    return key


def private_key_save(key_name: str, key: ec.EllipticCurvePrivateKey) -> Path:
    folder = keys_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{key_name}.pem"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return path


@dataclass(frozen=True)
class MadeCertificate:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def kid(self) -> bytes:
        return dsc_kid(self.der)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def csca_make(*, now: datetime, years: int = 4) -> MadeCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Viet Nam DCC CSCA (demo)", "Ministry of Health of Viet Nam")
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return MadeCertificate(key, certificate)


def dsc_make(*, csca: MadeCertificate, authority: str, types: str, now: datetime,
             days: int = 730) -> MadeCertificate:
    """A DSC under ``csca`` for ``authority`` (its English name), allowed to
    sign the certificate types in ``types`` ("vtr"). Valid for ``days``:
    a DCC's life must lie within its DSC's, so at least 12 months more."""
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + timedelta(days=days), csca.certificate.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(f"DSC {authority}"[:64], "Ministry of Health of Viet Nam"))
        .issuer_name(csca.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(not_after)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [x509.ObjectIdentifier(EKU_OIDS[kind]) for kind in types]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            csca.key.public_key()), critical=False)
        .sign(csca.key, hashes.SHA256())
    )
    return MadeCertificate(key, certificate)


def gateway_entry(der: bytes, *, kid: bytes | None = None, country: str = "VN",
                  certificate_type: str = "DSC") -> dict[str, Any]:
    """One entry of the EU gateway's trust list (``/trustList`` items)."""
    certificate = x509.load_der_x509_certificate(der)
    return {
        "kid": base64.b64encode(kid or dsc_kid(der)).decode("ascii"),
        "country": country,
        "certificateType": certificate_type,
        "thumbprint": certificate.fingerprint(hashes.SHA256()).hex(),
        "timestamp": certificate.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
        "rawData": base64.b64encode(der).decode("ascii"),
    }
