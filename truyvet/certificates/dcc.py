"""EU Digital COVID Certificate verification, every stage of the HC1 chain
(hcert spec, context/hcert_spec.md):

    "HC1:" → Base45 → zlib (or raw) → COSE_Sign1 → kid in the trust list →
    signature (ES256/PS256) → CWT (iss, iat, exp, -260/1) → DSC validity →
    DSC key usage against the type (v/t/r) → expiry at the clock →
    JSON schema of the DCC's own ver → value sets → revocation

Each stage is a function that raises ``VerificationFailed``; ``dcc_verify``
runs them in order and records each outcome. The pieces are also used by
the dgc-testdata runner (conformance.py) and, for issuing, by whoever needs
to decode what was made.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from truyvet.certificates import dccschema
from truyvet.certificates.cose import ALGORITHMS, Sign1, cbor_loads, sign1_parse, signature_verify
from truyvet.certificates.encoding import base45_decode
from truyvet.certificates.result import DCC, Verification, VerificationFailed
from truyvet.certificates.revocation import dcc_revocation_hashes
from truyvet.certificates.trust import Dsc, TrustStore

PREFIX = "HC1:"
# A QR code holds at most 4,296 alphanumeric characters.
MAX_TEXT_CHARS = 8 * 1024
# What a QR-sized zlib stream may inflate to; more is a decompression bomb.
MAX_DECOMPRESSED_BYTES = 64 * 1024

CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_HCERT = -260
HCERT_EU_DCC = 1
ENTRY_TYPES = {"v": "vaccination", "t": "test", "r": "recovery"}


# --- Transport ---------------------------------------------------------------------------


def unprefix(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise VerificationFailed("input_too_long")
    if not text.startswith(PREFIX):
        shown = text[:4] if text[:2] == "HC" else ""
        raise VerificationFailed("dcc_prefix", f"got {shown!r}" if shown else "")
    return text[len(PREFIX):]


def _is_zlib(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _looks_like_cose(data: bytes) -> bool:
    # Tag 18 (COSE_Sign1), tag 61 (CWT) or an untagged 4-item array.
    return data[:1] in (b"\xd2", b"\x84") or data[:2] == b"\xd8\x3d"


def decompress(data: bytes, *, allow_raw: bool = True) -> bytes:
    """Inflates a zlib stream, refusing more than MAX_DECOMPRESSED_BYTES; an
    uncompressed COSE passes through when ``allow_raw`` (the spec allows it)."""
    if not _is_zlib(data):
        if allow_raw and _looks_like_cose(data):
            return data
        raise VerificationFailed("dcc_decompress", "not a zlib stream")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise VerificationFailed("dcc_decompress", str(exc)[:80]) from None
    if len(out) > MAX_DECOMPRESSED_BYTES:
        raise VerificationFailed("dcc_too_large", f"over {MAX_DECOMPRESSED_BYTES} bytes")
    if not inflater.eof:
        raise VerificationFailed("dcc_decompress", "truncated stream")
    return out


# --- CWT ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cwt:
    issuer: str | None
    issued_at: float
    expires_at: float
    dcc: dict[str, Any]  # JSON types only


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise VerificationFailed("dcc_cwt", f"{name} is not a NumericDate")
    if not -(2**40) < value < 2**40:
        raise VerificationFailed("dcc_cwt", f"{name} is out of range")
    return float(value)


def json_compatible(value: Any, depth: int = 0) -> Any:
    """CBOR values as JSON types: dates as ISO 8601 strings, byte strings as
    hex, map keys as strings."""
    if depth > 32:
        raise VerificationFailed("dcc_cwt", "nested too deeply")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): json_compatible(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_compatible(v, depth + 1) for v in value]
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _claims(payload: bytes) -> Mapping[Any, Any]:
    try:
        claims = cbor_loads(payload)
    except ValueError as exc:
        raise VerificationFailed("dcc_cwt", str(exc)) from None
    if not isinstance(claims, Mapping):
        raise VerificationFailed("dcc_cwt", "the payload is not a map")
    return claims


def hcert_parse(payload: bytes) -> dict[str, Any]:
    """The EU DCC in a CWT payload (claim -260/1) as JSON types, whatever
    the other claims say."""
    hcert = _claims(payload).get(CLAIM_HCERT)
    if not isinstance(hcert, Mapping) or not isinstance(hcert.get(HCERT_EU_DCC), Mapping):
        raise VerificationFailed("dcc_cwt", "claim -260/1 is missing")
    content: dict[str, Any] = json_compatible(hcert[HCERT_EU_DCC])
    return content


def cwt_parse(payload: bytes) -> Cwt:
    claims = _claims(payload)
    issuer = claims.get(CLAIM_ISS)
    if issuer is not None and not isinstance(issuer, str):
        raise VerificationFailed("dcc_cwt", "iss is not a string")
    if CLAIM_IAT not in claims or CLAIM_EXP not in claims:
        raise VerificationFailed("dcc_cwt", "iat or exp is missing")
    issued_at = _seconds(claims[CLAIM_IAT], "iat")
    expires_at = _seconds(claims[CLAIM_EXP], "exp")
    hcert = claims.get(CLAIM_HCERT)
    if not isinstance(hcert, Mapping) or not isinstance(hcert.get(HCERT_EU_DCC), Mapping):
        raise VerificationFailed("dcc_cwt", "claim -260/1 is missing")
    return Cwt(issuer, issued_at, expires_at, json_compatible(hcert[HCERT_EU_DCC]))


def entry_types(dcc: Mapping[str, Any]) -> list[str]:
    return [kind for kind in ENTRY_TYPES if kind in dcc]


def first_entry(dcc: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    for kind in ENTRY_TYPES:
        entries = dcc.get(kind)
        if isinstance(entries, list) and entries and isinstance(entries[0], Mapping):
            return kind, entries[0]
    return None


# --- Checks ------------------------------------------------------------------------------


def signer_find(message: Sign1, trust: TrustStore) -> Dsc:
    """The trusted DSC whose key verifies ``message``. Every DSC listed under
    the kid is tried (spec §3.3.3: 8-byte kids can collide)."""
    if message.algorithm not in ALGORITHMS:
        raise VerificationFailed("dcc_algorithm", f"alg {str(message.algorithm)[:12]}")
    candidates = trust_candidates(message, trust)
    for dsc in candidates:
        if signature_verify(message, dsc.public_key):
            return dsc
    raise VerificationFailed("dcc_signature")


def trust_candidates(message: Sign1, trust: TrustStore) -> list[Dsc]:
    kid = message.kid
    if kid is None:
        raise VerificationFailed("dcc_kid_missing")
    candidates = trust.dscs.get(kid)
    if not candidates:
        raise VerificationFailed("dcc_kid_unknown", f"kid {kid.hex()[:32]}")
    return candidates


def certificate_check(cwt: Cwt, dsc: Dsc, at: datetime) -> None:
    """The DSC is valid at the clock, and the certificate's life lies within
    the DSC's (spec §3.3.5–3.3.6)."""
    moment = at.timestamp()
    if moment < dsc.not_before:
        raise VerificationFailed("dcc_dsc_not_yet_valid")
    if moment > dsc.not_after:
        raise VerificationFailed("dcc_dsc_expired")
    if cwt.issued_at < dsc.not_before:
        raise VerificationFailed("dcc_iat_before_dsc")
    if cwt.expires_at > dsc.not_after:
        raise VerificationFailed("dcc_exp_after_dsc")


