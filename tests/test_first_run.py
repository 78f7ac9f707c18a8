"""The first run: `make demo PORT=…` chooses the port, a `.env` file is read
(under what the environment sets), and the README tells where the demo's
one-time codes appear."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings_read(tmp_path: Path, env_file: str, **environment: str) -> str:
    """What the settings hold for PUBLIC_BASE_URL and SMS_BACKEND, read in a
    fresh process with ``env_file`` as its .env."""
    dotenv = tmp_path / "settings.env"
    dotenv.write_text(env_file, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c",
         "from truyvet import settings; print(settings.PUBLIC_BASE_URL, settings.SMS_BACKEND)"],
        env={"TRUYVET_ENV_FILE": str(dotenv), "TRUYVET_VAR_DIR": str(tmp_path),
             "PATH": "/usr/bin:/bin", **environment},
        capture_output=True, text=True, cwd=ROOT, check=True,
    )
    return result.stdout.strip()


def test_a_dotenv_file_sets_what_the_environment_does_not(tmp_path: Path) -> None:
    read = _settings_read(
        tmp_path, "# copied from .env.example\nPUBLIC_BASE_URL=http://ha-lang.example\n"
                  "SMS_BACKEND=file\n",
        SMS_BACKEND="memory",
    )

    assert read == "http://ha-lang.example memory"  # the environment wins over the file


def test_make_demo_and_serve_take_a_port() -> None:
    for target in ("demo", "serve"):
        plan = subprocess.run(  # noqa: S603 - a fixed command, no input
            ["make", "-n", target, "PORT=8123"],  # noqa: S607 - make from PATH, as a developer runs it
            capture_output=True, text=True, cwd=ROOT, check=True,
        ).stdout
        assert f"truyvet {target} --port 8123" in plan


def test_the_readme_says_where_the_demos_one_time_codes_appear() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo PORT=" in readme
    assert "one-time codes" in readme and "printed to the server console" in readme
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "Copy this file to\n# .env (read at start-up" in example
