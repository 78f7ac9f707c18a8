"""Every environment variable the code reads is documented in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from truyvet.core.env import Env

ROOT = Path(__file__).resolve().parent.parent
READS = re.compile(r"""(?:env\.\w+|environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "truyvet").rglob("*.py"):
        names.update(READS.findall(path.read_text(encoding="utf-8")))
    return names


def variables_documented() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_the_code_reads_the_core_settings() -> None:
    read = variables_read_by_the_code()
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "PUBLIC_BASE_URL", "SMS_BACKEND"} <= read


def test_every_setting_the_code_reads_is_in_env_example() -> None:
    missing = variables_read_by_the_code() - variables_documented()
    assert not missing, f"document these in .env.example: {sorted(missing)}"


def test_env_example_documents_nothing_that_does_not_exist() -> None:
    stale = variables_documented() - variables_read_by_the_code()
    assert not stale, f".env.example lists settings nothing reads: {sorted(stale)}"


@pytest.mark.parametrize(
    ("method", "value"),
    [("bool", "perhaps"), ("int", "ten"), ("url", "ftp://x"), ("choice", "pigeon")],
)
def test_typed_readers_fail_loudly_on_bad_values(method: str, value: str) -> None:
    env = Env({"X": value})
    with pytest.raises(ImproperlyConfigured, match="X"):
        if method == "int":
            env.int("X", 1)
        elif method == "choice":
            env.choice("X", "console", {"console", "file"})
        elif method == "url":
            env.url("X", "http://a")
        else:
            env.bool("X")


def test_production_mode_requires_a_secret_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import truyvet.settings"],
        env={"TRUYVET_PRODUCTION": "true", "ALLOWED_HOSTS": "example.org",
             "TRUYVET_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
