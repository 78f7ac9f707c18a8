"""The EU DCC JSON schemas (1.0.0–1.3.0) and value sets, compiled once.

A DCC is validated against the schema of its own ``ver``. A version this
project does not ship is validated against the nearest earlier one of the
same major version (minor and patch versions only add optional fields), or
the latest one when it is newer than all; another major version is refused.
Validation uses jsonschema-rs (compiled Rust; bench/certs_bench.py measures
it against the alternatives) with formats not asserted, as draft 2020-12
makes them annotations.

Besides the schema, a DCC must hold exactly one of ``v``, ``t``, ``r`` with
exactly one entry (the regulation's one-certificate-per-DCC rule, which the
1.3.0 schema states with ``oneOf`` and earlier ones did not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from truyvet.certificates.result import VerificationFailed

DATA = Path(__file__).resolve().parent / "data"
SCHEMAS = DATA / "dcc-schema"
VALUESETS = DATA / "valuesets"
_VERSION = re.compile(r"(\d{1,4})\.(\d{1,4})\.(\d{1,4})")
ENTRY_KINDS = ("v", "t", "r")


def _version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.fullmatch(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


@cache
def _validators() -> dict[tuple[int, int, int], Any]:
    validators = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        version = _version(path.stem)
        if version is not None:
            schema = json.loads(path.read_text(encoding="utf-8"))
            validators[version] = jsonschema_rs.Draft202012Validator(
                schema, validate_formats=False
            )
    return validators


def schema_versions() -> list[str]:
    return [".".join(map(str, v)) for v in sorted(_validators())]


def validator_for_version(ver: Any) -> tuple[str, Any]:
    """The shipped schema for a DCC's ``ver`` and its version string."""
    version = _version(ver) if isinstance(ver, str) else None
    if version is None:
        raise VerificationFailed("dcc_schema_version", f"ver {str(ver)[:20]!r} is not x.y.z")
    validators = _validators()
    same_major = sorted(v for v in validators if v[0] == version[0])
    if not same_major:
        raise VerificationFailed("dcc_schema_version", f"no schema for major version {version[0]}")
    earlier = [v for v in same_major if v <= version]
    chosen = earlier[-1] if earlier else same_major[0]
    return ".".join(map(str, chosen)), validators[chosen]


def dcc_schema_check(dcc: Any) -> str:
    """Raises ``VerificationFailed`` unless ``dcc`` (JSON types) is valid
    under the schema of its ``ver``; returns the schema version used."""
    if not isinstance(dcc, Mapping):
        raise VerificationFailed("dcc_schema", "the certificate is not an object")
    version, validator = validator_for_version(dcc.get("ver"))
    error = next(validator.iter_errors(dcc), None)
    if error is not None:
        where = "/".join(str(part) for part in error.instance_path) or "(root)"
        raise VerificationFailed("dcc_schema", f"{where}: {str(error.message)[:120]}")
    entries = [kind for kind in ENTRY_KINDS if kind in dcc]
    if len(entries) != 1 or not isinstance(dcc[entries[0]], list) or len(dcc[entries[0]]) != 1:
        raise VerificationFailed("dcc_multiple_entries")
    return version


# --- Value sets --------------------------------------------------------------------------

# Field of an entry -> value set file. The test manufacturers' list is only
# an example that changes weekly, so an unknown one is shown, not refused.
CHECKED_FIELDS: dict[str, dict[str, str]] = {
    "v": {"tg": "disease-agent-targeted", "vp": "vaccine-prophylaxis",
          "mp": "vaccine-medicinal-product", "ma": "vaccine-mah-manf", "co": "country-2-codes"},
    "t": {"tg": "disease-agent-targeted", "tt": "test-type", "tr": "test-result",
          "co": "country-2-codes"},
    "r": {"tg": "disease-agent-targeted", "co": "country-2-codes"},
}
DISPLAYED_FIELDS: dict[str, dict[str, str]] = {
    "v": CHECKED_FIELDS["v"],
    "t": {**CHECKED_FIELDS["t"], "ma": "test-manf-example"},
    "r": CHECKED_FIELDS["r"],
}


@cache
def valueset(name: str) -> dict[str, str]:
    """Code -> English display of one value set."""
    data = json.loads((VALUESETS / f"{name}.json").read_text(encoding="utf-8"))
    return {
        code: str(value.get("display", code))
        for code, value in data.get("valueSetValues", {}).items()
    }


def valueset_check(dcc: Mapping[str, Any]) -> None:
    """Raises ``VerificationFailed("dcc_valueset")`` naming the first code
    that is not in its value set."""
    for kind, fields in CHECKED_FIELDS.items():
        for entry in dcc.get(kind) or ():
            if not isinstance(entry, Mapping):
                continue
            for name, set_name in fields.items():
                value = entry.get(name)
                if isinstance(value, str) and value not in valueset(set_name):
                    raise VerificationFailed("dcc_valueset", f"{kind}.{name} = {value[:40]!r}")


def display(set_name: str, code: Any) -> Any:
    return valueset(set_name).get(code, code) if isinstance(code, str) else code


def warm_up() -> None:
    """Compiles every schema and reads every value set (at start-up, so a
    first request does not pay for it)."""
    _validators()
    for fields in DISPLAYED_FIELDS.values():
        for set_name in fields.values():
            valueset(set_name)