def key_usage_check(content: Mapping[str, Any], dsc: Dsc) -> None:
    """Spec A.4: a DSC carrying HCERT key-usage OIDs signs only those types."""
    if dsc.allowed_types is None:
        return
    kinds = entry_types(content)
    if not kinds or any(kind not in dsc.allowed_types for kind in kinds):
        raise VerificationFailed(
            "dcc_key_usage", f"type {'/'.join(kinds) or 'none'}, allowed "
            f"{'/'.join(sorted(dsc.allowed_types)) or 'none'}"
        )


def expiry_check(cwt: Cwt, at: datetime) -> None:
    moment = at.timestamp()
    if moment < cwt.issued_at:
        raise VerificationFailed("dcc_not_yet_valid")
    if moment > cwt.expires_at:
        raise VerificationFailed("dcc_expired")


def revocation_check(message: Sign1, cwt: Cwt, trust: TrustStore) -> bool | None:
    """None when no DCC revocation list is loaded; otherwise True (not revoked)."""
    if not len(trust.dcc_revocations):
        return None
    found = first_entry(cwt.dcc)
    hashes = dcc_revocation_hashes(message, found[1] if found else None)
    if trust.dcc_revocations.is_revoked(hashes, message.kid):
        raise VerificationFailed("dcc_revoked", trust.dcc_revocations.reason_of(hashes))
    return True


