"""``truyvet cert …``: certificates from the command line.

    truyvet cert verify [--trust FILE]... [--jwks FILE]... [--crl FILE]...
                        [--at ISO8601] [--no-signature] [--json] INPUT...
    truyvet cert testdata [--json] PATH...
    truyvet cert keys|issue|trustlist|revoke ...   (issuing/cli.py)

This interface is stable: CI and checks from outside the project rely on
its flags, its output and its exit status (0 all valid or all agreeing,
1 some not, 2 a usage error). Nothing reaches stderr as a traceback.

Other certificate commands join the group by adding a ``Subcommand`` to
``SUBCOMMANDS`` (a name, its help, a function that adds its arguments and
one that runs it and returns the exit status).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.utils import translation

from truyvet.certificates import conformance
from truyvet.certificates.result import Verification, undecodable
from truyvet.certificates.trust import TrustFileError, TrustStore, trust_load
from truyvet.certificates.verify import (
    MAX_INPUT_BYTES,
    Credential,
    chunks_grouped,
    credential_kind,
    credentials_in_bytes,
    credentials_in_text,
)

EXIT_OK, EXIT_NOT_VALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad flag value or an unreadable trust file: exit status 2."""


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, IO[str]], int]


# --- verify ------------------------------------------------------------------------------


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="append", default=[], metavar="FILE",
                        help="DSCs: an EU gateway-style JSON list, PEM or DER (repeatable)")
    parser.add_argument("--jwks", action="append", default=[], metavar="FILE",
                        help="an SHC issuer's JWKS; ISSUER_URL=FILE binds it to that issuer")
    parser.add_argument("--crl", action="append", default=[], metavar="FILE",
                        help="an SHC CRL or a DCC revocation batch (repeatable)")
    parser.add_argument("--at", metavar="ISO8601", help="the validation clock (default: now)")
    parser.add_argument("--no-signature", action="store_true",
                        help="run every other stage; the signature is marked not checked")
    parser.add_argument("--json", action="store_true", help="one JSON object per credential")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="HC1:…, shc:/…, a JWS, a file (text, JSON, .smart-health-card, "
                        "PNG, JPEG) or - for standard input")


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise UsageError(f"{what} {path}: file too large")
    return data


def trust_from_options(options: argparse.Namespace) -> TrustStore:
    store = TrustStore()
    for path in options.trust:
        _load(store, path, "--trust", kinds={"dsc_list", "dsc"})
    for spec in options.jwks:
        issuer, path = None, spec
        head, sep, tail = spec.partition("=")
        if sep and head.startswith(("https://", "http://")):
            issuer, path = head, tail
        _load(store, path, "--jwks", kinds={"jwks"}, issuer=issuer)
    for path in options.crl:
        _load(store, path, "--crl", kinds={"shc_crl", "dcc_revocation"})
    return store


def _load(store: TrustStore, path: str, flag: str, *, kinds: set[str],
          issuer: str | None = None) -> None:
    data = _read_file(path, flag)
    try:
        loaded, kind, _count = trust_load(data, issuer=issuer)
    except TrustFileError as exc:
        raise UsageError(f"{flag} {path}: {exc}") from None
    if kind not in kinds:
        raise UsageError(f"{flag} {path}: this is a {kind.replace('_', ' ')} file")
    store.merge(loaded)


def clock_from_options(options: argparse.Namespace) -> datetime:
    if not options.at:
        return datetime.now(tz=UTC)
    try:
        return conformance.clock_parse(options.at)
    except ValueError:
        raise UsageError(f"--at {options.at!r} is not an ISO 8601 date and time") from None


def _looks_like_credential(text: str) -> bool:
    return credential_kind(text.strip()) is not None


def credentials_from_inputs(inputs: list[str], stdin: IO[bytes] | None) -> Iterator[Credential]:
    for item in inputs:
        if item == "-":
            data = stdin.read(MAX_INPUT_BYTES + 1) if stdin is not None else b""
            yield from credentials_in_bytes(data, "-")
        elif not _looks_like_credential(item) and os.path.isfile(item):
            try:
                data = _read_file(item, "INPUT")
            except UsageError as exc:
                yield Credential(item, error="input_unreadable", detail=str(exc))
                continue
            yield from credentials_in_bytes(data, item)
        elif not _looks_like_credential(item) and ("/" in item or item.endswith(
                (".txt", ".json", ".png", ".jpg", ".jpeg", ".smart-health-card"))):
            yield Credential(item, error="input_unreadable", detail="no such file")
        else:
            yield from credentials_in_text(item, item)


def _line(result: Verification, label: str) -> str:
    status = "VALID" if result.valid else "INVALID"
    parts = [status, result.kind, label]
    if result.holder:
        parts.append(f"{result.holder['name']} ({result.holder['date_of_birth']})")
    if result.summary and result.summary.get("type"):
        parts.append(str(result.summary["type"]))
    line = "  ".join(parts)
    if result.errors:
        line += "  " + "; ".join(f"{p.code}: {p.message}" for p in result.errors)
    return line


