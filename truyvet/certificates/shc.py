"""SMART Health Card verification (smarthealth.cards spec):

    shc:/ digits (or chunks shc:/i/n/…) → compact JWS → header (ES256,
    zip DEF, kid) → raw DEFLATE → payload JSON → iss and kid resolved to an
    imported JWKS → ES256 signature → nbf / exp at the clock → rid against
    the key's CRL → the FHIR bundle a verifier needs → vc.type

Issuers' keys are imported per issuer URL (a snapshot of a trusted
directory), or, from the CLI's ``--jwks FILE``, for whichever issuer names
one of their key ids.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from truyvet.certificates.encoding import base64url_decode, shc_numeric_decode
from truyvet.certificates.result import SHC, Verification, VerificationFailed
from truyvet.certificates.trust import ShcKey, TrustStore

PREFIX = "shc:/"
HEALTH_CARD_TYPE = "https://smarthealth.cards#health-card"
MAX_TEXT_CHARS = 128 * 1024
MAX_DECOMPRESSED_BYTES = 512 * 1024
MAX_SUMMARY_ITEMS = 20
_CHUNK = re.compile(r"shc:/(\d{1,3})/(\d{1,3})/(\d*)")
_SINGLE = re.compile(r"shc:/(\d*)")
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())

# CVX codes of the COVID-19 vaccines (CDC), for the summary.
CVX_NAMES = {
    "207": "Moderna COVID-19", "208": "Pfizer-BioNTech COVID-19", "210": "AstraZeneca COVID-19",
    "211": "Novavax COVID-19", "212": "Janssen COVID-19", "213": "COVID-19, unspecified",
    "217": "Pfizer-BioNTech COVID-19 (12+, gray cap)", "218": "Pfizer-BioNTech COVID-19 (5-11)",
    "219": "Pfizer-BioNTech COVID-19 (6m-4y)", "221": "Moderna COVID-19 (booster)",
    "225": "Sanofi COVID-19", "226": "Sanofi COVID-19 (booster)", "227": "Moderna COVID-19 (6m-5y)",
    "228": "Moderna COVID-19 (6m-5y, booster)", "229": "Moderna COVID-19 bivalent",
    "230": "Moderna COVID-19 bivalent (6m-5y)", "300": "Pfizer-BioNTech COVID-19 bivalent",
    "301": "Pfizer-BioNTech COVID-19 bivalent (5-11)", "500": "COVID-19 non-US vaccine",
    "501": "QAZCOVID-IN", "502": "Covaxin", "503": "CoviVac", "504": "Sputnik Light",
    "505": "Sputnik V", "506": "Convidecia", "507": "ZF2001", "508": "Lilly/Kentucky BioProcessing",
    "509": "EpiVacCorona", "510": "Sinopharm BIBP", "511": "CoronaVac (Sinovac)",
    "512": "Medicago", "513": "Clover", "514": "Covishield", "515": "Medigen",
    "516": "Minhai", "517": "Anhui Zhifei",
}


def is_shc_text(text: str) -> bool:
    return text.startswith(PREFIX) or bool(_JWS.fullmatch(text))


# --- Inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    index: int
    total: int
    digits: str


def chunk_parse(text: str) -> Chunk | None:
    """A ``shc:/i/n/digits`` chunk, or None for a whole ``shc:/digits``."""
    match = _CHUNK.fullmatch(text)
    if not match:
        return None
    index, total = int(match[1]), int(match[2])
    if not 1 <= index <= total:
        raise VerificationFailed("shc_chunks", f"chunk {index} of {total}")
    return Chunk(index, total, match[3])


def chunks_join(chunks: Iterable[Chunk]) -> str:
    """The JWS of a complete chunk set (any order); raises ``shc_chunks``."""
    items = list(chunks)
    totals = {chunk.total for chunk in items}
    if len(totals) != 1:
        raise VerificationFailed("shc_chunks", "chunks of different sets")
    total = totals.pop()
    by_index = {chunk.index: chunk for chunk in items}
    if len(by_index) != len(items) or set(by_index) != set(range(1, total + 1)):
        raise VerificationFailed("shc_chunks", f"have {sorted(by_index)} of {total}")
    return "".join(
        shc_numeric_decode(by_index[i].digits) for i in range(1, total + 1)
    )


def jws_from_text(text: str) -> str:
    """The compact JWS inside ``shc:/digits`` or given as is."""
    if len(text) > MAX_TEXT_CHARS:
        raise VerificationFailed("input_too_long")
    if text.startswith(PREFIX):
        if _CHUNK.fullmatch(text):
            chunk = chunk_parse(text)
            assert chunk is not None
            return chunks_join([chunk])
        match = _SINGLE.fullmatch(text)
        if not match or not match[1]:
            raise VerificationFailed("shc_prefix")
        return shc_numeric_decode(match[1])
    return text


# --- JWS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Jws:
    signing_input: bytes
    header: Mapping[str, Any]
    payload: bytes  # inflated
    signature: bytes


def _json(data: bytes, code: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise VerificationFailed(code, "not JSON") from None


def inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise VerificationFailed("shc_decompress", str(exc)[:80]) from None
    if len(out) > MAX_DECOMPRESSED_BYTES:
        raise VerificationFailed("shc_too_large", f"over {MAX_DECOMPRESSED_BYTES} bytes")
    if not inflater.eof:
        raise VerificationFailed("shc_decompress", "truncated stream")
    return out


def jws_parse(jws: str) -> tuple[Mapping[str, Any], bytes, bytes, bytes]:
    """Header, raw payload, signature and the signing input of a compact JWS."""
    if not _JWS.fullmatch(jws):
        raise VerificationFailed("shc_jws", "not three base64url parts")
    header_part, payload_part, signature_part = jws.split(".")
    try:
        header_bytes = base64url_decode(header_part)
        payload = base64url_decode(payload_part)
        signature = base64url_decode(signature_part)
    except ValueError:
        raise VerificationFailed("shc_jws", "bad base64url") from None
    header = _json(header_bytes, "shc_jws")
    if not isinstance(header, Mapping):
        raise VerificationFailed("shc_jws", "the header is not an object")
    return header, payload, signature, f"{header_part}.{payload_part}".encode("ascii")


def es256_verify(key: ShcKey, signing_input: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.public_key.verify(der, signing_input, _ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return False
    return True


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value) if -(2**40) < value < 2**40 else None


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")


# --- FHIR --------------------------------------------------------------------------------


def _resources(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    vc = payload.get("vc")
    subject = vc.get("credentialSubject") if isinstance(vc, Mapping) else None
    bundle = subject.get("fhirBundle") if isinstance(subject, Mapping) else None
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise VerificationFailed("shc_fhir", "vc.credentialSubject.fhirBundle is not a Bundle")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise VerificationFailed("shc_fhir", "the bundle has no entries")
    resources = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            raise VerificationFailed("shc_fhir", "an entry has no resource")
        resources.append(resource)
    return resources


def fhir_check(resources: list[Mapping[str, Any]]) -> None:
    """What a verifier needs: immunizations or observations, and the Patient
    they belong to. A lab-results bundle may leave the Patient out (the
    spec's own example 02 does); an immunization card may not."""
    types = [resource["resourceType"] for resource in resources]
    if "Immunization" not in types and "Observation" not in types:
        raise VerificationFailed("shc_fhir", "no Immunization or Observation entry")
    if "Immunization" in types and "Patient" not in types:
        raise VerificationFailed("shc_fhir", "immunizations without a Patient")


def _first_coding(concept: Any) -> Mapping[str, Any]:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    if isinstance(codings, list) and codings and isinstance(codings[0], Mapping):
        return codings[0]
    return {}


def holder_of(resources: list[Mapping[str, Any]]) -> dict[str, str] | None:
    for resource in resources:
        if resource.get("resourceType") != "Patient":
            continue
        names = resource.get("name")
        name = names[0] if isinstance(names, list) and names and isinstance(
            names[0], Mapping) else {}
        given = name.get("given")
        given_text = " ".join(str(g) for g in given) if isinstance(given, list) else ""
        family = str(name.get("family") or "")
        return {
            "name": " ".join(part for part in (given_text, family) if part),
            "family_name": family, "given_name": given_text,
            "date_of_birth": str(resource.get("birthDate", "")),
        }
    return None


def _observation_value(resource: Mapping[str, Any]) -> Any:
    if "valueCodeableConcept" in resource:
        coding = _first_coding(resource["valueCodeableConcept"])
        return coding.get("display") or coding.get("code")
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, Mapping):
        parts = [str(quantity.get(k)) for k in ("comparator", "value", "unit") if k in quantity]
        return " ".join(parts)
    return resource.get("valueString")


