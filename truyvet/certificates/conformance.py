"""The dgc-testdata runner (``truyvet cert testdata``).

A test file (testdata/dcc/TESTDATA-FORMAT.md) carries a credential at each
stage of the chain (PREFIX, BASE45, COMPRESSED, COSE, CBOR, JSON, 2DCODE),
a context (TESTCTX: the signing certificate, the validation clock) and
EXPECTEDRESULTS naming checks. For each named check this module computes
an outcome with the verifier's own stage functions, from the file's own
field for that stage, or, when the file leaves that field out, from the
previous stage's output; a stage that cannot run because an earlier one
failed is False, as a verifier would report it. TESTCTX.CERTIFICATE is the
only trust anchor and TESTCTX.VALIDATIONCLOCK the clock. EXPECTEDRESULTS is
read only afterwards, to count agreements.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import cbor2

from truyvet.certificates import dcc, dccschema
from truyvet.certificates.cose import Sign1, cbor_loads, sign1_parse
from truyvet.certificates.encoding import base45_decode
from truyvet.certificates.result import VerificationFailed
from truyvet.certificates.trust import Dsc, TrustFileError, TrustStore, dsc_from_der
from truyvet.core.qrimage import QrImageError, qr_texts_in_image

_T = TypeVar("_T")

MAX_TEST_FILE_BYTES = 4 * 1024 * 1024
# known_issues.csv names the dgc-testdata suite's test functions, each of
# which checks one expectation. That suite never checked EXPECTEDVALIDOBJECT,
# the same JSON-schema validation of the same DCC as EXPECTEDSCHEMAVALIDATION
# (of the file's JSON rather than of the decoded payload), so a known issue
# with a country's schema expectations covers both.
KNOWN_ISSUE_TESTS: dict[str, tuple[str, ...]] = {
    "test_picture_decode": ("EXPECTEDPICTUREDECODE",),
    "test_un_prefix": ("EXPECTEDUNPREFIX",),
    "test_b45decode": ("EXPECTEDB45DECODE",),
    "test_compression": ("EXPECTEDCOMPRESSION",),
    "test_verification_check": ("EXPECTEDVERIFY",),
    "test_cose_json": ("EXPECTEDDECODE",),
    "test_cose_cbor": ("EXPECTEDDECODE",),
    "test_cbor_json": ("EXPECTEDVALIDJSON",),
    "test_cose_schema": ("EXPECTEDSCHEMAVALIDATION", "EXPECTEDVALIDOBJECT"),
    "test_expiration_check": ("EXPECTEDEXPIRATIONCHECK",),
    "test_expected_key_usage": ("EXPECTEDKEYUSAGE",),
}


def clock_parse(text: str) -> datetime:
    """ISO 8601 to an aware datetime; a time without an offset is UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- Comparing decoded content -------------------------------------------------------------


def _datetime_or_none(text: str) -> datetime | None:
    if len(text) < 10 or not text[:4].isdigit() or "T" not in text[10:11]:
        return None
    try:
        return clock_parse(text)
    except ValueError:
        return None


def same_content(left: Any, right: Any) -> bool:
    """Equal as DCC content: maps by key, strings after NFC (spec §3.3.7),
    date-times as instants whatever their notation, numbers by value."""
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(same_content(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_content, left, right))
    if isinstance(left, str) and isinstance(right, str):
        if unicodedata.normalize("NFC", left) == unicodedata.normalize("NFC", right):
            return True
        a, b = _datetime_or_none(left), _datetime_or_none(right)
        return a is not None and a == b
    if isinstance(left, bool) or isinstance(right, bool) or left is None or right is None:
        return left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return False


# --- One file ------------------------------------------------------------------------------


class _Missing(Exception):
    """A stage that cannot run: its input is absent or an earlier stage failed."""


class NotRunnable(Exception):
    """The file lacks what a check needs and nothing else in it can stand in
    (a picture check without a picture): the check has no outcome."""


