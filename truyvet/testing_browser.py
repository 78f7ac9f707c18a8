"""Browser-test fixtures: Debian's chromium driven by Playwright's sync API
against pytest-django's ``live_server``.

Registered for the whole suite in the root ``conftest.py``. A browser test
asks for ``browser_page`` (a phone-sized page already logged in or not) or
for the lower-level pieces, and is marked ``@pytest.mark.browser``::

    @pytest.mark.browser
    def test_it_opens(live_server, browser_page, personas):
        page = browser_page(user=personas.controller)
        page.goto(live_server.url + "/checkins/control/")

Chromium is ``/usr/bin/chromium`` (no downloaded browsers). Where it is
missing the tests are skipped with the reason, unless
``TRUYVET_REQUIRE_BROWSER=1`` (CI sets it) turns the skip into a failure.

Things to know:

- The live server answers from another thread, so the test's data must be
  committed: pytest-django gives any test that uses ``live_server`` a
  transactional database, flushed afterwards (it also orders those tests
  after the others). The ``units`` and ``personas`` fixtures reload what
  they need.
- The flush leaves the cache table alone, so the cache (rate-limit
  counters) is cleared here before each live-server test.
- On SQLite the in-memory test database is shared with the server thread
  through one connection (pytest-django passes it over), so a test should
  not query the database while the page is still sending requests: wait
  for what the page shows first.
- Playwright's sync API keeps an asyncio loop running in the test's thread,
  which makes Django refuse ORM calls there ("cannot call this from an
  async context"). The calls are in fact synchronous, so the fixtures set
  ``DJANGO_ALLOW_ASYNC_UNSAFE`` while Playwright runs.

``write_qr_video`` writes a YUV4MPEG2 file of a QR code that chromium plays
as its camera (``chromium_with_camera``), so the camera path of a page can
be tested end to end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

    from truyvet.accounts.models import User

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_VARIABLE = "TRUYVET_REQUIRE_BROWSER"
# Django's own switch (not a truyvet setting): see the module docstring.
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
# The machine's network is closed: background connections would only fail.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# A cheap Android phone's screen (CSS pixels).
PHONE_VIEWPORT = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def browser_required() -> bool:
    """True where a missing chromium must fail the run instead of skipping."""
    return os.environ.get("TRUYVET_REQUIRE_BROWSER", "").strip() == "1"


def chromium_path() -> Path:
    """``/usr/bin/chromium``, or skip (fail under TRUYVET_REQUIRE_BROWSER=1)."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (
        f"{CHROMIUM} is missing (apt-get install chromium); browser tests need it"
    )
    if browser_required():
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER_VARIABLE}=1 requires them to run.")
    pytest.skip(f"{reason}. Set {REQUIRE_BROWSER_VARIABLE}=1 to make this a failure.")


def fake_camera_args(video: Path) -> list[str]:
    """Chromium flags that make ``video`` (a .y4m file) the camera, with
    the permission prompt answered yes."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


def write_qr_video(
    path: Path, text: str, *, frames: int = 10, width: int = 640, height: int = 480,
    scale: int = 8,
) -> Path:
    """Writes a YUV4MPEG2 (4:2:0) video whose every frame is ``text`` as a
    black-on-white QR code in the middle of a white ``width`` × ``height``
    frame. Chromium loops it as the fake camera."""
    import segno
    from PIL import Image

    code = segno.make(text, error="m", micro=False)
    qr_size = int(code.symbol_size(scale=scale, border=4)[0])
    if qr_size > min(width, height):
        raise ValueError(f"a {qr_size}px QR does not fit a {width}x{height} frame")
    pixels = bytes(
        0 if dark else 255
        for row in code.matrix_iter(scale=scale, border=4)
        for dark in row
    )
    qr = Image.frombytes("L", (qr_size, qr_size), pixels)
    frame = Image.new("L", (width, height), 255)
    frame.paste(qr, ((width - qr_size) // 2, (height - qr_size) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            out.write(b"FRAME\n")
            out.write(luma)
            out.write(chroma)
            out.write(chroma)
    return path


@pytest.fixture(autouse=True)
def _live_server_tests_start_with_an_empty_cache(request: pytest.FixtureRequest) -> None:
    """The flush after a live-server test empties the model tables but not
    the cache table, where rate-limit counters live (OTP requests per
    address, scans per controller...): without this, personas created in
    one live-server test count against the limits of the next."""
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright for one test module (its event loop would otherwise stay
    running in the main thread for the rest of the session)."""
    chromium_path()
    from playwright.sync_api import sync_playwright

    previous = os.environ.pop(ASYNC_UNSAFE, None)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        os.environ.pop(ASYNC_UNSAFE, None)
        if previous is not None:
            os.environ[ASYNC_UNSAFE] = previous


def launch_chromium(driver: Playwright, *extra_args: str) -> Browser:
    return driver.chromium.launch(
        executable_path=str(chromium_path()), args=[*CHROMIUM_ARGS, *extra_args],
        headless=True,
    )


@pytest.fixture(scope="module")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    """Chromium without a camera, shared by a module's tests."""
    browser = launch_chromium(playwright_driver)
    yield browser
    browser.close()


@pytest.fixture
def chromium_with_camera(playwright_driver: Playwright) -> Iterator[Callable[[Path], Browser]]:
    """Launches chromium whose camera plays a .y4m file (see
    ``write_qr_video``); closed after the test."""
    launched: list[Browser] = []

    def launch(video: Path) -> Browser:
        browser = launch_chromium(playwright_driver, *fake_camera_args(video))
        launched.append(browser)
        return browser

    yield launch
    for browser in launched:
        browser.close()


def session_cookie_for(user: User) -> tuple[str, str]:
    """A logged-in session for ``user`` (as ``Client.force_login`` makes it):
    the cookie's name and value."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def login_context(context: BrowserContext, user: User, base_url: str) -> None:
    """Gives the browser context ``user``'s session cookie for ``base_url``."""
    name, value = session_cookie_for(user)
    context.add_cookies([{"name": name, "value": value, "url": base_url}])


def new_phone_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    """A phone-sized context in Vietnamese. Service workers are blocked
    unless ``service_workers="allow"`` is passed, so that a test sees the
    network it sets up (``context.set_offline``, ``page.route``)."""
    defaults: dict[str, Any] = {
        "base_url": base_url,
        "viewport": PHONE_VIEWPORT,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "vi-VN",
        "timezone_id": "Asia/Ho_Chi_Minh",
        "service_workers": "block",
    }
    return browser.new_context(**{**defaults, **options})


@pytest.fixture
def browser_page(
    live_server: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Page]]:
    """Opens phone-sized pages on the live server: ``browser_page(user=...,
    browser=..., **context_options)``. Logged in as ``user`` when given;
    ``browser`` defaults to the camera-less chromium. Everything is closed
    after the test."""
    contexts: list[BrowserContext] = []

    def open_page(
        *, user: User | None = None, browser: Browser | None = None, **options: Any
    ) -> Page:
        if browser is None:
            browser = request.getfixturevalue("chromium")
        context = new_phone_context(browser, live_server.url, **options)
        contexts.append(context)
        if user is not None:
            login_context(context, user, live_server.url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def save_screenshot(page: Page, name: str) -> Path:
    """Saves a screenshot under test-artifacts/ (git-ignored) for a human
    to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
