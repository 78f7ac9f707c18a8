"""The one way numbers, phones and coordinates are written (core.formats),
on pages, in PDFs and in spreadsheets (issue 19, item 12)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from truyvet.core import formats


@pytest.mark.parametrize(("value", "decimals", "shown"), [
    (19099, 0, "19.099"), (9.14, 1, "9,1"), (1234567.891, 2, "1.234.567,89"), (0, 0, "0"),
    (999, 0, "999"), (1000, 0, "1.000"), (-4710.5, 0, "-4.711"), (2.25, 1, "2,3"),
    (Decimal("0.05"), 1, "0,1"), (None, 0, ""), ("", 1, ""), ("không phải số", 0, ""),
    (float("nan"), 0, ""),
])
def test_numbers_are_written_the_vietnamese_way(value: object, decimals: int, shown: str
                                                ) -> None:
    assert formats.number(value, decimals) == shown


def test_numbers_stay_vietnamese_in_the_english_interface() -> None:
    with translation.override("en"):
        assert formats.number(19099) == "19.099"
        assert formats.percent(9.14) == "9,1%"


@pytest.mark.parametrize(("stored", "shown"), [
    ("+84902000007", "0902 000 007"), ("0912345678", "0912 345 678"),
    ("0912***678", "0912***678"), ("+12025550123", "+12025550123"), ("", ""), (None, ""),
])
def test_phones_are_written_as_people_dial_them(stored: str | None, shown: str) -> None:
    assert formats.phone(stored) == shown


def test_a_phone_on_a_page_is_never_cut_across_lines() -> None:
    assert formats.phone("+84902000007", keep_together=True) == "0902\u00a0000\u00a0007"


def test_coordinates_read_as_degrees_with_a_hemisphere_and_open_a_map() -> None:
    assert formats.coordinates(Decimal("22.680120"), Decimal("106.678340")) == (
        "22,68012° B, 106,67834° Đ")
    with translation.override("en"):
        assert formats.coordinates(-33.8688, -151.2093) == "33,86880° S, 151,20930° W"
    assert formats.map_url(Decimal("22.680120"), Decimal("106.678340")) == (
        "https://www.openstreetmap.org/?mlat=22.680120&mlon=106.678340"
        "#map=17/22.680120/106.678340")
    assert formats.coordinates(None, 106) == "" and formats.map_url(22, None) == ""


def test_templates_use_the_same_helper() -> None:
    html = Template(
        "{% load formats %}{{ n|vn_number }} {{ s|vn_number:1 }} {{ s|vn_percent }} "
        "{{ p|phone }} {% coordinates lat lon %}"
    ).render(Context({"n": 19099, "s": 9.14, "p": "+84902000007", "lat": 22.68, "lon": 106.67}))
    assert html.startswith("19.099 9,1 9,1% 0902\u00a0000\u00a0007 <a class=\"map-link\"")
    assert 'href="https://www.openstreetmap.org/?mlat=22.68&amp;mlon=106.67' in html
    assert "22,68000° B, 106,67000° Đ</a>" in html
