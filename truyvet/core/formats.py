"""How numbers, phone numbers and places on a map are written, once for
the whole project: pages (the ``formats`` template library), PDFs
(``core.pdf``) and spreadsheets (``core.sheets``) all call these.

Numbers are written the Vietnamese way in every language of the interface,
because the figures are read and copied into Vietnamese documents: a dot
groups thousands and a comma marks decimals ("19.099", "9,1"). Phones are
written as people dial them inside Việt Nam ("0902 000 007"), never in
E.164. Coordinates read as degrees with a hemisphere ("22,6801° B,
106,6783° Đ") and come with a link that opens the place on a map.

Each function takes ``None`` (or an empty value) and returns "" for it, so
a template or a table cell need no test of its own.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import pgettext

THOUSANDS = "."
DECIMAL = ","
# A map anyone can open without an account or an app; the zoom shows the
# street around the point.
MAP_URL = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
# Between the groups of a phone number on a page: a no-break space, so
# that a number is never cut across two lines.
NBSP = "\u00a0"
# A phone number as ``phone`` writes it, found in running text (core.pdf
# keeps its groups together).
PHONE_IN_TEXT = re.compile(r"(?<!\d)(0\d{3}) (\d{3}) (\d{3})(?!\d)")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def number(value: Any, decimals: int = 0) -> str:
    """``value`` rounded half-up to ``decimals`` places, thousands grouped
    with dots and decimals after a comma: 19099 -> "19.099", 9.14 with 1
    -> "9,1"; "" for None or what is not a number."""
    if type(value) is int:  # the common case (counts), without Decimal
        text = f"{value:,}".replace(",", THOUSANDS)
        return f"{text}{DECIMAL}{'0' * decimals}" if decimals > 0 else text
    amount = _decimal(value)
    if amount is None:
        return ""
    quantum = Decimal(1).scaleb(-decimals)
    rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _dot, fraction = f"{abs(rounded):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = THOUSANDS.join(groups)
    return f"{sign}{text}{DECIMAL}{fraction}" if decimals > 0 else f"{sign}{text}"


def percent(value: Any, decimals: int = 1) -> str:
    """A share already in percent: 9.14 -> "9,1%"; "" for None."""
    text = number(value, decimals)
    return f"{text}%" if text else ""


def phone(value: Any, *, keep_together: bool = False) -> str:
    """A Vietnamese phone number as people dial it at home:
    "+84902000007" -> "0902 000 007" (groups of 4, 3, 3), joined by no-break
    spaces when ``keep_together`` (pages: a number is never cut across two
    lines; spreadsheets keep plain spaces, which dial and paste anywhere).
    Masked numbers ("0902***007") and foreign ones are returned as they
    are, without the ``+84`` for Vietnamese ones."""
    text = str(value or "").strip()
    if not text:
        return ""
    local = "0" + text[3:] if text.startswith("+84") else text
    if len(local) == 10 and local.isdigit() and local[0] == "0":
        space = NBSP if keep_together else " "
        return space.join((local[:4], local[4:7], local[7:]))
    return local


def _hemisphere(value: Decimal, positive: str, negative: str) -> str:
    return f"{number(abs(value), 5)}° {positive if value >= 0 else negative}"


def coordinates(latitude: Any, longitude: Any) -> str:
    """A point as people read it: "22,68012° B, 106,67834° Đ" (Bắc/Nam,
    Đông/Tây, or N/S, E/W in English); "" when either is missing."""
    lat, lon = _decimal(latitude), _decimal(longitude)
    if lat is None or lon is None:
        return ""
    return "{}, {}".format(
        # Translators: the first letter of Bắc (north), Nam (south), Đông (east), Tây (west)
        _hemisphere(lat, pgettext("hướng", "B"), pgettext("hướng", "N")),
        _hemisphere(lon, pgettext("hướng", "Đ"), pgettext("hướng", "T")),
    )


def map_url(latitude: Any, longitude: Any) -> str:
    """A link that opens the point on OpenStreetMap; "" when either is
    missing."""
    lat, lon = _decimal(latitude), _decimal(longitude)
    if lat is None or lon is None:
        return ""
    return MAP_URL.format(lat=f"{lat:f}", lon=f"{lon:f}")
