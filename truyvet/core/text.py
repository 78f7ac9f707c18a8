"""Text folding for search, and the one rule for which characters typed text
may hold.

Names and addresses travel into PDFs, spreadsheets, SMS and door screens,
so characters that no Vietnamese name or address needs are refused when
typed (``clean_line``, ``refuse_unsafe``) and stripped from anything stored
before this rule when it is exported (``strip_unsafe``):

- control characters, C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F):
  invisible, NUL cuts strings short in C libraries and PostgreSQL refuses
  it, and most of them are not allowed in XML, so one of them made an XLSX
  export fail. Tab and line breaks are the exception: in a one-line field
  they are ordinary spaces, collapsed like any other run of whitespace
  (no field keeps several lines today);
- bidirectional formatting characters (U+061C, U+200E, U+200F,
  U+202A-U+202E, U+2066-U+2069): they reorder what a reader sees, so a
  name or a file name could be shown differently from what it is ("Trojan
  Source", CVE-2021-42574);
- lone surrogates (U+D800-U+DFFF), which cannot be written as UTF-8, and
  the Unicode noncharacters (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF), which XML
  forbids.

Letters with any number of Vietnamese diacritics, combining marks,
punctuation, markup characters such as ``<`` and ``&``, and leading ``=``
or ``+`` are all allowed: the places that could misread them escape them
(``core.pdf`` for PDFs, ``core.sheets`` for spreadsheets, Django's
templates for pages).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.utils.translation import gettext_lazy
from unidecode import unidecode

from truyvet.core.errors import ErrorCollector

_SPACES = re.compile(r"\s+")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")
UNSAFE_MESSAGE = gettext_lazy(
    "Có ký tự điều khiển hoặc ký tự đảo chiều văn bản không hiển thị được; hãy gõ lại."
)


def fold(text: str) -> str:
    """Lower-case ASCII with single spaces: "Hạ  Lang" -> "ha lang", "Đức" -> "duc"."""
    return _SPACES.sub(" ", unidecode(text or "")).strip().lower()


def is_unsafe(character: str) -> bool:
    """Whether one character is one that typed text may not hold (see the
    module's docstring); tab and line breaks count as unsafe here, callers
    that accept them as whitespace say so."""
    point = ord(character)
    return (
        unicodedata.category(character) in ("Cc", "Cs")
        or character in _BIDI_CONTROLS
        or 0xFDD0 <= point <= 0xFDEF
        or (point & 0xFFFE) == 0xFFFE
    )


def unsafe_characters(text: str, *, allow: str = "\t\n\r") -> list[str]:
    """The unsafe characters of ``text`` other than those in ``allow``, in order."""
    return [ch for ch in text if ch not in allow and is_unsafe(ch)]


def strip_unsafe(text: str) -> str:
    """``text`` without its unsafe characters, for values stored before the
    input rule on their way into an export: the invisible ones go, and the
    ones that are whitespace (tab, line breaks, NEL...) become a space so
    words stay apart."""
    if text.isprintable():  # the usual case; no unsafe character is printable
        return text
    return "".join(
        ch if not is_unsafe(ch) else " " if ch.isspace() else "" for ch in text
    )


def refuse_unsafe(text: str, errors: ErrorCollector, field_name: str) -> bool:
    """Adds the field's error when ``text`` holds an unsafe character (tab
    and line breaks are whitespace, accepted); returns whether it did."""
    if not unsafe_characters(text):
        return False
    errors.add(field_name, UNSAFE_MESSAGE, "control_character")
    return True


def clean_line(raw: Any, errors: ErrorCollector, field_name: str) -> str:
    """One line of typed text, every run of whitespace (tabs and line breaks
    included) made one space and the ends trimmed; an error on
    ``field_name`` when it holds an unsafe character (the caller raises
    before storing anything)."""
    text = str(raw or "")
    refuse_unsafe(text, errors, field_name)
    return " ".join(text.split())