def _verify_run(options: argparse.Namespace, out: IO[str]) -> int:
    trust = trust_from_options(options)
    at = clock_from_options(options)
    stdin = sys.stdin.buffer if "-" in options.inputs else None
    status = EXIT_OK
    for credential in chunks_grouped(credentials_from_inputs(options.inputs, stdin)):
        try:
            result = credential.verify(
                trust=trust, at=at, check_signature=not options.no_signature
            )
        except Exception as exc:  # noqa: BLE001 - a bug must not become a traceback here
            result = undecodable("input_unreadable", f"internal error {type(exc).__name__}")
        if not result.valid:
            status = EXIT_NOT_VALID
        if options.json:
            out.write(json.dumps(result.as_json(input_label=credential.label),
                                 ensure_ascii=False) + "\n")
        else:
            out.write(_line(result, credential.label) + "\n")
        out.flush()
    return status


# --- testdata ----------------------------------------------------------------------------


def _testdata_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help='one line per file: {"file", "outcomes"}')
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="dgc-testdata files, or folders of them")


def _testdata_run(options: argparse.Namespace, out: IO[str]) -> int:
    paths = [Path(p) for p in options.paths]
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    issues = conformance.known_issues_near(paths)
    agree = disagree = known = unknown_checks = not_run = unreadable = 0
    named = {path.resolve() for path in paths if path.is_file()}
    for path in conformance.test_files(paths):
        report = conformance.file_run(path)
        if not report.is_test and path.resolve() not in named:
            continue  # another JSON file in a folder of test files
        if options.json:
            line: dict[str, Any] = {"file": str(path), "outcomes": report.outcomes}
            if report.error:
                line["error"] = report.error
            out.write(json.dumps(line) + "\n")
        else:
            shown = ", ".join(
                f"{name}={'n/a' if value is None else str(value).lower()}"
                for name, value in report.outcomes.items()
            )
            out.write(f"{path}: {report.error or shown}\n")
        if report.error:
            unreadable += 1
        unknown_checks += sum(name not in conformance.CHECKS for name in report.outcomes)
        not_run += sum(
            value is None and name in conformance.CHECKS
            for name, value in report.outcomes.items()
        )
        differing = report.disagreements()
        for name in differing:
            issue = conformance.is_known(issues, path, name)
            if issue is not None:
                known += 1
            else:
                disagree += 1
                if not options.json:
                    out.write(f"  DISAGREES {name}: computed {report.outcomes[name]}, "
                              f"expected {report.expected.get(name)}\n")
        agree += sum(
            1 for name, value in report.outcomes.items()
            if value is not None and name not in differing
            and isinstance(report.expected.get(name), bool)
        )
    counts = {"agreements": agree, "disagreements": disagree, "known_issues": known,
              "not_run": not_run, "unknown_checks": unknown_checks, "unreadable": unreadable}
    if options.json:
        out.write(json.dumps(counts) + "\n")
    else:
        out.write(
            f"{agree} agreements, {disagree} disagreements ({known} more are "
            f"known_issues.csv lines; {not_run} checks without their input in the file; "
            f"{unknown_checks} unknown check names; {unreadable} unreadable files)\n"
        )
    # A file that cannot be read has no expectations to disagree with; it is
    # counted and shown, and does not fail the run.
    return EXIT_OK if disagree == 0 else EXIT_NOT_VALID


SUBCOMMANDS: list[Subcommand] = [
    Subcommand("verify", "verify EU DCCs and SMART Health Cards offline",
               _verify_arguments, _verify_run),
    Subcommand("testdata", "run dgc-testdata files and compare with their expected results",
               _testdata_arguments, _testdata_run),
]


# --- The group ---------------------------------------------------------------------------


def _language_from_environment() -> str:
    """The POSIX convention: LC_ALL, then LC_MESSAGES, then LANG; English
    when it names English, Vietnamese (the source language) otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "vi"
    return "vi"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: status 2
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _with_issuing() -> None:
    """Adds the issuing commands (issuing/cli.py) once; they import this module."""
    from truyvet.certificates.issuing.cli import SUBCOMMANDS as ISSUING

    for sub in ISSUING:
        if all(existing.name != sub.name for existing in SUBCOMMANDS):
            SUBCOMMANDS.append(sub)


def build_parser() -> argparse.ArgumentParser:
    _with_issuing()
    parser = _Parser(prog="truyvet cert", description="EU DCC and SMART Health Card tools")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for sub in SUBCOMMANDS:
        sub.add_arguments(commands.add_parser(sub.name, help=sub.help, description=sub.help))
    return parser


def main(argv: list[str], out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    try:
        options = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    run = next(sub.run for sub in SUBCOMMANDS if sub.name == options.command)
    try:
        with translation.override(_language_from_environment()):
            return run(options, out)
    except UsageError as exc:
        sys.stderr.write(f"truyvet cert {options.command}: error: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the interface promises no traceback
        sys.stderr.write(f"truyvet cert {options.command}: internal error: "
                         f"{type(exc).__name__}: {exc}\n")
        return EXIT_USAGE
