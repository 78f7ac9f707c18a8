"""Whatever arrives (random bytes, truncated strings, huge inputs, wrong
prefixes, deeply nested CBOR, decompression bombs), the verifier answers
with a clear error and never raises."""

from __future__ import annotations

import zlib
from typing import Any

import base45
import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truyvet.certificates.encoding import base45_decode, shc_numeric_decode
from truyvet.certificates.result import VerificationFailed
from truyvet.certificates.trust import TrustStore
from truyvet.certificates.verify import credential_verify, credentials_in_bytes

from .builders import NOW, make_dcc, make_signer

TRUST = TrustStore()
SIGNED = make_dcc(make_signer())
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hc1(payload: bytes, *, compress: bool = True) -> str:
    return "HC1:" + str(base45.b45encode(zlib.compress(payload) if compress else payload).decode())


def check(text: str) -> None:
    result = credential_verify(text, trust=TRUST, at=NOW)
    assert not result.valid
    assert result.errors and all(p.code and p.message for p in result.errors)


@FUZZ
@given(st.text(max_size=3000))
def test_any_text_is_answered(text: str) -> None:
    check(text)


@FUZZ
@given(st.sampled_from(["HC1:", "shc:/", "HC2:", "shc:/1/2/", ""]), st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=2000))
def test_prefixes_followed_by_anything_are_answered(prefix: str, body: str) -> None:
    check(prefix + body)


@FUZZ
@given(st.binary(max_size=4000))
def test_any_bytes_behind_a_valid_transport_are_answered(data: bytes) -> None:
    check(hc1(data))
    check(hc1(data, compress=False))


@FUZZ
@given(st.integers(min_value=5, max_value=len(SIGNED) - 1))
def test_a_truncated_certificate_is_answered(cut: int) -> None:
    check(SIGNED[:cut])


@FUZZ
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.integers(-300, 10) | st.text(max_size=3), inner, max_size=4),
    max_leaves=40,
))
def test_any_cbor_structure_in_the_cose_or_the_cwt_is_answered(value: Any) -> None:
    check(hc1(cbor2.dumps(value)))
    check(hc1(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, cbor2.dumps(value), b"x" * 64]))))
    check(hc1(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(value), {4: b"k"}, b"", b""]))))


@FUZZ
@given(st.binary(max_size=3000))
def test_any_file_contents_are_answered(data: bytes) -> None:
    for credential in credentials_in_bytes(data, "file"):
        credential.verify(trust=TRUST, at=NOW)
    for credential in credentials_in_bytes(b"\x89PNG\r\n\x1a\n" + data, "png"):
        credential.verify(trust=TRUST, at=NOW)


def test_deeply_nested_cbor_is_refused_cleanly() -> None:
    deep = b"\x81" * 100_000 + b"\x00"
    check(hc1(deep))
    check(hc1(b"\xd2\x84" + b"\x41\xa1" + b"\xa0" + b"\x59\xff\xff" + b"\x81" * 60_000))


def test_a_cbor_length_header_claiming_gigabytes_is_refused_cleanly() -> None:
    check(hc1(b"\xd2\x84\x5b\x00\x00\x00\x10\x00\x00\x00\x00"))
    check(hc1(b"\x9b\x00\x00\x00\x10\x00\x00\x00\x00"))


def test_a_decompression_bomb_is_refused_cleanly() -> None:
    bomb = zlib.compress(b"\x00" * (4 * 1024 * 1024), 9)  # 4 MiB in 4 KB
    text = "HC1:" + base45.b45encode(bomb).decode()
    result = credential_verify(text, trust=TRUST, at=NOW)
    assert result.codes == ["dcc_too_large"]


def test_huge_inputs_are_refused_before_any_work() -> None:
    assert credential_verify("HC1:" + "A" * 10_000_000, trust=TRUST, at=NOW).codes == [
        "input_too_long"]
    assert credentials_in_bytes(b"x" * (17 * 1024 * 1024), "f")[0].error == "input_too_long"


@FUZZ
@given(st.binary(max_size=600))
def test_our_base45_decoder_agrees_with_the_base45_package(data: bytes) -> None:
    assert base45_decode(base45.b45encode(data).decode()) == data


@FUZZ
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=60))
def test_our_base45_decoder_refuses_what_the_package_refuses(text: str) -> None:
    try:
        expected = base45.b45decode(text)
    except ValueError:
        expected = None
    try:
        mine = base45_decode(text)
    except VerificationFailed:
        mine = None
    assert mine == expected


def test_shc_numeric_mode_decodes_pairs_and_refuses_odd_lengths() -> None:
    assert shc_numeric_decode("5620") == "eA"
    for bad in ("562", "99", "5a"):
        try:
            shc_numeric_decode(bad)
        except VerificationFailed as error:
            assert error.problem.code == "shc_prefix"
        else:
            raise AssertionError(bad)
