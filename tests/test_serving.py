"""``truyvet serve`` runs granian by default and gunicorn on request
(decision 0013: measured beside each other, granian spent less CPU per
request); anything else stops it before it starts."""

from __future__ import annotations

import pytest

from truyvet import cli


def test_granian_serves_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_SERVER", raising=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    command = cli.server_command("127.0.0.1", 8000)
    assert command[1:5] == ["-m", "granian", "--interface", "wsgi"]
    assert command[command.index("--workers") + 1] == "2"
    assert command[-1] == "truyvet.wsgi:application"


def test_gunicorn_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_SERVER", "gunicorn")
    assert cli.server_command("127.0.0.1", 8000)[1:4] == [
        "-m", "gunicorn", "truyvet.wsgi:application"]


def test_an_unknown_server_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_SERVER", "uwsgi")
    with pytest.raises(SystemExit, match="WEB_SERVER"):
        cli.server_command("127.0.0.1", 8000)
