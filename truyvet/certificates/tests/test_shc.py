"""SMART Health Card verification: the spec's examples 00-03 with the
shared issuer's keys, and cards built in the test (tests/builders.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from truyvet.certificates.conformance import clock_parse
from truyvet.certificates.result import Verification
from truyvet.certificates.shc import shc_verify
from truyvet.certificates.trust import TrustStore, trust_load
from truyvet.certificates.verify import (
    Credential,
    chunks_grouped,
    credentials_in_bytes,
    credentials_in_text,
)

from .builders import (
    NOW,
    ShcIssuer,
    b64url,
    make_jws,
    make_shc_issuer,
    shc_chunks,
    shc_numeric,
    shc_payload,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "shc"
EXAMPLE_ISSUER = "https://spec.smarthealth.cards/examples/issuer"
# The examples were signed on 2023-06-22; example 03 expires on 2024-06-21.
EXAMPLES_CLOCK = clock_parse("2023-07-01T00:00:00Z")

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not there")


def shared_trust(*, crl: bool = False) -> TrustStore:
    store = TrustStore()
    trust_load((SHARED / "issuer/.well-known/jwks.json").read_bytes(), issuer=EXAMPLE_ISSUER,
               store=store)
    if crl:
        for path in (SHARED / "issuer/.well-known/crl").glob("*.json"):
            trust_load(path.read_bytes(), store=store)
    return store


def verify_all(
    credentials: Iterable[Credential], trust: TrustStore, at: datetime = EXAMPLES_CLOCK
) -> list[Verification]:
    return [c.verify(trust=trust, at=at) for c in chunks_grouped(credentials)]


@needs_shared
@pytest.mark.parametrize("example", ["00", "01", "02", "03"])
def test_the_spec_examples_verify_with_the_shared_issuer_keys_in_every_form(example: str) -> None:
    trust = shared_trust()
    forms = [
        credentials_in_bytes((SHARED / f"example-{example}-d-jws.txt").read_bytes(), "jws"),
        credentials_in_bytes(
            (SHARED / f"example-{example}-e-file.smart-health-card").read_bytes(), "file"),
        [c for path in sorted(SHARED.glob(f"example-{example}-f-qr-code-numeric-value-*.txt"))
         for c in credentials_in_bytes(path.read_bytes(), path.name)],
    ]
    for credentials in forms:
        [result] = verify_all(credentials, trust)
        assert result.valid, result.codes
        assert result.stages["signature"] is True


@needs_shared
def test_example_03_is_revoked_by_the_issuers_crl_and_expired_today() -> None:
    text = (SHARED / "example-03-d-jws.txt").read_text()
    result = shc_verify(text, trust=shared_trust(crl=True), at=EXAMPLES_CLOCK)
    assert result.codes == ["shc_revoked"]
    assert result.holder is not None and result.holder["name"] == "Johnny Revoked"
    later = shc_verify(text, trust=shared_trust(), at=clock_parse("2025-01-01T00:00:00Z"))
    assert later.codes == ["shc_expired"]
    # Example 00's rid is not on the list.
    first = shc_verify((SHARED / "example-00-d-jws.txt").read_text(),
                       trust=shared_trust(crl=True), at=EXAMPLES_CLOCK)
    assert first.valid and first.stages["revocation"] is True


@needs_shared
def test_a_key_bound_to_another_issuer_does_not_vouch_for_these_cards() -> None:
    store = TrustStore()
    trust_load((SHARED / "issuer/.well-known/jwks.json").read_bytes(),
               issuer="https://someone.else.example/issuer", store=store)
    result = shc_verify((SHARED / "example-00-d-jws.txt").read_text(), trust=store,
                        at=EXAMPLES_CLOCK)
    assert result.codes == ["shc_issuer_unknown"]


# --- Cards built in the test ------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer() -> ShcIssuer:
    return make_shc_issuer()


def trusting(issuer: ShcIssuer) -> TrustStore:
    return trust_load(issuer.jwks(), issuer=issuer.url)[0]


def test_a_card_built_from_cryptography_and_zlib_alone_verifies(issuer: ShcIssuer) -> None:
    jws = make_jws(issuer, shc_payload(rid="abc123"))
    result = shc_verify(shc_numeric(jws), trust=trusting(issuer), at=NOW)
    assert result.valid, result.codes
    assert result.holder == {"name": "Minh An Lê", "family_name": "Lê", "given_name": "Minh An",
                             "date_of_birth": "1979-09-09"}
    assert result.summary is not None
    assert result.summary["immunizations"][0]["vaccine"] == "Pfizer-BioNTech COVID-19"


def test_a_chunked_card_is_joined_from_its_parts_in_any_order(issuer: ShcIssuer) -> None:
    jws = make_jws(issuer, shc_payload())
    parts = shc_chunks(jws, 3)
    credentials = credentials_in_text("\n".join([parts[2], parts[0], parts[1]]), "pasted")
    [result] = verify_all(credentials, trusting(issuer), at=NOW)
    assert result.valid
    [missing] = verify_all(credentials_in_text("\n".join(parts[:2]), "pasted"),
                           trusting(issuer), at=NOW)
    assert missing.codes == ["shc_chunks"]


def _altered_payload(jws: str) -> str:
    import zlib

    header, _payload, signature = jws.split(".")
    payload = shc_payload()
    payload["vc"]["credentialSubject"]["fhirBundle"]["entry"][0]["resource"]["birthDate"] = \
        "1999-01-01"
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(json.dumps(payload).encode()) + deflater.flush()
    return f"{header}.{b64url(body)}.{signature}"


def _altered_signature(jws: str) -> str:
    head, _dot, signature = jws.rpartition(".")
    swapped = "A" if signature[5] != "A" else "B"
    return f"{head}.{signature[:5]}{swapped}{signature[6:]}"


@pytest.mark.parametrize(("case", "code"), [
    ("altered payload", "shc_signature"),
    ("altered signature", "shc_signature"),
    ("wrong key", "shc_kid_unknown"),
    ("unknown issuer", "shc_issuer_unknown"),
    ("revoked rid", "shc_revoked"),
    ("expired exp", "shc_expired"),
    ("not yet valid", "shc_not_yet_valid"),
    ("missing vc.type", "shc_vc_type"),
])
def test_each_way_a_card_can_be_wrong_fails_with_its_own_code(
    issuer: ShcIssuer, case: str, code: str
) -> None:
    trust = trusting(issuer)
    payload = shc_payload(rid="r3vok3d")
    jws = make_jws(issuer, payload)
    if case == "altered payload":
        jws = _altered_payload(jws)
    elif case == "altered signature":
        jws = _altered_signature(jws)
    elif case == "wrong key":
        jws = make_jws(make_shc_issuer(), payload)
    elif case == "unknown issuer":
        jws = make_jws(issuer, shc_payload("https://unknown.example/issuer"))
    elif case == "revoked rid":
        crl = {"kid": issuer.jwk["kid"], "method": "rid", "ctr": 1, "rids": ["r3vok3d"]}
        trust_load(json.dumps(crl).encode(), store=trust)
    elif case == "expired exp":
        jws = make_jws(issuer, shc_payload(exp=NOW - timedelta(minutes=1)))
    elif case == "not yet valid":
        jws = make_jws(issuer, shc_payload(nbf=NOW + timedelta(hours=1)))
    elif case == "missing vc.type":
        jws = make_jws(issuer, shc_payload(types=[]))
    result = shc_verify(jws, trust=trust, at=NOW)
    assert not result.valid
    assert result.codes == [code]


def test_a_rid_revoked_from_a_time_on_spares_cards_issued_later(issuer: ShcIssuer) -> None:
    trust = trusting(issuer)
    cutoff = int((NOW - timedelta(days=10)).timestamp())
    crl = {"kid": issuer.jwk["kid"], "method": "rid", "ctr": 2, "rids": [f"later.{cutoff}"]}
    trust_load(json.dumps(crl).encode(), store=trust)
    recent = make_jws(issuer, shc_payload(rid="later", nbf=NOW - timedelta(days=1)))
    old = make_jws(issuer, shc_payload(rid="later", nbf=NOW - timedelta(days=30)))
    assert shc_verify(recent, trust=trust, at=NOW).valid
    assert shc_verify(old, trust=trust, at=NOW).codes == ["shc_revoked"]


def test_an_immunization_card_without_a_patient_fails_the_fhir_stage(issuer: ShcIssuer) -> None:
    payload = shc_payload()
    del payload["vc"]["credentialSubject"]["fhirBundle"]["entry"][0]
    result = shc_verify(make_jws(issuer, payload), trust=trusting(issuer), at=NOW)
    assert result.codes == ["shc_fhir"]


def test_a_decompression_bomb_is_refused(issuer: ShcIssuer) -> None:
    import zlib

    header = b64url(json.dumps({"zip": "DEF", "alg": "ES256", "kid": "x"}).encode())
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflater.compress(b"[" * (8 * 1024 * 1024)) + deflater.flush()
    result = shc_verify(f"{header}.{b64url(bomb)}.AAAA", trust=trusting(issuer), at=NOW)
    assert result.codes == ["shc_too_large"]
