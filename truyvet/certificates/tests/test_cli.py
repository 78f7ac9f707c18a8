"""The ``truyvet cert`` interface as CI and outside checks use it: flags,
output, JSON line shape, exit statuses, and no traceback whatever the input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from truyvet.certificates.cli import main

from .builders import NOW, DccSpec, Signer, make_dcc, make_signer

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "testdata"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not there")
AT = NOW.isoformat()


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    original = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    try:
        status = main(list(argv), out=out)
    finally:
        sys.stdin = original
    return status, out.getvalue()


@pytest.fixture(scope="module")
def signer() -> Signer:
    return make_signer()


@pytest.fixture
def trust_file(tmp_path: Path, signer: Signer) -> str:
    path = tmp_path / "trust.json"
    path.write_text(json.dumps([signer.gateway_entry()]))
    return str(path)


def test_one_valid_dcc_prints_one_json_object_of_the_documented_shape(
    signer: Signer, trust_file: str
) -> None:
    status, out = run("verify", "--trust", trust_file, "--at", AT, "--json", make_dcc(signer))
    assert status == 0
    [line] = out.splitlines()
    record = json.loads(line)
    assert set(record) == {"input", "kind", "valid", "stages", "errors", "holder", "summary"}
    assert record["kind"] == "dcc" and record["valid"] is True and record["errors"] == []
    assert all(value in (True, False, None) for value in record["stages"].values())
    assert record["holder"]["date_of_birth"] == "1990-04-12"


def test_a_file_of_many_credentials_is_one_line_each_and_exit_1_when_any_fails(
    signer: Signer, trust_file: str, tmp_path: Path
) -> None:
    expired = make_dcc(signer, DccSpec(expires_at=NOW.replace(year=2022, month=1)))
    batch = tmp_path / "batch.txt"
    batch.write_text("\n".join([make_dcc(signer)] * 3 + [expired, "not a credential"]) + "\n")
    status, out = run("verify", "--trust", trust_file, "--at", AT, "--json", str(batch))
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert [r["valid"] for r in records] == [True, True, True, False, False]
    assert records[3]["errors"][0]["code"] == "dcc_expired"
    assert records[4]["kind"] == "dcc"
    assert records[4]["errors"][0]["code"] == "input_unknown"
    assert records[0]["input"] == f"{batch}:1"


def test_standard_input_takes_credentials_one_per_line(signer: Signer, trust_file: str) -> None:
    status, out = run("verify", "--trust", trust_file, "--at", AT, "-",
                      stdin=make_dcc(signer) + "\n" + make_dcc(signer) + "\n")
    assert status == 0
    assert out.count("VALID  dcc") == 2


def test_no_signature_marks_the_signature_not_checked(signer: Signer) -> None:
    status, out = run("verify", "--no-signature", "--at", AT, "--json", make_dcc(signer))
    record = json.loads(out)
    assert status == 0 and record["valid"] is True
    assert record["stages"]["signature"] is None


def test_the_validation_clock_comes_from_at(signer: Signer, trust_file: str) -> None:
    status, _out = run("verify", "--trust", trust_file, "--at", "2030-01-01T00:00:00Z",
                       make_dcc(signer))
    assert status == 1


@pytest.mark.parametrize("argv", [
    ["verify"],
    ["verify", "--at", "yesterday", "HC1:X"],
    ["verify", "--trust", "/no/such/file", "HC1:X"],
    ["verify", "--bogus", "HC1:X"],
    ["nonsense"],
    [],
])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert run(*argv)[0] == 2


def test_a_trust_file_of_the_wrong_kind_is_a_usage_error(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    assert run("verify", "--trust", str(jwks), "HC1:X")[0] == 2


@pytest.mark.parametrize("garbage", [
    "", "\n\n", "HC1:", "HC1:" + "%" * 5000, "shc:/", "shc:/99", "shc:/1/2/", "a.b.c", "{}",
    "\x00\x01", "HC1:" + "0" * 20000,
])
def test_garbage_gets_one_invalid_record_and_never_a_traceback(garbage: str) -> None:
    status, out = run("verify", "--json", "-", stdin=garbage)
    assert status == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all(r["valid"] is False and r["errors"] for r in records)
    assert all(r["kind"] in ("dcc", "shc") and r["stages"] for r in records)


def test_the_installed_command_prints_nothing_on_stderr_for_random_bytes(tmp_path: Path) -> None:
    noise = tmp_path / "noise.png"
    noise.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    completed = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [str(ROOT / ".venv" / "bin" / "truyvet"), "cert", "verify", "--json", str(noise),
         "HC1:%%%%", "shc:/5"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr == ""
    assert len(completed.stdout.splitlines()) == 3


@needs_shared
def test_testdata_agrees_with_every_expected_result_on_all_countries_except_known_issues(
) -> None:
    status, out = run("testdata", "--json", str(SHARED / "dcc"))
    lines = [json.loads(line) for line in out.splitlines()]
    *files, counts = lines
    assert status == 0, [line for line in lines if "file" not in line]
    assert counts["disagreements"] == 0 and counts["unreadable"] == 0
    assert counts["agreements"] > 4000
    countries = {Path(f["file"]).relative_to(SHARED / "dcc").parts[0] for f in files}
    assert {"AT", "BE", "BG", "CH", "CZ", "DE", "DK", "ES", "FR", "IE", "IT", "NL", "PT", "SK",
            "SM", "common"} <= countries
    assert all(set(f) == {"file", "outcomes"} for f in files)


def test_testdata_never_reads_the_expected_results_to_decide(tmp_path: Path) -> None:
    """Flipping every expectation flips every agreement into a disagreement."""
    if not SHARED.is_dir():
        pytest.skip("shared test data is not there")
    source = json.loads((SHARED / "dcc/common/2DCode/raw/CO1.json").read_text())
    flipped = dict(source)
    flipped["EXPECTEDRESULTS"] = {k: not v for k, v in source["EXPECTEDRESULTS"].items()}
    (tmp_path / "a.json").write_text(json.dumps(source))
    (tmp_path / "b.json").write_text(json.dumps(flipped))
    status, out = run("testdata", "--json", str(tmp_path))
    a, b, counts = (json.loads(line) for line in out.splitlines())
    assert a["outcomes"] == b["outcomes"]
    assert status == 1
    assert counts["agreements"] == counts["disagreements"] == len(source["EXPECTEDRESULTS"])


@needs_shared
def test_the_shc_examples_verify_from_the_command_line() -> None:
    shc = SHARED / "shc"
    status, out = run(
        "verify", "--jwks", str(shc / "issuer/.well-known/jwks.json"),
        "--at", "2023-07-01T00:00:00Z", "--json",
        *(str(p) for p in sorted(shc.glob("example-0*-f-qr-code-numeric-value-*.txt"))),
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0, records
    assert len(records) == 4 and all(r["kind"] == "shc" for r in records)


def test_json_files_hold_credentials_too(signer: Signer, trust_file: str, tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([make_dcc(signer), make_dcc(signer)]))
    testdata_like = tmp_path / "case.json"
    testdata_like.write_text(json.dumps({"PREFIX": make_dcc(signer), "TESTCTX": {}}))
    status, out = run("verify", "--trust", trust_file, "--at", AT, "--json", str(listed),
                      str(testdata_like))
    assert status == 0
    assert [json.loads(line)["input"] for line in out.splitlines()] == [
        f"{listed}#1", f"{listed}#2", str(testdata_like)]


def test_testdata_skips_other_json_in_a_folder_and_shows_unreadable_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "package.json").write_text('{"name": "not a test"}')
    (tmp_path / "broken.json").write_text('{"EXPECTEDRESULTS": ')
    status, out = run("testdata", "--json", str(tmp_path))
    *files, counts = (json.loads(line) for line in out.splitlines())
    assert [Path(f["file"]).name for f in files] == ["broken.json"]
    assert files[0]["outcomes"] == {} and "error" in files[0]
    assert counts["unreadable"] == 1 and status == 0
