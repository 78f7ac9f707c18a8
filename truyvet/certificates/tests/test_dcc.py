"""EU DCC verification, on certificates built in the test by an issuer's
means alone (tests/builders.py: cryptography, cbor2, zlib, base45)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import base45
import cbor2
import pytest

from truyvet.certificates.dcc import dcc_verify
from truyvet.certificates.trust import TrustStore, trust_load

from .builders import (
    EKU_RECOVERY,
    EKU_TEST,
    EKU_VACCINATION,
    NOW,
    DccSpec,
    Signer,
    dcc_from_parts,
    dcc_parts,
    make_dcc,
    make_signer,
    pcr_result,
    vaccination,
)


def trusting(*signers: Signer) -> TrustStore:
    store = TrustStore()
    for signer in signers:
        trust_load(signer.pem(), store=store)
    return store


@pytest.fixture(scope="module")
def signer() -> Signer:
    return make_signer()


def test_a_dcc_signed_by_a_trusted_dsc_is_valid_with_its_holder_and_summary(signer: Signer) -> None:
    result = dcc_verify(make_dcc(signer), trust=trusting(signer), at=NOW)
    assert result.valid, result.codes
    assert set(result.stages.values()) == {True, None}
    assert result.stages["revocation"] is None  # no revocation list loaded
    assert result.holder == {"name": "Thị Hoa Nguyễn", "family_name": "Nguyễn",
                             "given_name": "Thị Hoa", "date_of_birth": "1990-04-12"}
    assert result.summary is not None
    assert result.summary["type"] == "vaccination"
    assert result.summary["vaccine"] == "Comirnaty"
    assert (result.summary["dose"], result.summary["doses"]) == (2, 2)


def test_a_ps256_dcc_with_its_kid_in_the_unprotected_header_is_valid() -> None:
    rsa_signer = make_signer(algorithm="PS256")
    text = make_dcc(rsa_signer, DccSpec(kid_in="unprotected"))
    assert dcc_verify(text, trust=trusting(rsa_signer), at=NOW).valid


def test_a_payload_that_was_never_compressed_is_accepted(signer: Signer) -> None:
    text = make_dcc(signer, DccSpec(compress=False))
    assert dcc_verify(text, trust=trusting(signer), at=NOW).valid


def test_an_altered_payload_fails_the_signature(signer: Signer) -> None:
    parts = dcc_parts(make_dcc(signer))
    claims = cbor2.loads(parts[2])
    claims[-260][1]["nam"]["fn"] = "Phạm"
    parts[2] = cbor2.dumps(claims)
    result = dcc_verify(dcc_from_parts(parts), trust=trusting(signer), at=NOW)
    assert not result.valid
    assert result.codes == ["dcc_signature"]
    assert result.stages["trust"] is True and result.stages["signature"] is False


def test_an_altered_signature_fails(signer: Signer) -> None:
    parts = dcc_parts(make_dcc(signer))
    parts[3] = bytes([parts[3][0] ^ 1]) + parts[3][1:]
    assert dcc_verify(dcc_from_parts(parts), trust=trusting(signer), at=NOW).codes == [
        "dcc_signature"]


def test_a_dsc_missing_from_the_trust_list_is_an_unknown_kid(signer: Signer) -> None:
    stranger = make_signer()
    result = dcc_verify(make_dcc(stranger), trust=trusting(signer), at=NOW)
    assert result.codes == ["dcc_kid_unknown"]


def test_a_key_whose_kid_collides_is_tried_with_every_dsc_under_that_kid(signer: Signer) -> None:
    impostor = make_signer()
    store = trusting(signer)
    # Another DSC listed under the same 8-byte kid must not hide the right one.
    store.dscs[signer.kid].insert(0, trusting(impostor).dscs[impostor.kid][0])
    assert dcc_verify(make_dcc(signer), trust=store, at=NOW).valid


def test_a_kid_in_the_protected_header_wins_over_the_unprotected_one(signer: Signer) -> None:
    parts = dcc_parts(make_dcc(signer))
    parts[1] = {4: signer.kid}
    parts[0] = cbor2.dumps({1: -7, 4: b"wrongkid"})
    result = dcc_verify(dcc_from_parts(parts), trust=trusting(signer), at=NOW)
    assert "dcc_kid_unknown" in result.codes


def test_an_expired_dcc_fails_expiry_and_one_not_yet_issued_too(signer: Signer) -> None:
    text = make_dcc(signer, DccSpec(expires_at=NOW - timedelta(hours=1),
                                    issued_at=NOW - timedelta(days=30)))
    assert dcc_verify(text, trust=trusting(signer), at=NOW).codes == ["dcc_expired"]
    future = make_dcc(signer, DccSpec(issued_at=NOW + timedelta(hours=1)))
    assert dcc_verify(future, trust=trusting(signer), at=NOW).codes == ["dcc_not_yet_valid"]


def test_a_dcc_living_beyond_its_dsc_fails_the_certificate_stage() -> None:
    short = make_signer(not_after=NOW + timedelta(days=10))
    text = make_dcc(short, DccSpec(expires_at=NOW + timedelta(days=30)))
    result = dcc_verify(text, trust=trusting(short), at=NOW)
    assert result.codes == ["dcc_exp_after_dsc"]


@pytest.mark.parametrize(("ekus", "dcc", "allowed"), [
    ([EKU_VACCINATION], vaccination(), True),
    ([EKU_TEST], vaccination(), False),
    ([EKU_RECOVERY, EKU_TEST], pcr_result(), True),
    ([EKU_VACCINATION], pcr_result(), False),
    (["1.3.6.1.5.5.7.3.1"], pcr_result(), True),  # no HCERT OID: any type
    ([], pcr_result(), True),
])
def test_key_usage_oids_constrain_the_certificate_type(
    ekus: list[str], dcc: dict[str, Any], allowed: bool
) -> None:
    constrained = make_signer(ekus=ekus or None)
    result = dcc_verify(make_dcc(constrained, DccSpec(dcc=dcc)), trust=trusting(constrained),
                        at=NOW)
    assert result.valid is allowed
    assert result.stages["key_usage"] is allowed


def test_the_schema_is_the_one_of_the_dccs_own_version(signer: Signer) -> None:
    # "1950" is a valid dob from schema 1.2.1 on, not under 1.0.0.
    old = make_dcc(signer, DccSpec(dcc=vaccination(ver="1.0.0", dob="1950")))
    new = make_dcc(signer, DccSpec(dcc=vaccination(ver="1.3.0", dob="1950")))
    assert dcc_verify(old, trust=trusting(signer), at=NOW).codes == ["dcc_schema"]
    assert dcc_verify(new, trust=trusting(signer), at=NOW).valid
    # A later patch version of a known minor validates with the nearest earlier schema.
    assert dcc_verify(make_dcc(signer, DccSpec(dcc=vaccination(ver="1.3.2"))),
                      trust=trusting(signer), at=NOW).valid
    other_major = make_dcc(signer, DccSpec(dcc=vaccination(ver="2.0.0")))
    assert dcc_verify(other_major, trust=trusting(signer), at=NOW).codes == [
        "dcc_schema_version"]


def test_two_entries_in_one_dcc_are_refused_whatever_the_schema_version(signer: Signer) -> None:
    # Schema 1.3.0 says it with oneOf; earlier schemas did not, the regulation did.
    both = vaccination(t=pcr_result()["t"])
    assert dcc_verify(make_dcc(signer, DccSpec(dcc=both)), trust=trusting(signer),
                      at=NOW).codes == ["dcc_schema"]
    both_old = vaccination(ver="1.0.0", t=pcr_result()["t"])
    assert dcc_verify(make_dcc(signer, DccSpec(dcc=both_old)), trust=trusting(signer),
                      at=NOW).codes == ["dcc_multiple_entries"]


def test_a_code_outside_the_value_sets_fails_the_value_set_stage(signer: Signer) -> None:
    odd = vaccination()
    odd["v"][0]["mp"] = "NOT-A-VACCINE"
    result = dcc_verify(make_dcc(signer, DccSpec(dcc=odd)), trust=trusting(signer), at=NOW)
    assert result.codes == ["dcc_valueset"]


def test_a_cwt_without_the_hcert_claim_fails_the_cwt_stage(signer: Signer) -> None:
    text = make_dcc(signer, DccSpec(claims={1: "VN", 6: 1, 4: 2}))
    assert dcc_verify(text, trust=trusting(signer), at=NOW).codes == ["dcc_cwt"]


def _revocation_batch(hash_type: str, value: bytes, kid: bytes | None = None) -> bytes:
    import base64
    import json

    batch = {"hashType": hash_type, "entries": [{"hash": base64.b64encode(value).decode()}]}
    if kid:
        batch["kid"] = base64.b64encode(kid).decode()
    return json.dumps(batch).encode()


@pytest.mark.parametrize("hash_type", ["UCI", "COUNTRYCODEUCI", "SIGNATURE"])
def test_a_dcc_on_a_revocation_list_is_revoked_by_each_hash_type(
    signer: Signer, hash_type: str
) -> None:
    text = make_dcc(signer)
    uvci = "URN:UVCI:01:VN:TESTVACC0001"
    parts = dcc_parts(text)
    source = {"UCI": uvci.encode(), "COUNTRYCODEUCI": ("VN" + uvci).encode(),
              "SIGNATURE": parts[3][:32]}[hash_type]  # ECDSA: the r half only
    store = trusting(signer)
    trust_load(_revocation_batch(hash_type, hashlib.sha256(source).digest()[:16]), store=store)
    result = dcc_verify(text, trust=store, at=NOW)
    assert result.codes == ["dcc_revoked"]
    other = make_dcc(signer, DccSpec(dcc=vaccination(v=[{**vaccination()["v"][0],
                                                          "ci": "URN:UVCI:01:VN:OTHER"}])))
    if hash_type != "SIGNATURE":
        assert dcc_verify(other, trust=store, at=NOW).stages["revocation"] is True


def test_a_revocation_batch_for_another_dsc_does_not_apply(signer: Signer) -> None:
    store = trusting(signer)
    uvci_hash = hashlib.sha256(b"URN:UVCI:01:VN:TESTVACC0001").digest()[:16]
    trust_load(_revocation_batch("UCI", uvci_hash, kid=b"otherkid"), store=store)
    assert dcc_verify(make_dcc(signer), trust=store, at=NOW).valid


def test_without_signature_checking_every_other_stage_still_runs(signer: Signer) -> None:
    stranger = make_signer()
    result = dcc_verify(make_dcc(stranger), trust=TrustStore(), at=NOW, check_signature=False)
    assert result.valid
    assert result.stages["signature"] is None and result.stages["trust"] is None
    assert result.stages["schema"] is True


@pytest.mark.parametrize(("text", "code"), [
    ("HC2:ABC", "dcc_prefix"),
    ("HC1:abc", "dcc_base45"),
    ("HC1:A", "dcc_base45"),
    ("HC1:" + base45.b45encode(b"\x78\x9c garbage").decode(), "dcc_decompress"),
    ("HC1:" + base45.b45encode(b"\x84\x40").decode(), "dcc_cose"),
])
def test_each_broken_transport_stage_has_its_own_code(text: str, code: str) -> None:
    assert dcc_verify(text, trust=TrustStore(), at=NOW).codes == [code]


def test_a_dsc_that_cryptography_refuses_is_read_from_its_der(signer: Signer) -> None:
    """Some issuers' DSCs carry encodings cryptography's strict parser
    refuses; the key, validity and key usage are still read."""
    from truyvet.certificates.trust import _fields_from_der

    key, not_before, not_after, allowed = _fields_from_der(signer.der)
    assert key.public_numbers() == signer.key.public_key().public_numbers()
    assert not_before == signer.certificate.not_valid_before_utc.timestamp()
    assert not_after == signer.certificate.not_valid_after_utc.timestamp()
    assert allowed is None
    constrained = make_signer(ekus=[EKU_TEST, EKU_RECOVERY])
    assert _fields_from_der(constrained.der)[3] == frozenset({"t", "r"})
