"""Trust anchors, parsed once and held in memory: EU DCC signing
certificates (DSCs) by kid, SMART Health Card issuer keys by kid, and the
revocation lists. Verification reads only a ``TrustStore``; nothing here
touches the network.

Accepted files (``trust_load`` sniffs which):

- a DSC list in the shape of the EU gateway's trust list: a JSON array (or
  ``{"certificates": [...]}``) of ``{"kid": base64, "country": "AT",
  "rawData": base64 DER, ...}``;
- one or more PEM certificates, or one DER certificate;
- a JWKS (``{"keys": [...]}``) of an SHC issuer, optionally bound to the
  issuer's URL;
- an SHC CRL (``{"kid", "method": "rid", "ctr", "rids"}``);
- a DCC revocation batch (``{"hashType", "entries": [{"hash"}]}`` as the
  gateway publishes it, or ``"hashes": [...]``; hashes in base64 or hex).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, load_der_public_key

from truyvet.certificates.encoding import base64url_decode
from truyvet.certificates.revocation import HASH_TYPES, DccRevocations, ShcRevocations

# hcert spec, Appendix A.4, with the spelling (".0.1847") of the first drafts
# that DSCs in the field and the EU test data still carry.
EKU_TEST = frozenset({"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"})
EKU_VACCINATION = frozenset({"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"})
EKU_RECOVERY = frozenset({"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"})
EKU_BY_TYPE = {"t": EKU_TEST, "v": EKU_VACCINATION, "r": EKU_RECOVERY}
HCERT_EKUS = EKU_TEST | EKU_VACCINATION | EKU_RECOVERY
MAX_TRUST_FILE_BYTES = 32 * 1024 * 1024


class TrustFileError(ValueError):
    """A trust file that cannot be read; the message says why (English)."""


@dataclass(frozen=True)
class Dsc:
    kid: bytes
    country: str
    der: bytes
    public_key: Any
    not_before: float  # POSIX seconds
    not_after: float
    # The HCERT types ("v", "t", "r") this DSC may sign; None: any (no HCERT EKU).
    allowed_types: frozenset[str] | None

    @property
    def subject(self) -> str:
        return x509.load_der_x509_certificate(self.der).subject.rfc4514_string()


@dataclass(frozen=True)
class ShcKey:
    kid: str
    issuer: str | None  # None: trusted for whichever issuer the card names
    public_key: ec.EllipticCurvePublicKey


@dataclass
class TrustStore:
    dscs: dict[bytes, list[Dsc]] = field(default_factory=dict)
    shc_keys: dict[str, list[ShcKey]] = field(default_factory=dict)
    dcc_revocations: DccRevocations = field(default_factory=DccRevocations)
    shc_revocations: ShcRevocations = field(default_factory=ShcRevocations)

    def add_dsc(self, dsc: Dsc) -> None:
        listed = self.dscs.setdefault(dsc.kid, [])
        if all(existing.der != dsc.der for existing in listed):
            listed.append(dsc)

    def add_shc_key(self, key: ShcKey) -> None:
        self.shc_keys.setdefault(key.kid, []).append(key)

    def shc_issuer_known(self, issuer: str) -> bool:
        return any(
            key.issuer in (None, issuer) for keys in self.shc_keys.values() for key in keys
        )

    def merge(self, other: TrustStore) -> None:
        for dscs in other.dscs.values():
            for dsc in dscs:
                self.add_dsc(dsc)
        for keys in other.shc_keys.values():
            for key in keys:
                self.add_shc_key(key)
        for hash_type, hashes in other.dcc_revocations.anywhere.items():
            self.dcc_revocations.add(hash_type, hashes)
        for (kid, hash_type), hashes in other.dcc_revocations.by_kid.items():
            self.dcc_revocations.add(hash_type, hashes, kid)
        self.dcc_revocations.reasons.update(other.dcc_revocations.reasons)
        for shc_kid, rids in other.shc_revocations.by_kid.items():
            listed = self.shc_revocations.by_kid.setdefault(shc_kid, {})
            for rid, cutoff in rids.items():
                previous = listed.get(rid, 0.0)
                listed[rid] = None if cutoff is None or previous is None else max(
                    previous, cutoff
                )


# --- DSCs --------------------------------------------------------------------------------


def dsc_kid(der: bytes) -> bytes:
    """hcert spec A.1: the first 8 bytes of the SHA-256 of the DER certificate."""
    return hashlib.sha256(der).digest()[:8]


def _allowed_types(certificate: x509.Certificate) -> frozenset[str] | None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        oids = {oid.dotted_string for oid in usage}
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        # cryptography refuses some encodings the spec allows, such as an
        # extended-key-usage extension with zero purposes (A.4: "zero or
        # more"); read that one extension from the DER ourselves.
        oids = der_extended_key_usages(certificate.tbs_certificate_bytes)
    if not oids & HCERT_EKUS:
        # Only other purposes (or none): the spec constrains nothing.
        return None
    return frozenset(kind for kind, accepted in EKU_BY_TYPE.items() if oids & accepted)


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) items of a DER sequence's content."""
    items, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError("truncated DER")
        tag, length = data[at], data[at + 1]
        at += 2
        if length & 0x80:
            size = length & 0x7F
            if not 0 < size <= 4 or at + size > len(data):
                raise ValueError("bad DER length")
            length = int.from_bytes(data[at:at + size], "big")
            at += size
        if at + length > len(data):
            raise ValueError("truncated DER")
        items.append((tag, data[at:at + length]))
        at += length
    return items


