"""Text folding for search that ignores Vietnamese diacritics and case."""

from __future__ import annotations

import re

from unidecode import unidecode

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case ASCII with single spaces: "Hạ  Lang" -> "ha lang", "Đức" -> "duc"."""
    return _SPACES.sub(" ", unidecode(text or "")).strip().lower()