def summary_of(payload: Mapping[str, Any], resources: list[Mapping[str, Any]]) -> dict[str, Any]:
    immunizations: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    for resource in resources:
        kind = resource.get("resourceType")
        if kind == "Immunization" and len(immunizations) < MAX_SUMMARY_ITEMS:
            coding = _first_coding(resource.get("vaccineCode"))
            code = str(coding.get("code", ""))
            performers = resource.get("performer")
            actor = performers[0].get("actor", {}) if isinstance(performers, list) and performers \
                and isinstance(performers[0], Mapping) else {}
            immunizations.append({
                "vaccine": coding.get("display") or CVX_NAMES.get(code, code),
                "code": code, "date": resource.get("occurrenceDateTime"),
                "lot": resource.get("lotNumber"), "status": resource.get("status"),
                "performer": actor.get("display") if isinstance(actor, Mapping) else None,
            })
        elif kind == "Observation" and len(observations) < MAX_SUMMARY_ITEMS:
            coding = _first_coding(resource.get("code"))
            observations.append({
                "test": coding.get("display") or coding.get("code"),
                "result": _observation_value(resource),
                "date": resource.get("effectiveDateTime"), "status": resource.get("status"),
            })
    vc = payload.get("vc")
    types = vc.get("type") if isinstance(vc, Mapping) else None
    return {
        "type": "immunization" if immunizations else "laboratory",
        "issuer": payload.get("iss"), "issued_at": _iso(_seconds(payload.get("nbf"))),
        "expires_at": _iso(_seconds(payload.get("exp"))),
        "card_types": [t for t in types if isinstance(t, str)][:10]
        if isinstance(types, list) else [],
        "doses": len(immunizations), "immunizations": immunizations,
        "observations": observations,
    }


