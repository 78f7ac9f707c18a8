"""Vietnamese vehicle plates (biển số xe), checked and written one way.

The ``biensoxe`` package on PyPI was judged and not used: its last release
(0.8.5, 2020) requires pydantic < 2, which the API layer (django-ninja on
pydantic 2) cannot install beside it (decisions/0015). The formats it
covers are few and stable, so they are written out here:

- cars: province code (2 digits), a series of 1-2 letters, then 4 or 5
  digits: ``30A-123.45``, ``11A-1234``, ``30LD-123.45``;
- motorcycles: province code, a letter and a digit, then 4 or 5 digits:
  ``29-X1 123.45``, ``11-B1 1234``; 50 cc scooters have two letters
  (``29-AA 123.45``, written like a car's two-letter series).

Province codes run from 11 to 99. Spaces, dots and dashes are ignored as
typed and "Đ" counts as "D", so ``30a12345``, ``30A-123.45`` and
``30A 123 45`` are the same plate. Military and diplomatic plates are not
covered; "không biển" (none) is typed as an empty plate.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from truyvet.core.errors import ErrorCollector

# Dots never matter; a space or dash after the series tells a motorcycle's
# "X1" series from a car's "A" followed by digits. Typed without any, one
# letter and five digits is read as a car (``30A12345`` is 30A-123.45).
_TYPED = re.compile(r"(\d{2})[\s\-]*([A-Z]{1,2})(\d??)[\s\-]*(\d{4,5})")
_CANONICAL = re.compile(r"(\d{2})([A-Z]{1,2})(\d?)-(\d{4,5})")


def plate_normalize(raw: str) -> str | None:
    """The plate as stored, ``30A-12345`` or ``29X1-12345`` (upper case,
    the series then the number), or None when it is no Vietnamese civil plate."""
    text = re.sub(r"[._/]", "", str(raw or "")).strip().upper().replace("Đ", "D")
    match = _TYPED.fullmatch(text)
    if match is None:
        return None
    province, series, digit, number = match.groups()
    if not 11 <= int(province) <= 99:
        return None
    if digit and len(series) != 1:  # "29AB1 12345" is no format
        return None
    return f"{province}{series}{digit}-{number}"


def plate_display(stored: str) -> str:
    """``30A-123.45``, ``11A-1234``, ``29-X1 123.45`` as painted on the plate."""
    match = _CANONICAL.fullmatch(stored or "")
    if match is None:
        return stored
    province, series, digit, number = match.groups()
    tail = f"{number[:3]}.{number[3:]}" if len(number) == 5 else number
    if digit:
        return f"{province}-{series}{digit} {tail}"
    return f"{province}{series}-{tail}"


def plate_clean(raw: str, errors: ErrorCollector, field_name: str = "plate", *,
                required: bool = False) -> str:
    """The normalised plate, "" when none was typed (and none is required)."""
    if not re.sub(r"[\s.\-_/]", "", str(raw or "")):
        if required:
            errors.add(field_name, _("Vui lòng nhập biển số xe."), "required")
        return ""
    plate = plate_normalize(raw)
    if plate is None:
        errors.add(field_name, _(
            "Biển số xe không đúng định dạng (ví dụ: 11A-123.45 cho ô tô, 11-B1 123.45 cho "
            "xe máy)."), "plate_invalid")
        return ""
    return plate
