"""Stylesheets joined into one file, so that a page loads one CSS file.

On a weak 3G link each extra file costs a round trip before the page can
be drawn, so the citizen's pages (the venue page a poster's QR opens, the
visit, the history...) load ``bundles/citizen.css`` and nothing else. A
bundle is declared in ``BUNDLES`` as the static files it joins, in order;
``BundleFinder`` (in ``STATICFILES_FINDERS``) writes it under
``VAR_DIR/bundles`` whenever a source is newer, and offers it like any
static file: ``collectstatic`` copies and compresses it (WhiteNoise: gzip
and brotli), ``{% static %}`` names it, and in development WhiteNoise
serves it through the finders. The sources stay where they are, each
beside its app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

BUNDLES: dict[str, tuple[str, ...]] = {
    "bundles/citizen.css": (
        "core/site.css", "accounts/accounts.css", "venues/venues.css", "checkins/checkins.css",
        "tracing/tracing.css",
    ),
    "bundles/reports.css": ("core/site.css", "reports/reports.css"),
}


def _folder() -> Path:
    return Path(settings.VAR_DIR) / "bundles"


def _source(name: str) -> Path:
    found = finders.find(name)
    if not found or isinstance(found, list):
        raise FileNotFoundError(f"bundle source {name} is not a static file")
    return Path(found)


def bundle_build(name: str) -> Path:
    """Writes the bundle ``name`` if it is missing or older than a source;
    returns its path."""
    target = _folder() / name
    sources = [_source(part) for part in BUNDLES[name]]
    newest = max(source.stat().st_mtime for source in sources)
    if target.exists() and target.stat().st_mtime >= newest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"/* {part} */\n{source.read_text('utf-8').strip()}\n"
             for part, source in zip(BUNDLES[name], sources, strict=True)]
    temporary = target.with_suffix(".tmp")
    temporary.write_text("\n".join(parts), "utf-8")
    temporary.replace(target)  # atomic: two workers may build it at once
    return target


class BundleFinder(BaseFinder):
    """Finds the bundles of ``BUNDLES`` (building them first)."""

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if path not in BUNDLES:
            return [] if find_all else None
        built = str(bundle_build(path))
        return [built] if find_all else built

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        storage = FileSystemStorage(location=_folder())
        for name in BUNDLES:
            bundle_build(name)
            yield name, storage
