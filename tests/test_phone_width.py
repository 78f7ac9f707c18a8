"""Every page fits a 360 × 740 phone (issue 19, item 13).

The pages come from the scope matrix (tests/scope/probes_*.py): each page
endpoint with a GET probe is opened once in chromium at 360 × 740, logged
in as a persona the probe allows, on the data the probe's set-up made; the
public pages that need no URL argument are opened as a stranger. A page
added to the matrix later is opened here without any change to this file.

The page fails when the document is wider than the viewport (a table or a
long word that pushes the page sideways): the reader would have to scroll
left and right to read it. Wide tables may scroll inside their own box
(``.table-wrap``); that does not widen the document.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from truyvet.testing_browser import save_screenshot

from .scope.framework import Probe, World
from .scope.probes_tracing import _case_world
from .test_scope_matrix import PROBES, PUBLIC

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1}
# The persona a page is opened as, among those a probe allows: the people
# who use the page every day before the admin, who sees everything.
PREFERENCE = (
    "district_officer", "commune_officer", "neighbour_officer", "province_officer",
    "health_worker", "venue_owner", "controller", "citizen", "other_citizen", "anonymous",
    "admin",
)
# Public pages that are not documents a person reads at all.
NOT_PAGES = {
    "page manifest": "a JSON manifest",
    "page service_worker": "a script",
    "page set_language": "answers POST only, with a redirect",
    "page accounts:logout": "answers POST only, with a redirect",
    "page checkins:scan": "answers POST only (the venue page posts to it)",
    "page api:openapi-json": "the API's JSON schema",
    "page admin_login": "a redirect to the app's login page",
    "page venues:import_report": "a file: the import's error report (CSV or XLSX)",
}


def _page_probes() -> list[Probe]:
    """The first GET probe of every page endpoint."""
    chosen: dict[str, Probe] = {}
    for probe in PROBES:
        if not probe.endpoint.startswith("page ") or not probe.allowed:
            continue
        if probe.endpoint not in chosen and _MethodSniffer.of(probe.request) == "GET":
            chosen[probe.endpoint] = probe
    return list(chosen.values())


class _MethodSniffer:
    """A stand-in world whose every attribute is another stand-in: a
    probe's request builder runs against it to tell its HTTP method before
    any data exists (the builders touch the world only to build the path)."""

    def __getattr__(self, name: str) -> Any:
        return _MethodSniffer()

    def __getitem__(self, key: Any) -> Any:
        return _MethodSniffer()

    def __int__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "x"

    def __format__(self, spec: str) -> str:
        return "x"

    @staticmethod
    def of(request: Any) -> str:
        try:
            return str(request(_MethodSniffer()).method)
        except Exception:  # noqa: BLE001 - a builder that needs real data: open it to find out
            return "GET"


def _role(probe: Probe) -> str:
    return next(role for role in PREFERENCE if role in probe.allowed)


def _public_paths() -> dict[str, str]:
    paths = {}
    for endpoint in sorted(set(PUBLIC) - set(NOT_PAGES)):
        if not endpoint.startswith("page "):
            continue
        try:
            paths[endpoint] = reverse(endpoint.removeprefix("page "))
        except NoReverseMatch:
            continue  # needs an argument: see test_every_public_page_is_opened_or_excused
    return paths


PAGE_PROBES = _page_probes()
# Public pages shown with data a probe's set-up makes (an empty list says
# nothing about how rows fit).
PUBLIC_SETUP = {"page tracing:exposure_sites": _case_world}
PUBLIC_PATHS = _public_paths()
# Public pages whose URL needs an argument the matrix does not give: each
# has a reason, and a new one fails the test below until it gets one.
def _venue_page(personas: Any) -> str:
    from truyvet.venues.qr import venue_qr_token
    from truyvet.venues.services import venue_register

    venue = venue_register(
        actor=personas.district_officer, name="Nhà Văn Hoá Xóm Bản Khuông Thượng Lũng",
        venue_type="other", commune=personas.units.an_lac, street="Xóm Bản Khuông",
        contact_phone="0912999446")
    return reverse("venue_scan", kwargs={"token": venue_qr_token(venue)})


def _unit_page(personas: Any) -> str:
    return reverse("places:detail", args=[personas.units.thanh_nhat.code])


def _declaration_form(personas: Any) -> str:
    return reverse("declarations:new", args=["movement"])  # the longer of the two forms


def _unit_levels(personas: Any) -> str:
    return reverse("levels:unit", args=[personas.units.ha_lang.code])


PUBLIC_WITH_ARGUMENTS = {
    "page venue_scan": _venue_page,  # what a poster's QR opens: the citizen's check-in
    "page places:detail": _unit_page,
    "page declarations:new": _declaration_form,
    "page levels:unit": _unit_levels,
}


def test_every_public_page_is_opened_or_excused() -> None:
    pages = {e for e in PUBLIC if e.startswith("page ")}
    unexplained = pages - set(PUBLIC_PATHS) - set(NOT_PAGES) - set(PUBLIC_WITH_ARGUMENTS)
    assert not unexplained, (
        f"add these public pages to PUBLIC_WITH_ARGUMENTS or NOT_PAGES: {sorted(unexplained)}")
    assert len(PAGE_PROBES) > 40  # the matrix was read


def _width_report(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
        const doc = document.documentElement;
        const wide = [];
        for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.right > doc.clientWidth + 1 && !el.closest('.table-wrap')) {
                wide.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                          + ' ' + Math.round(box.right));
            }
        }
        return {scroll: doc.scrollWidth, client: doc.clientWidth, wide: wide.slice(0, 8)};
    }""")


