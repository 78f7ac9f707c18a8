"""Typed readers for settings that come from the environment.

Every reader fails loudly with ``ImproperlyConfigured`` on a value it cannot
parse, naming the variable, so a typo in a deployment stops the process at
start-up instead of surfacing later as odd behaviour.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_file_load(default: str | os.PathLike[str]) -> str:
    """Reads ``KEY=value`` lines from the file ``TRUYVET_ENV_FILE`` names
    (``default``, the project's ``.env``, when unset; none when set empty)
    into the environment, with python-dotenv. A variable already in the
    environment wins over the file, so a service manager's settings or a
    command line's ``PORT=…`` are never overridden. Returns the file read,
    or "" when there was none."""
    from dotenv import load_dotenv

    path = os.environ.get("TRUYVET_ENV_FILE", os.fspath(default))
    if not path or not os.path.isfile(path):
        return ""
    load_dotenv(path, override=False)
    return path


class Env:
    """Reads typed values from a mapping (``os.environ`` by default)."""

    def __init__(self, source: Mapping[str, str] | None = None) -> None:
        self.source = os.environ if source is None else source

    def _raw(self, name: builtins.str) -> builtins.str | None:
        value = self.source.get(name)
        return None if value is None else value.strip()

    def str(self, name: builtins.str, default: builtins.str = "") -> builtins.str:
        value = self._raw(name)
        return default if value is None or value == "" else value

    def required_str(self, name: builtins.str) -> builtins.str:
        value = self._raw(name)
        if not value:
            raise ImproperlyConfigured(f"{name} must be set.")
        return value

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}.")

    def int(
        self,
        name: builtins.str,
        default: builtins.int,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int:
        value = self._raw(name)
        if value is None or value == "":
            return default
        try:
            parsed = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None
        if minimum is not None and parsed < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {parsed}.")
        if maximum is not None and parsed > maximum:
            raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {parsed}.")
        return parsed

    def list(
        self, name: builtins.str, default: builtins.list[builtins.str] | None = None
    ) -> builtins.list[builtins.str]:
        value = self._raw(name)
        if value is None or value == "":
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(
        self, name: builtins.str, default: builtins.str, choices: builtins.set[builtins.str]
    ) -> builtins.str:
        value = self.str(name, default)
        if value not in choices:
            allowed = ", ".join(sorted(choices))
            raise ImproperlyConfigured(f"{name} must be one of {allowed}; got {value!r}.")
        return value

    def url(self, name: builtins.str, default: builtins.str) -> builtins.str:
        value = self.str(name, default)
        if not (value.startswith("http://") or value.startswith("https://")):
            raise ImproperlyConfigured(f"{name} must be an http(s) URL, got {value!r}.")
        return value.rstrip("/")
