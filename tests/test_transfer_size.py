"""The weight of the citizen's pages on a slow network (issue 19, item 18).

A person who scans a venue's poster on the 2G or weak 3G of a mountain
district must get a button to tap within 30 KB: the HTML (gzip, from
GZipMiddleware), its one stylesheet and its scripts (served compressed by
WhiteNoise after ``collectstatic``: brotli for a browser that takes it), the
icon and the manifest. The static files are measured as WhiteNoise stores
them: each compressed with brotli at its default quality and with gzip at
level 9, the smaller one counted (WhiteNoise keeps a compressed copy only
when it is smaller, and browsers on HTTPS accept brotli).
"""

from __future__ import annotations

import gzip
import re
from typing import Any

import brotli
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone

BUDGET = 30 * 1024  # bytes over the wire, first load
# Roughly what a first response's headers take (status line, cookies, CSP).
HEADERS = 1024
_ASSET = re.compile(
    r'<(?:link[^>]+rel="(?:stylesheet|icon|manifest)"[^>]*href|script[^>]+src)="([^"]+)"')
_STYLESHEET = re.compile(r'<link[^>]+rel="stylesheet"')
# An attribute htmx acts on (base.html's hx-headers only configures it).
_HTMX_ATTRIBUTE = re.compile(r"\shx-(?!headers)[a-z-]+=")


def _compressed(content: bytes) -> int:
    return min(len(content), len(brotli.compress(content)),
               len(gzip.compress(content, compresslevel=9)))


def _asset_bytes(client: Client, url: str) -> int:
    if url.startswith(settings.STATIC_URL):
        found = finders.find(url.removeprefix(settings.STATIC_URL))
        assert found, f"{url} is not a static file"
        with open(found, "rb") as handle:  # noqa: PTH123 - a path from the finders
            return _compressed(handle.read())
    response = client.get(url, headers={"Accept-Encoding": "gzip"})  # the manifest
    assert response.status_code == 200, url
    return len(response.content)


def weigh(client: Client, path: str) -> dict[str, Any]:
    """What loading ``path`` costs: the HTML as sent, and each asset."""
    response = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200, (path, response.status_code)
    html = response.content
    assert response.get("Content-Encoding") == "gzip", f"{path} is sent uncompressed"
    text = gzip.decompress(html).decode("utf-8")
    assets = {url: _asset_bytes(client, url) for url in _ASSET.findall(text)}
    return {
        "html": len(html) + HEADERS, "assets": assets,
        "total": len(html) + HEADERS + sum(assets.values()),
        "stylesheets": len(_STYLESHEET.findall(text)),
        "htmx": any("htmx" in url for url in assets),
        "uses_htmx": bool(_HTMX_ATTRIBUTE.search(text)),
    }


@pytest.fixture
def citizen_pages(personas: Any) -> dict[str, str]:
    from truyvet.checkins.services import checkin_record
    from truyvet.venues.qr import venue_qr_token
    from truyvet.venues.services import venue_register

    venue = venue_register(
        actor=personas.district_officer, name="Quán Phở Bà Hạnh Thị Trấn Thanh Nhật",
        venue_type="restaurant", commune=personas.units.thanh_nhat, street="Tổ 3",
        contact_phone="0912999447")
    visit = checkin_record(venue=venue, person=personas.citizen.person,
                           arrived_at=timezone.now(), method="citizen_scan").checkin
    return {
        "venue page (QR link)": reverse("venue_scan", kwargs={"token": venue_qr_token(venue)}),
        "guest form": reverse("checkins:guest") + f"?venue={venue_qr_token(venue)}",
        "visit": reverse("checkins:visit", args=[visit.pk]),
        "history": reverse("checkins:history"),
        "personal QR": reverse("checkins:personal_qr"),
        "my exposure": reverse("tracing:my_exposure"),
        "exposure sites": reverse("tracing:exposure_sites"),
    }


def _report(name: str, weight: dict[str, Any]) -> str:
    return (f"{name}: {weight['total']} B = HTML {weight['html']} B + "
            + ", ".join(f"{url} {size} B" for url, size in weight["assets"].items()))


def test_a_stranger_who_scans_a_poster_gets_a_button_within_30_kb(
    citizen_pages: dict[str, str],
) -> None:
    weight = weigh(Client(), citizen_pages["venue page (QR link)"])
    print(_report("venue page, first load", weight))  # noqa: T201 - shown with -s
    assert weight["total"] <= BUDGET, _report("venue page", weight)
    assert weight["stylesheets"] == 1
    assert not weight["htmx"]


def test_every_citizen_page_stays_within_30_kb(
    citizen_pages: dict[str, str], personas: Any
) -> None:
    client = Client()
    client.force_login(personas.citizen)
    too_heavy = []
    for name, path in citizen_pages.items():
        weight = weigh(client, path)
        print(_report(name, weight))  # noqa: T201 - shown with -s
        if weight["total"] > BUDGET:
            too_heavy.append(_report(name, weight))
        assert weight["stylesheets"] == 1, f"{name} loads {weight['stylesheets']} stylesheets"
        assert weight["htmx"] == weight["uses_htmx"], (
            f"{name}: htmx {'loaded but not used' if weight['htmx'] else 'used, not loaded'}")
    assert not too_heavy


def test_whitenoise_can_write_brotli_copies() -> None:
    """In production (CompressedManifestStaticFilesStorage) WhiteNoise stores
    .gz and .br copies at collectstatic; the .br ones need the brotli
    package, which the project installs."""
    from whitenoise.compress import Compressor

    assert Compressor(quiet=True).use_brotli


@pytest.mark.django_db
def test_pages_are_gzipped_but_api_json_goes_out_as_sent() -> None:
    """HTML is what a slow phone waits for; the API's small JSON is read as
    sent by door devices, the offline queue and API clients (decision 0020)."""
    client = Client(HTTP_ACCEPT_ENCODING="gzip")
    page = client.get(reverse("levels:overview"))
    assert page.status_code == 200 and page["Content-Encoding"] == "gzip"
    assert gzip.decompress(page.content).lstrip().startswith(b"<!doctype html>")
    api = client.get("/api/v1/levels/")
    assert api.status_code == 200 and "Content-Encoding" not in api
    assert api.json() is not None