def _open_and_measure(page: Any, path: str, name: str) -> None:
    response = page.goto(path, wait_until="load")
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    report = _width_report(page)
    if report["scroll"] > report["client"]:
        save_screenshot(page, f"phone-width-{name}.png")
    assert report["scroll"] <= report["client"], (
        f"{path} is {report['scroll']} px wide on a {report['client']} px phone; "
        f"too wide: {report['wide']}"
    )


def _is_html(path: str, user: Any) -> tuple[bool, str]:
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(path, follow=True)
    content_type = response.get("Content-Type", "")
    return content_type.startswith("text/html"), content_type


@pytest.mark.browser
@pytest.mark.parametrize("probe", PAGE_PROBES, ids=[p.endpoint for p in PAGE_PROBES])
def test_the_page_fits_a_360_px_phone(
    probe: Probe, live_server: Any, browser_page: Any, personas: Any
) -> None:
    world = World(personas=personas)
    if probe.setup is not None:
        probe.setup(world)
    request = probe.request(world)
    if request.method != "GET":
        # The sniffer could not tell before the data existed (the builder
        # reads it); a page that answers POST only is a form's target.
        pytest.skip(f"{probe.endpoint} answers {request.method} only, with a redirect")
    path = request.path
    role = _role(probe)
    user = None if role == "anonymous" else getattr(personas, role)
    html, content_type = _is_html(path, user)
    if not html:
        pytest.skip(f"{probe.endpoint} is a file ({content_type}), not a page to read")
    page = browser_page(user=user, **PHONE)
    name = probe.endpoint.removeprefix("page ").replace(":", "-")
    _open_and_measure(page, path, name)


@pytest.mark.browser
@pytest.mark.parametrize(("endpoint", "path"), sorted(PUBLIC_PATHS.items()))
def test_the_public_page_fits_a_360_px_phone(
    endpoint: str, path: str, live_server: Any, browser_page: Any, personas: Any
) -> None:
    if endpoint in PUBLIC_SETUP:
        PUBLIC_SETUP[endpoint](World(personas=personas))
    html, content_type = _is_html(path, None)
    if not html:
        pytest.skip(f"{endpoint} is a file ({content_type}), not a page to read")
    page = browser_page(**PHONE)
    _open_and_measure(page, path, endpoint.removeprefix("page ").replace(":", "-"))


@pytest.mark.browser
@pytest.mark.parametrize("endpoint", sorted(PUBLIC_WITH_ARGUMENTS))
def test_the_public_page_with_an_argument_fits_a_360_px_phone(
    endpoint: str, live_server: Any, browser_page: Any, personas: Any
) -> None:
    path = PUBLIC_WITH_ARGUMENTS[endpoint](personas)
    page = browser_page(**PHONE)
    _open_and_measure(page, path, endpoint.removeprefix("page ").replace(":", "-"))