def _der_oid(content: bytes) -> str:
    if not content:
        raise ValueError("empty OID")
    arcs = [content[0] // 40 if content[0] < 80 else 2, content[0] % 40 if content[0] < 80
            else content[0] - 80]
    value = 0
    for byte in content[1:]:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


EXTENDED_KEY_USAGE_OID = "2.5.29.37"


def der_extended_key_usages(tbs: bytes) -> set[str]:
    """The extended-key-usage OIDs in a DER TBSCertificate (empty when the
    extension is absent or lists none)."""
    (_tag, body), = _der_items(tbs)
    for tag, content in _der_items(body):
        if tag != 0xA3:  # [3] extensions
            continue
        (_seq, extensions), = _der_items(content)
        for _ext_tag, extension in _der_items(extensions):
            parts = _der_items(extension)
            if parts and _der_oid(parts[0][1]) == EXTENDED_KEY_USAGE_OID:
                (_octets, value) = parts[-1]
                (_list_tag, purposes), = _der_items(value)
                return {_der_oid(oid) for _oid_tag, oid in _der_items(purposes)}
    return set()


def _der_time(tag: int, content: bytes) -> float:
    text = content.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ: 50-99 are 19xx (RFC 5280)
        year = int(text[:2])
        text = f"{19 if year >= 50 else 20}{text}"
    return datetime.strptime(text, "%Y%m%d%H%M%S%z").timestamp()


