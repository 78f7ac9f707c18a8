"""Every Vietnamese string of the interface has its English translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "truyvet"
CATALOGUES = sorted(ROOT.rglob("locale/en/LC_MESSAGES/django.po"))


def test_every_app_with_strings_has_an_english_catalogue() -> None:
    apps_with_catalogues = {path.parts[len(ROOT.parts)] for path in CATALOGUES}
    assert {"accounts", "places", "venues", "checkins", "tracing", "locale"} <= apps_with_catalogues


@pytest.mark.parametrize("path", CATALOGUES, ids=[str(p.relative_to(ROOT)) for p in CATALOGUES])
def test_no_entry_is_left_untranslated_or_fuzzy(path: Path) -> None:
    with open(path, "rb") as handle:
        catalogue = read_po(handle)
    untranslated = [m.id for m in catalogue if m.id and not m.string]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not untranslated, f"{path}: untranslated {untranslated[:5]}"
    assert not fuzzy, f"{path}: fuzzy {fuzzy[:5]}"