@dataclass
class TestFile:
    path: Path
    data: Mapping[str, Any]
    _cache: dict[str, Any] = field(default_factory=dict)

    def _field(self, name: str) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            raise _Missing(name)
        return value

    def _hex(self, name: str) -> bytes:
        try:
            return bytes.fromhex(str(self._field(name)))
        except ValueError:
            raise _Missing(name) from None

    def _memo(self, key: str, compute: Callable[[], _T]) -> _T:
        if key not in self._cache:
            try:
                self._cache[key] = (True, compute())
            except (_Missing, VerificationFailed, ValueError, TypeError, KeyError) as exc:
                self._cache[key] = (False, exc)
        ok, value = self._cache[key]
        if not ok:
            raise _Missing(key) from value
        return cast(_T, value)

    # Each stage's input: the file's own field, else the previous stage's output.
    def base45_text(self) -> str:
        def compute() -> str:
            if "BASE45" in self.data:
                return str(self._field("BASE45"))
            return dcc.unprefix(str(self._field("PREFIX")))
        return self._memo("base45_text", compute)

    def compressed(self) -> bytes:
        def compute() -> bytes:
            if "COMPRESSED" in self.data:
                return self._hex("COMPRESSED")
            return base45_decode(self.base45_text())
        return self._memo("compressed", compute)

    def cose_bytes(self) -> bytes:
        def compute() -> bytes:
            if "COSE" in self.data:
                return self._hex("COSE")
            return dcc.decompress(self.compressed())
        return self._memo("cose", compute)

    def cbor_bytes(self) -> bytes:
        def compute() -> bytes:
            if "CBOR" in self.data:
                return self._hex("CBOR")
            return self.message().payload
        return self._memo("cbor", compute)

    def message(self) -> Sign1:
        return self._memo("message", lambda: sign1_parse(self.cose_bytes()))

    def cwt(self) -> dcc.Cwt:
        return self._memo("cwt", lambda: dcc.cwt_parse(self.message().payload))

    def content(self) -> dict[str, Any]:
        """The DCC in the payload; unlike ``cwt`` it needs no iat or exp."""
        return self._memo("content", lambda: dcc.hcert_parse(self.message().payload))

    def dsc(self) -> Dsc:
        def compute() -> Dsc:
            text = str(self._field("TESTCTX")["CERTIFICATE"])
            # Base64 DER as the format says; PEM armour tolerated.
            lines = [line for line in text.strip().splitlines() if not line.startswith("-----")]
            try:
                der = base64.b64decode("".join("".join(lines).split()), validate=True)
                return dsc_from_der(der)
            except (binascii.Error, TrustFileError) as exc:
                raise _Missing("CERTIFICATE") from exc
        return self._memo("dsc", compute)

    def clock(self) -> datetime:
        return self._memo(
            "clock", lambda: clock_parse(str(self._field("TESTCTX")["VALIDATIONCLOCK"]))
        )

    # --- The checks ---

    def picture_decode(self) -> bool:
        if not self.data.get("2DCODE"):
            raise NotRunnable("2DCODE")
        encoded = str(self._field("2DCODE"))
        if encoded.startswith("data:"):  # a data URL: the base64 after the comma
            encoded = encoded.partition(",")[2]
        image = base64.b64decode("".join(encoded.split()))
        try:
            texts = qr_texts_in_image(image)
        except QrImageError:
            return False
        return str(self._field("PREFIX")) in texts

    def unprefix(self) -> bool:
        body = dcc.unprefix(str(self._field("PREFIX")))
        return "BASE45" not in self.data or body == self.data["BASE45"]

    def b45decode(self) -> bool:
        decoded = base45_decode(self.base45_text())
        return "COMPRESSED" not in self.data or decoded == self._hex("COMPRESSED")

    def compression(self) -> bool:
        inflated = dcc.decompress(self.compressed(), allow_raw=False)
        return "COSE" not in self.data or inflated == self._hex("COSE")

    def verify(self) -> bool:
        trust = TrustStore()
        trust.add_dsc(self.dsc())
        dcc.signer_find(self.message(), trust)
        return True

    def decode(self) -> bool:
        content = self.content()
        if "JSON" in self.data and not same_content(content, self.data["JSON"]):
            return False
        if "CBOR" in self.data:
            cbor = dcc.json_compatible(cbor_loads(self._hex("CBOR")))
            payload = dcc.json_compatible(cbor_loads(self.message().payload))
            hcert = cbor.get("-260", {}).get("1") if isinstance(cbor, Mapping) else None
            if not same_content(cbor, payload) and not same_content(hcert or cbor, content):
                return False
        return True

    def valid_json(self) -> bool:
        whole = TestFile(self.path, {k: self.data[k] for k in ("PREFIX",) if k in self.data})
        return same_content(whole.content(), self._field("JSON"))

    def schema_validation(self) -> bool:
        dccschema.dcc_schema_check(self.content())
        return True

    def valid_object(self) -> bool:
        dccschema.dcc_schema_check(dcc.json_compatible(self._field("JSON")))
        return True

    def encode(self) -> bool:
        mine = dcc.json_compatible(cbor_loads(cbor2.dumps(self._field("JSON"))))
        theirs = dcc.json_compatible(cbor_loads(self.cbor_bytes()))
        hcert = theirs.get("-260", {}).get("1") if isinstance(theirs, Mapping) else None
        return same_content(mine, hcert if hcert is not None else theirs)

    def expiration(self) -> bool:
        cwt = self.cwt()
        dcc.expiry_check(cwt, self.clock())
        dcc.certificate_check(cwt, self.dsc(), self.clock())
        return True

    def key_usage(self) -> bool:
        content = self.content()
        if len(dcc.entry_types(content)) != 1:
            return False
        dcc.key_usage_check(content, self.dsc())
        return True