# --- The whole chain ---------------------------------------------------------------------


def _key_for(trust: TrustStore, issuer: str, kid: Any) -> ShcKey:
    keys = [
        key for key in trust.shc_keys.get(kid, []) if key.issuer in (None, issuer)
    ] if isinstance(kid, str) else []
    if keys:
        return keys[0]
    if trust.shc_issuer_known(issuer):
        raise VerificationFailed("shc_kid_unknown", f"kid {str(kid)[:60]}")
    raise VerificationFailed("shc_issuer_unknown", issuer[:120])


def shc_verify(
    jws_or_text: str, *, trust: TrustStore, at: datetime, check_signature: bool = True
) -> Verification:
    """Verifies one card (``shc:/…`` text of one QR, or a compact JWS)."""
    result = Verification.start(SHC)
    stage = "prefix"
    try:
        jws = jws_from_text(jws_or_text)
        result.passed(stage)
        stage = "jws"
        header, compressed, signature, signing_input = jws_parse(jws)
        if header.get("alg") != "ES256":
            raise VerificationFailed("shc_algorithm", f"alg {str(header.get('alg'))[:12]}")
        zip_mode = header.get("zip")
        if zip_mode not in ("DEF", None):
            raise VerificationFailed("shc_algorithm", f"zip {str(zip_mode)[:12]}")
        result.passed(stage)
        stage = "decompress"
        payload_bytes = inflate(compressed) if zip_mode == "DEF" else compressed
        result.passed(stage)
        stage = "payload"
        payload = _json(payload_bytes, "shc_payload")
        if not isinstance(payload, Mapping) or not isinstance(payload.get("iss"), str):
            raise VerificationFailed("shc_payload", "no iss")
        result.passed(stage)
    except VerificationFailed as error:
        result.fail_from(stage, error)
        return result

    issuer: str = payload["iss"]
    kid = header.get("kid")
    key: ShcKey | None = None
    if check_signature:
        try:
            key = _key_for(trust, issuer, kid)
            result.passed("issuer")
            if not es256_verify(key, signing_input, signature):
                raise VerificationFailed("shc_signature")
            result.passed("signature")
        except VerificationFailed as error:
            result.fail_from("issuer" if result.stages["issuer"] is None else "signature", error)

    nbf, exp = _seconds(payload.get("nbf")), _seconds(payload.get("exp"))
    moment = at.timestamp()
    if nbf is not None and moment < nbf:
        result.failed("expiry", "shc_not_yet_valid")
    elif exp is not None and moment > exp:
        result.failed("expiry", "shc_expired")
    elif payload.get("exp") is not None and exp is None:
        result.failed("expiry", "shc_payload", "exp is not a NumericDate")
    else:
        result.passed("expiry")

    vc = payload.get("vc")
    rid = vc.get("rid") if isinstance(vc, Mapping) else None
    if isinstance(kid, str) and kid in trust.shc_revocations.by_kid:
        if isinstance(rid, str) and trust.shc_revocations.is_revoked(kid, rid, nbf):
            result.failed("revocation", "shc_revoked")
        else:
            result.passed("revocation")

    try:
        resources = _resources(payload)
        fhir_check(resources)
        result.passed("fhir")
        result.holder = holder_of(resources)
        result.summary = summary_of(payload, resources)
    except VerificationFailed as error:
        result.fail_from("fhir", error)

    types = vc.get("type") if isinstance(vc, Mapping) else None
    if isinstance(types, list) and HEALTH_CARD_TYPE in types:
        result.passed("vc_type")
    else:
        result.failed("vc_type", "shc_vc_type")
    return result
