"""The ``truyvet`` command.

    truyvet serve [--host H] [--port P]   migrate, then serve (granian)
    truyvet demo  [--host H] [--port P]   the same, after loading the Hạ Lang demo, with
                                          the worker beside it (its dashboards follow the scans)
    truyvet load-divisions                load Vietnam's administrative units
    truyvet worker                        run background jobs (django-q2 qcluster)
    truyvet purge-checkins                delete check-ins past the retention period now
    truyvet synth [--venues N] [--checkins N] [--doses N] ...  synthetic venues, people,
                                          check-ins and vaccination records in bulk
    truyvet cert verify|testdata ...      verify certificates (truyvet cert --help)
    truyvet cert keys|issue|trustlist|revoke ...  issue EU DCCs with our own keys
    truyvet vaccination import FILE --site CODE [--errors OUT.xlsx]  a site's vaccination list
    truyvet load-population FILE          population per commune (Mã xã, Dân số, Dân số từ 18 tuổi)
    truyvet rebuild-coverage              recount the vaccination coverage figures
    truyvet <django command> ...          any manage.py command
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from truyvet.core.env import env_file_load


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "truyvet.settings")
    import django

    django.setup()


def _prepare() -> None:
    from django.core.management import call_command

    call_command("compile_translations", verbosity=0)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def _serve(host: str, port: int, banner: list[str]) -> None:
    from django.conf import settings

    url = f"http://{host}:{port}"
    print(f"\ntruyvet is running at {url}  (Ctrl+C to stop)", flush=True)
    if settings.PUBLIC_BASE_URL != url:
        print(f"QR codes and links use PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL}")
    for line in banner:
        print(line)
    sys.stdout.flush()
    os.execvp(  # noqa: S606 - replaces this process with the production server
        sys.executable, server_command(host, port))


def server_command(host: str, port: int) -> list[str]:
    """The production server's command line: granian (decision 0013: it
    spent about 0.4 ms less CPU per request than gunicorn's threads on the
    same workers), or gunicorn with WEB_SERVER=gunicorn. WEB_CONCURRENCY
    worker processes of 4 threads each, access log on stdout, requests in
    flight finished on SIGTERM for up to 20 s."""
    workers = os.environ.get("WEB_CONCURRENCY", "3")
    server = os.environ.get("WEB_SERVER", "granian")
    if server == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "truyvet.wsgi:application",
                "--bind", f"{host}:{port}", "--workers", workers, "--threads", "4",
                "--access-logfile", "-", "--graceful-timeout", "20"]
    if server != "granian":
        raise SystemExit(f"WEB_SERVER must be granian or gunicorn, not {server!r}")
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host,
            "--port", str(port), "--workers", workers, "--blocking-threads", "4",
            "--access-log", "--workers-kill-timeout", "20", "truyvet.wsgi:application"]


def _worker_beside() -> str:
    """Starts ``truyvet worker`` as a child of the demo: the dashboards count
    new scans only when the worker folds them (decisions/0022), and SMS go
    out through it. It shares the terminal, so Ctrl+C stops it with the
    server. A real installation runs it as its own service (docs/deploy.md)."""
    import subprocess

    worker = subprocess.Popen([sys.executable, "-m", "truyvet.cli", "worker"])  # noqa: S603
    return f"Background worker (truyvet worker) running beside it, pid {worker.pid}"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Before anything reads the environment (HOST, PORT, PUBLIC_BASE_URL below).
    env_file_load(Path(__file__).resolve().parent.parent / ".env")
    command = argv[0] if argv else "help"
    if command in {"serve", "demo"}:
        parser = argparse.ArgumentParser(prog=f"truyvet {command}")
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        options = parser.parse_args(argv[1:])
        # QR codes and SMS links point at the address being served unless the
        # deployment says otherwise.
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://{options.host}:{options.port}")
        _django_setup()
        _prepare()
        banner: list[str] = []
        if command == "demo":
            # Only now: the demo imports models, which need django.setup() first.
            from truyvet.site.demo import demo_load

            banner = demo_load(progress=True)
            banner.append(_worker_beside())
        _serve(options.host, options.port, banner)
        return
    if command in {"help", "-h", "--help"}:
        print(__doc__)
        return
    _django_setup()
    if command == "cert":
        from truyvet.certificates.cli import main as cert_main

        sys.exit(cert_main(argv[1:]))
    from django.core.management import execute_from_command_line

    if command == "worker":
        # The queue lives in the database: one worker process tree per
        # installation (or more; django-q2 hands each task to one of them).
        command = "qcluster"
    # "load-divisions" -> "load_divisions": CLI words, Django command names.
    execute_from_command_line(["truyvet", command.replace("-", "_"), *argv[1:]])


if __name__ == "__main__":
    main()