CHECKS: dict[str, Callable[[TestFile], bool]] = {
    "EXPECTEDPICTUREDECODE": TestFile.picture_decode,
    "EXPECTEDUNPREFIX": TestFile.unprefix,
    "EXPECTEDB45DECODE": TestFile.b45decode,
    "EXPECTEDCOMPRESSION": TestFile.compression,
    "EXPECTEDVERIFY": TestFile.verify,
    "EXPECTEDDECODE": TestFile.decode,
    "EXPECTEDVALIDJSON": TestFile.valid_json,
    "EXPECTEDSCHEMAVALIDATION": TestFile.schema_validation,
    "EXPECTEDVALIDOBJECT": TestFile.valid_object,
    "EXPECTEDENCODE": TestFile.encode,
    "EXPECTEDEXPIRATIONCHECK": TestFile.expiration,
    "EXPECTEDKEYUSAGE": TestFile.key_usage,
}


def outcome(test: TestFile, check: Callable[[TestFile], bool]) -> bool | None:
    try:
        return bool(check(test))
    except NotRunnable:
        return None
    except (_Missing, VerificationFailed, ValueError, TypeError, KeyError, AttributeError,
            binascii.Error, zlib.error, RecursionError, MemoryError):
        return False


@dataclass
class FileReport:
    path: Path
    outcomes: dict[str, bool | None]
    expected: dict[str, Any]
    error: str = ""  # the file itself could not be read
    is_test: bool = True  # False: a JSON file that is no dgc-testdata file

    def disagreements(self) -> list[str]:
        return [
            name for name, value in self.outcomes.items()
            if value is not None and isinstance(self.expected.get(name), bool)
            and value != self.expected[name]
        ]


def file_run(path: Path) -> FileReport:
    """The outcome of every check the file's EXPECTEDRESULTS names (None for
    a name that is no known check, or a check the file gives nothing to run
    on). EXPECTEDRESULTS' values are kept apart, for counting only."""
    try:
        if path.stat().st_size > MAX_TEST_FILE_BYTES:
            raise ValueError("file too large")
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError) as exc:
        return FileReport(path, {}, {}, error=f"{type(exc).__name__}: {exc}"[:200])
    if not isinstance(data, Mapping) or not ({"EXPECTEDRESULTS", "TESTCTX"} & data.keys()):
        return FileReport(path, {}, {}, is_test=False)
    named = data.get("EXPECTEDRESULTS")
    expected = dict(named) if isinstance(named, Mapping) else {}
    test = TestFile(path, {k: v for k, v in data.items() if k != "EXPECTEDRESULTS"})
    outcomes: dict[str, bool | None] = {}
    for name in expected:
        check = CHECKS.get(name)
        outcomes[name] = outcome(test, check) if check else None
    return FileReport(path, outcomes, expected)


def test_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*.json") if p.is_file() and p.name != "package.json"
            )
        else:
            yield path


# --- Known issues ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownIssue:
    check: str
    country: str
    test_set: str  # a file's stem; empty: every file of the country
    reason: str


def known_issues_near(paths: list[Path]) -> list[KnownIssue]:
    """known_issues.csv in a given folder or any of its parents (the layout
    of dgc-testdata), read as (test name, country, test set, reason)."""
    issues: list[KnownIssue] = []
    seen: set[Path] = set()
    for path in paths:
        for folder in [path if path.is_dir() else path.parent, *path.resolve().parents]:
            candidate = folder / "known_issues.csv"
            if candidate.is_file() and candidate.resolve() not in seen:
                seen.add(candidate.resolve())
                with candidate.open(encoding="utf-8", newline="") as handle:
                    for row in csv.DictReader(handle):
                        checks = KNOWN_ISSUE_TESTS.get((row.get("test_name") or "").strip(), ())
                        issues.extend(
                            KnownIssue(
                                check, (row.get("country") or "").strip(),
                                (row.get("test_set") or "").strip(),
                                (row.get("reason") or "").strip(),
                            )
                            for check in checks
                        )
                break
    return issues


def country_of(path: Path) -> str:
    """The dgc-testdata country folder: the one holding ``2DCode`` (or a
    version folder that does)."""
    parts = path.parts
    for index, part in enumerate(parts):
        if part.lower() == "2dcode" and index > 0:
            owner = parts[index - 1]
            if index > 1 and owner[:1].isdigit():
                owner = parts[index - 2]
            return owner.upper() if owner.lower() != "common" else "common"
    return ""


def is_known(issues: list[KnownIssue], path: Path, check: str) -> KnownIssue | None:
    country = country_of(path)
    for issue in issues:
        if issue.check == check and issue.country.upper() == country.upper() and (
                not issue.test_set or issue.test_set == path.stem):
            return issue
    return None
