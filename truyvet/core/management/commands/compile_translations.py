"""Compiles every committed .po file to .mo with Babel, so set-up needs no
GNU gettext on the machine (Django's compilemessages shells out to msgfmt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile .po translation catalogues to .mo without gettext."

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(settings.BASE_DIR) / "truyvet"
        compiled = 0
        for po_path in sorted(root.rglob("locale/*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with open(po_path, "rb") as handle:
                catalog = read_po(handle)
            with open(mo_path, "wb") as handle:
                write_mo(handle, catalog)
            compiled += 1
        self.stdout.write(f"compiled {compiled} catalogue(s)")