# --- Holder and summary ------------------------------------------------------------------


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")


def holder_of(dcc: Mapping[str, Any]) -> dict[str, str] | None:
    name = dcc.get("nam")
    if not isinstance(name, Mapping):
        return None
    family = str(name.get("fn") or name.get("fnt") or "")
    given = str(name.get("gn") or name.get("gnt") or "")
    return {
        "name": " ".join(part for part in (given, family) if part),
        "family_name": family,
        "given_name": given,
        "date_of_birth": str(dcc.get("dob", "")),
    }


def summary_of(cwt: Cwt) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "issuer_country": cwt.issuer, "issued_at": _iso(cwt.issued_at),
        "expires_at": _iso(cwt.expires_at), "schema_version": cwt.dcc.get("ver"),
    }
    found = first_entry(cwt.dcc)
    if found is None:
        return summary
    kind, entry = found
    sets = dccschema.DISPLAYED_FIELDS[kind]

    def shown(field: str) -> Any:
        return dccschema.display(sets[field], entry.get(field)) if field in sets else entry.get(
            field
        )

    summary.update({
        "type": ENTRY_TYPES[kind], "disease": shown("tg"), "country": entry.get("co"),
        "certificate_issuer": entry.get("is"),
    })
    if kind == "v":
        summary.update({
            "vaccine": shown("mp"), "vaccine_type": shown("vp"), "manufacturer": shown("ma"),
            "dose": entry.get("dn"), "doses": entry.get("sd"), "date": entry.get("dt"),
        })
    elif kind == "t":
        summary.update({
            "test_type": shown("tt"), "test_name": entry.get("nm"),
            "manufacturer": shown("ma"), "sampled_at": entry.get("sc"),
            "result": shown("tr"), "centre": entry.get("tc"),
        })
    else:
        summary.update({
            "first_positive": entry.get("fr"), "valid_from": entry.get("df"),
            "valid_until": entry.get("du"),
        })
    return summary


# --- The whole chain ---------------------------------------------------------------------


def dcc_verify(
    text: str, *, trust: TrustStore, at: datetime, check_signature: bool = True
) -> Verification:
    """Verifies one ``HC1:`` string at ``at`` against ``trust``. Stages after
    a failed transport or COSE stage are not reached (None); after those,
    every stage runs so that all the reasons are reported."""
    result = Verification.start(DCC)
    try:
        body = unprefix(text)
        result.passed("prefix")
    except VerificationFailed as error:
        result.fail_from("prefix", error)
        return result
    stage = "base45"
    try:
        compressed = base45_decode(body)
        result.passed(stage)
        stage = "decompress"
        raw = decompress(compressed)
        result.passed(stage)
        stage = "cose"
        message = sign1_parse(raw)
        result.passed(stage)
    except VerificationFailed as error:
        result.fail_from(stage, error)
        return result

    dsc: Dsc | None = None
    if check_signature:
        try:
            trust_candidates(message, trust)
            result.passed("trust")
            dsc = signer_find(message, trust)
            result.passed("signature")
        except VerificationFailed as error:
            result.fail_from("trust" if result.stages["trust"] is None else "signature", error)
    else:
        found = trust.dscs.get(message.kid or b"")
        dsc = found[0] if found else None

    try:
        cwt = cwt_parse(message.payload)
        result.passed("cwt")
    except VerificationFailed as error:
        result.fail_from("cwt", error)
        return result
    result.holder = holder_of(cwt.dcc)
    result.summary = summary_of(cwt)

    checks: list[tuple[str, Any]] = []
    if dsc is not None:
        checks += [("certificate", lambda: certificate_check(cwt, dsc, at)),
                   ("key_usage", lambda: key_usage_check(cwt.dcc, dsc))]
    checks += [
        ("expiry", lambda: expiry_check(cwt, at)),
        ("schema", lambda: dccschema.dcc_schema_check(cwt.dcc)),
        ("valuesets", lambda: dccschema.valueset_check(cwt.dcc)),
    ]
    for name, check in checks:
        try:
            check()
            result.passed(name)
        except VerificationFailed as error:
            result.fail_from(name, error)
    try:
        result.stages["revocation"] = revocation_check(message, cwt, trust)
    except VerificationFailed as error:
        result.fail_from("revocation", error)
    return result