def _fields_from_der(der: bytes) -> tuple[Any, float, float, frozenset[str] | None]:
    """Key, validity and key usage straight from the DER, for certificates
    that cryptography refuses over details a verifier need not judge (its
    X.509 parser is strict about encodings some issuers' DSCs got wrong)."""
    (_tag, certificate), = _der_items(der)
    (_tbs_tag, tbs), *_rest = _der_items(certificate)
    fields = _der_items(tbs)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    # serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo
    (start_tag, start), (end_tag, end) = _der_items(fields[3][1])
    spki = fields[5]
    head = bytes((spki[0],)) + _der_length(len(spki[1])) + spki[1]
    public_key = load_der_public_key(head)
    oids = der_extended_key_usages(_der_encode(0x30, tbs))
    allowed = None if not oids & HCERT_EKUS else frozenset(
        kind for kind, accepted in EKU_BY_TYPE.items() if oids & accepted)
    return public_key, _der_time(start_tag, start), _der_time(end_tag, end), allowed


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def _der_encode(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _der_length(len(content)) + content


def dsc_from_der(der: bytes, *, kid: bytes | None = None, country: str = "") -> Dsc:
    """A DSC from its DER bytes; ``kid`` defaults to the computed one."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        public_key = certificate.public_key()
        allowed = _allowed_types(certificate)
        not_before = certificate.not_valid_before_utc.timestamp()
        not_after = certificate.not_valid_after_utc.timestamp()
        if not country:
            countries = certificate.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
            country = str(countries[0].value) if countries else ""
    except (ValueError, TypeError) as exc:
        try:
            public_key, not_before, not_after, allowed = _fields_from_der(der)
        except (ValueError, TypeError, IndexError, UnicodeDecodeError):
            raise TrustFileError(f"not a usable X.509 certificate: {exc}") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TrustFileError("the certificate's key is neither EC nor RSA")
    return Dsc(
        kid=kid or dsc_kid(der), country=country, der=der, public_key=public_key,
        not_before=not_before, not_after=not_after, allowed_types=allowed,
    )


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise TrustFileError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64url_decode(text.strip().rstrip("="))
        except ValueError:
            raise TrustFileError(f"{what} is not base64") from None


def dscs_from_gateway_list(entries: Iterable[Any]) -> list[Dsc]:
    dscs = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise TrustFileError(f"entry {index} is not an object")
        raw = entry.get("rawData", entry.get("certificate", entry.get("raw")))
        der = _b64(raw, f"entry {index} rawData")
        kid = _b64(entry["kid"], f"entry {index} kid") if entry.get("kid") else None
        country = entry.get("country", "")
        dscs.append(dsc_from_der(der, kid=kid, country=country if isinstance(country, str) else ""))
    return dscs


def dscs_from_pem(data: bytes) -> list[Dsc]:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TrustFileError(f"unreadable PEM: {exc}") from None
    return [dsc_from_der(c.public_bytes(encoding=Encoding.DER)) for c in certificates]


# --- SMART Health Card keys and CRLs -------------------------------------------------------


def shc_key_from_jwk(jwk: Mapping[str, Any], *, issuer: str | None) -> ShcKey | None:
    """An ES256 verification key from a JWK; None for keys of other uses
    (encryption keys share JWKS files with signing keys)."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        return None
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
        return None
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TrustFileError("a JWK has no kid")
    try:
        x = int.from_bytes(base64url_decode(str(jwk.get("x", ""))), "big")
        y = int.from_bytes(base64url_decode(str(jwk.get("y", ""))), "big")
        public_key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError:
        raise TrustFileError(f"key {kid} is not a point on P-256") from None
    return ShcKey(kid=kid, issuer=issuer, public_key=public_key)


def shc_keys_from_jwks(data: Mapping[str, Any], *, issuer: str | None) -> list[ShcKey]:
    keys = data.get("keys")
    if not isinstance(keys, list):
        raise TrustFileError("a JWKS needs a 'keys' array")
    found = []
    for jwk in keys:
        if not isinstance(jwk, Mapping):
            raise TrustFileError("a JWKS key is not an object")
        key = shc_key_from_jwk(jwk, issuer=issuer)
        if key is not None:
            found.append(key)
    return found


def shc_crl_add(store: TrustStore, crl: Mapping[str, Any]) -> int:
    kid, rids = crl.get("kid"), crl.get("rids")
    if not isinstance(kid, str) or not isinstance(rids, list):
        raise TrustFileError("an SHC CRL needs 'kid' and a 'rids' array")
    if crl.get("method", "rid") != "rid":
        raise TrustFileError("only the 'rid' revocation method exists")
    store.shc_revocations.add(kid, (rid for rid in rids if isinstance(rid, str)))
    return len(rids)


def _revocation_hash(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TrustFileError("a revocation hash must be a string")
    try:
        if len(text) in (32, 64) and all(c in "0123456789abcdefABCDEF" for c in text):
            return bytes.fromhex(text)
    except ValueError:
        pass
    return _b64(text, "a revocation hash")


def dcc_revocation_add(store: TrustStore, batch: Mapping[str, Any]) -> int:
    hash_type = batch.get("hashType")
    if hash_type not in HASH_TYPES:
        raise TrustFileError(f"hashType must be one of {', '.join(HASH_TYPES)}")
    items = batch.get("entries", batch.get("hashes"))
    if not isinstance(items, list):
        raise TrustFileError("a revocation batch needs 'entries' or 'hashes'")
    hashes = [
        _revocation_hash(item.get("hash") if isinstance(item, Mapping) else item)
        for item in items
    ]
    kid = _b64(batch["kid"], "kid") if batch.get("kid") else None
    store.dcc_revocations.add(str(hash_type), hashes, kid)
    return len(hashes)


# --- Sniffing files ------------------------------------------------------------------------


def _json_kind(data: Any) -> str:
    if isinstance(data, list):
        if data and all(isinstance(x, Mapping) and "hashType" in x for x in data):
            return "dcc_revocation"
        return "dsc_list"
    if isinstance(data, Mapping):
        if "keys" in data:
            return "jwks"
        if "rids" in data:
            return "shc_crl"
        if "hashType" in data:
            return "dcc_revocation"
        if "certificates" in data:
            return "dsc_list"
    raise TrustFileError("unrecognised JSON: not a DSC list, JWKS, CRL or revocation batch")


def trust_load(data: bytes, *, issuer: str | None = None, store: TrustStore | None = None
               ) -> tuple[TrustStore, str, int]:
    """Reads one trust file into ``store`` (a new one by default). Returns
    the store, the kind of file read and the number of entries."""
    store = store if store is not None else TrustStore()
    if len(data) > MAX_TRUST_FILE_BYTES:
        raise TrustFileError("file too large")
    stripped = data.lstrip()
    if stripped[:1] in (b"[", b"{"):
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            raise TrustFileError("not valid JSON") from None
        kind = _json_kind(parsed)
        if kind == "dsc_list":
            entries = parsed["certificates"] if isinstance(parsed, Mapping) else parsed
            if not isinstance(entries, list):
                raise TrustFileError("'certificates' must be an array")
            dscs = dscs_from_gateway_list(entries)
            for dsc in dscs:
                store.add_dsc(dsc)
            return store, kind, len(dscs)
        if kind == "jwks":
            keys = shc_keys_from_jwks(parsed, issuer=issuer)
            for key in keys:
                store.add_shc_key(key)
            return store, kind, len(keys)
        if kind == "shc_crl":
            return store, kind, shc_crl_add(store, parsed)
        batches = parsed if isinstance(parsed, list) else [parsed]
        return store, kind, sum(dcc_revocation_add(store, batch) for batch in batches)
    if b"-----BEGIN" in data:
        dscs = dscs_from_pem(data)
    else:
        dscs = [dsc_from_der(data)]
    for dsc in dscs:
        store.add_dsc(dsc)
    return store, "dsc", len(dscs)
