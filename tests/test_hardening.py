"""Hardening (issue 7, item 8): content security policy, TLS behind a proxy,
CSRF on every form, request-size limits, upload checks, throttling that a
forged header cannot dodge, SQL only with parameters, no secrets in the logs,
a clean ``check --deploy`` in production mode, and the server errors the API
fuzzer (tests/fuzz_api.py) found."""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import logging
import os
import re
import secrets
import subprocess
import sys
import zipfile
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import Resolver404, resolve

from truyvet.core import sms
from truyvet.core.middleware import NONCE, ContentSecurityPolicyMiddleware, build_policy
from truyvet.testing import PASSWORD, ApiClient, last_otp_sent_to

from .test_error_shape import assert_error_shape
from .world import build_world

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FILES = sorted(
    path for path in (ROOT / "truyvet").rglob("templates/**/*.html")
)


# --- Content-Security-Policy -------------------------------------------------------------


def _directives(header: str) -> dict[str, list[str]]:
    parts = [clause.split() for clause in header.split(";") if clause.strip()]
    return {words[0]: words[1:] for words in parts}


def test_every_response_carries_a_strict_content_security_policy(client: Client) -> None:
    for path in ("/", "/accounts/login/", "/api/v1/health", "/api/v1/no-such-thing"):
        policy = _directives(client.get(path)["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["form-action"] == ["'self'"]
        assert not [s for s in sum(policy.values(), []) if "unsafe" in s or s == "*"]


def test_the_only_inline_style_allowed_is_the_500_pages_by_its_hash(client: Client) -> None:
    style = re.search(r"<style>(.*?)</style>", (ROOT / "truyvet/templates/500.html").read_text(),
                      re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    policy = _directives(client.get("/")["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", f"'sha256-{digest}'"]


INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
     "an inline <script> (put the code in a static .js file)"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler (on...=)"),
    (re.compile(r"\bhx-on", re.I), "hx-on (htmx evaluates it as code)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute (use a class)"),
    (re.compile(r"<style", re.I), "an inline <style>"),
]


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_carries_code_or_style_the_policy_would_block(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    if template == ROOT / "truyvet/templates/500.html":
        text = re.sub(r"<style>.*?</style>", "", text, flags=re.DOTALL)  # allowed by hash
    found = [
        f"line {text[:match.start()].count(chr(10)) + 1}: {what}"
        for pattern, what in INLINE_CODE
        for match in pattern.finditer(text)
        if "{{ request.csp_nonce }}" not in text[match.start():match.end() + 80]
    ]
    assert not found, found


def test_a_nonce_is_sent_only_for_a_page_that_uses_one(settings: Any) -> None:
    def page_with_script(request: HttpRequest) -> HttpResponse:
        return HttpResponse(f'<script nonce="{request.csp_nonce}">go()</script>')  # type: ignore[attr-defined]

    def page_without(request: HttpRequest) -> HttpResponse:
        return HttpResponse("<p>hello</p>")

    request = RequestFactory().get("/")
    with_script = ContentSecurityPolicyMiddleware(page_with_script)(request)
    nonce = re.search(r'nonce="([^"]+)"', with_script.content.decode())
    assert nonce is not None and len(nonce.group(1)) >= 16
    script_src = _directives(with_script["Content-Security-Policy"])["script-src"]
    assert script_src == ["'self'", f"'nonce-{nonce.group(1)}'"]

    without = ContentSecurityPolicyMiddleware(page_without)(RequestFactory().get("/"))
    assert _directives(without["Content-Security-Policy"])["script-src"] == ["'self'"]
    assert build_policy({"script-src": ["'self'", NONCE]}, None) == "script-src 'self'"


def test_htmx_is_configured_never_to_evaluate_code(client: Client) -> None:
    page = client.get("/").content.decode()
    assert '"allowEval": false' in page and '"includeIndicatorStyles": false' in page


@pytest.mark.browser
def test_pages_work_under_the_policy_in_a_real_browser(
    live_server: Any, browser_page: Any, personas: Any
) -> None:
    """Chromium reports no policy violation on the pages people use most;
    the language switcher (once an inline onchange) still switches, and the
    revoke button (once an inline onsubmit) still asks first."""
    world = build_world(personas)
    violations: list[str] = []

    def watch(page: Any) -> Any:
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        return page

    visitor = watch(browser_page())
    for path in ("/", "/accounts/login/", "/accounts/register/", "/places/?q=ha+lang"):
        visitor.goto(live_server.url + path)
        visitor.wait_for_load_state("networkidle")
    visitor.goto(live_server.url + "/accounts/login/")
    # The switch submits a form and reloads the page: wait for that load,
    # not for a URL the page already has.
    with visitor.expect_navigation():
        visitor.select_option("select[name=language]", "en")
    visitor.wait_for_load_state()
    assert visitor.locator("html").get_attribute("lang") == "en"

    owner = watch(browser_page(user=personas.venue_owner))
    owner.goto(f"{live_server.url}/venues/{world.venue.code}/")
    asked: list[str] = []
    owner.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    owner.locator("form[data-confirm] button[type=submit]").click()
    owner.wait_for_timeout(300)
    assert asked and "áp phích" in asked[0]
    assert owner.url.rstrip("/").endswith(world.venue.code)  # dismissed: not submitted

    officer = watch(browser_page(user=personas.district_officer))
    for path in (f"/tracing/cases/{world.case.pk}/", "/tracing/", "/venues/manage/"):
        officer.goto(live_server.url + path)
        officer.wait_for_load_state("networkidle")
    assert not violations, violations


# --- TLS behind a proxy ---------------------------------------------------------------------


def _settings_in_a_fresh_process(script: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": environ["TRUYVET_VAR_DIR"],
           "DJANGO_SETTINGS_MODULE": "truyvet.settings", **environ}
    return subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, *script.split()] if script.startswith("manage.py") else
        [sys.executable, "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def production_environment(var_dir: Path) -> dict[str, str]:
    """What docs/deploy.md tells an installation to set."""
    return {
        "TRUYVET_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "truyvet.caobang.gov.vn",
        "PUBLIC_BASE_URL": "https://truyvet.caobang.gov.vn",
        "QR_SIGNING_KEYS": f"A1:{secrets.token_urlsafe(32)}",
        "PERSONAL_QR_PRIVATE_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SMS_BACKEND": "http",
        "SMS_HTTP_URL": "https://sms.caobang.gov.vn/send",
        "TRUYVET_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'truyvet.sqlite3'}",
    }


def test_manage_py_check_deploy_is_clean_in_production_mode(tmp_path: Path) -> None:
    done = _settings_in_a_fresh_process(
        "manage.py check --deploy --fail-level WARNING", **production_environment(tmp_path)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


def test_production_behind_the_proxy_sets_secure_cookies_and_hsts(tmp_path: Path) -> None:
    done = _settings_in_a_fresh_process(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.DEBUG)",
        **production_environment(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "True", "True", "True", "31536000", "('HTTP_X_FORWARDED_PROTO',", "'https')", "False",
    ]


def test_production_refuses_an_sms_backend_that_would_print_codes_into_the_logs(
    tmp_path: Path,
) -> None:
    done = _settings_in_a_fresh_process(
        "import truyvet.settings", **(production_environment(tmp_path) | {"SMS_BACKEND": "console"})
    )
    assert done.returncode != 0
    assert "SMS_BACKEND must be http" in done.stderr


@pytest.fixture
def behind_tls_proxy(settings: Any) -> None:
    """The settings production derives from BEHIND_TLS_PROXY=true."""
    settings.BEHIND_TLS_PROXY = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts(
    behind_tls_proxy: None, personas: Any
) -> None:
    client = Client()
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert client.get("/api/v1/health").status_code == 200  # the proxy's health probe

    secure = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    login = client.post("/accounts/login/", {"phone": personas.citizen.phone,
                                             "password": PASSWORD},
                        headers={"X-Forwarded-Proto": "https"})
    assert login.status_code == 302
    session = login.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_behind_the_proxy_a_forged_forwarded_for_does_not_dodge_the_otp_limit(
    behind_tls_proxy: None, units: Any, settings: Any
) -> None:
    """nginx appends the address it saw; whatever the client put before it
    is ignored, so rotating it does not reset the per-address limit."""
    settings.RATELIMIT_PER_IP_PER_HOUR = 3
    client = Client()
    statuses = []
    for attempt in range(5):
        response = client.post(
            "/api/v1/auth/otp", {"phone": f"09120055{attempt:02d}", "purpose": "register"},
            content_type="application/json",
            headers={"X-Forwarded-Proto": "https",
                     "X-Forwarded-For": f"198.51.100.{attempt}, 203.0.113.7"},
        )
        statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429, 429]


# --- CSRF on every form ---------------------------------------------------------------------


class _Page(HTMLParser):
    """The links, the POST forms (with whether each carries the CSRF token)
    and the htmx attributes that send non-GET requests."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self.htmx_writes = 0
        self.body_headers = ""
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "a" and attr.get("href"):
            self.links.append(attr["href"])
        if tag == "body":
            self.body_headers = attr.get("hx-headers", "")
        if tag == "form":
            self._form = None
            if attr.get("method", "get").lower() == "post":
                self._form = {"action": attr.get("action", ""), "token": False}
                self.forms.append(self._form)
        if tag == "input" and self._form is not None \
                and attr.get("name") == "csrfmiddlewaretoken" and attr.get("value"):
            self._form["token"] = True
        if any(k in attr for k in ("hx-post", "hx-put", "hx-patch", "hx-delete")):
            self.htmx_writes += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def crawl(client: Client, start: str = "/", *, limit: int = 120) -> dict[str, _Page]:
    """Follows the site's own links (and redirects) from ``start``, one page
    per view (query strings dropped), HTML pages only."""
    pages: dict[str, _Page] = {}
    seen_views: set[str] = set()
    queue = deque([start])
    while queue and len(pages) < limit:
        path = queue.popleft()
        try:
            view = resolve(path).view_name
        except Resolver404:
            continue
        if view in seen_views or view.startswith(("admin:", "api")) or view == "set_language":
            continue
        seen_views.add(view)
        response = client.get(path)
        if response.status_code in (301, 302):
            queue.append(urlsplit(urljoin(path, response["Location"])).path)
            continue
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = _Page()
        page.feed(response.content.decode())
        pages[path] = page
        for href in page.links:
            target = urlsplit(urljoin(path, href))
            if not target.netloc and target.path.startswith("/"):
                queue.append(target.path)
    return pages


CRAWLERS = ("anonymous", "citizen", "venue_owner", "controller", "district_officer", "admin")
# Pages each crawl must reach, so that the crawl cannot pass by finding nothing.
MUST_REACH = {
    "anonymous": {"accounts:login", "accounts:register"},
    "citizen": {"accounts:profile", "checkins:personal_qr", "checkins:history"},
    "venue_owner": {"venues:mine", "venues:detail"},
    "controller": {"checkins:control"},
    "district_officer": {"tracing:cases", "tracing:case", "venues:manage", "accounts:people"},
    "admin": {"accounts:roles"},
}


@pytest.mark.parametrize("who", CRAWLERS)
def test_every_form_that_posts_carries_the_csrf_token_and_the_server_refuses_it_without(
    who: str, personas: Any
) -> None:
    build_world(personas)
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(personas, who))
    pages = crawl(client)

    reached = {resolve(path).view_name for path in pages}
    assert MUST_REACH[who] <= reached, sorted(reached)
    forms = [(path, form) for path, page in pages.items() for form in page.forms]
    assert forms, "no POST form found"
    without = [f"{path} -> {form['action']}" for path, form in forms if not form["token"]]
    assert not without, without
    for path, page in pages.items():
        if page.htmx_writes:
            assert '"X-CSRFToken": "' in page.body_headers, path

    strict = Client(enforce_csrf_checks=True)
    if who != "anonymous":
        strict.force_login(getattr(personas, who))
    actions = {urljoin(path, form["action"]) or path for path, form in forms}
    for action in sorted(actions):
        response = strict.post(action, {})
        assert response.status_code == 403, f"{action} accepted a POST without the token"


def test_every_post_form_in_the_templates_has_the_csrf_tag() -> None:
    missing = []
    for template in TEMPLATE_FILES:
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, re.DOTALL | re.I):
            opening = match.group(0)[:match.group(0).index(">") + 1]
            if re.search(r"method=[\"']?post", opening, re.I) \
                    and "{% csrf_token %}" not in match.group(1):
                missing.append(f"{template.relative_to(ROOT)}: {opening[:80]}")
    assert not missing, missing


def test_an_api_write_with_a_session_but_no_csrf_token_is_refused(personas: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.citizen)
    refused = client.post("/api/v1/checkins/personal-qr/rotate", {},
                          content_type="application/json")
    assert_error_shape(refused, 403)

    # A bearer token is not sent by the browser on its own: no CSRF needed.
    api = ApiClient(personas.citizen)
    api.client = Client(enforce_csrf_checks=True)
    assert api.post("/checkins/personal-qr/rotate").status_code == 200


# --- Request size --------------------------------------------------------------------------


def test_a_json_body_over_the_limit_is_a_shaped_413_not_a_server_error(client: Client) -> None:
    body = '{"phone": "' + "1" * (20 * 1024 * 1024) + '", "password": "x"}'
    response = client.post("/api/v1/auth/login", body, content_type="application/json")
    error = assert_error_shape(response, 413)
    assert error["code"] == "too_large" and "5 MB" in error["error"]


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    client: Client, personas: Any, settings: Any
) -> None:
    """Django does not count file parts against DATA_UPLOAD_MAX_MEMORY_SIZE;
    the size guard counts the whole body."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    client.force_login(personas.district_officer)
    upload = io.BytesIO(b"a,b\n" * 40_000)
    upload.name = "venues.csv"
    assert_error_shape(client.post("/api/v1/venues/import", {"file": upload}), 413)
    page = client.post("/venues/import/", {"file": io.BytesIO(b"x" * 70_000)})
    assert page.status_code == 413
    assert "quá lớn" in page.content.decode()


def test_a_body_under_the_limit_goes_through(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    body = '{"phone": "' + "1" * 60_000 + '", "password": "x"}'
    response = client.post("/api/v1/auth/login", body, content_type="application/json")
    assert response.status_code == 422  # the schema's max_length, not the size guard


# --- Upload checks (the venue import and the camera-frame decoder) ------------------------------


def test_an_xlsx_that_inflates_enormously_is_refused_unread(personas: Any) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))
    assert len(bomb.getvalue()) < 1024 * 1024
    response = ApiClient(personas.district_officer).upload(
        "/venues/import", "venues.xlsx", bomb.getvalue()
    )
    assert assert_error_shape(response, 400)["code"] == "invalid_file"


def test_a_camera_frame_must_be_the_image_type_it_claims_and_not_a_pixel_bomb(
    personas: Any,
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    client = Client()
    client.force_login(personas.controller)

    def frame(width: int, height: int, kind: str, claimed: str) -> SimpleUploadedFile:
        data = io.BytesIO()
        Image.new("L", (width, height), 255).save(data, format=kind)
        return SimpleUploadedFile("frame", data.getvalue(), content_type=claimed)

    mismatched = client.post("/api/v1/checkins/decode",
                             {"image": frame(64, 64, "PNG", "image/jpeg")})
    assert "không khớp" in assert_error_shape(mismatched, 400)["error"]
    # A blank PNG of 4,100 × 4,100 is a few kB but 16.8 M pixels to decode.
    bomb = client.post("/api/v1/checkins/decode",
                       {"image": frame(4_100, 4_100, "PNG", "image/png")})
    assert "quá nhiều điểm ảnh" in assert_error_shape(bomb, 400)["error"]


# --- SQL only with parameters ------------------------------------------------------------------

# Modules that run SQL text of their own; each was read for how it builds the
# text (names from the model, placeholders, values as parameters). A new one
# fails this test until it has been read and added.
RAW_SQL_MODULES = {
    "truyvet/accounts/backends.py": "the bearer token's read (decision 0013): names from the "
                                    "models, the token's hash and the time as %s values",
    "truyvet/venues/qr.py": "a venue and its commune's chain by code (decision 0013): names "
                            "from the models, the code as a %s value",
    "truyvet/checkins/services/recording.py": "the scan's read, lock and writes (decision "
                                              "0013): names from the model, %s values",
    "truyvet/checkins/partitions.py": "partition DDL: fixed names + {yyyymmdd:d}, %s bounds",
    "truyvet/checkins/services/batch.py": "UPDATE of visits: column names from the model, %s "
                                          "values",
    "truyvet/checkins/tasks.py": "retention purge's chunk: names from the model, %s values",
    "truyvet/checkins/synth/bulk.py": "bulk loader: COPY/INSERT of generated rows, PRAGMA ints",
    "truyvet/core/bulk.py": "COPY of model rows: table and column names from the model, "
                            "values as COPY rows",
    "truyvet/core/ratelimit.py": "advisory lock: fixed text, the key as a parameter",
    "truyvet/reports/rollups.py": "rollup upserts: table names from the model, %s values",
    "truyvet/tracing/exposure.py": "exposure search: column names from the model, %s values",
    "truyvet/tracing/services.py": "contacts from bound column arrays, then their tasks: "
                                   "names from the models, %s values",
    "truyvet/vaccination/rollups.py": "coverage upserts: table names from the model, %s values",
    "truyvet/vaccination/importing.py": "staging-row updates: names from the model, %s values",
    "truyvet/vaccination/synth.py": "bulk loader of generated doses: COPY/INSERT, %s values",
    "truyvet/core/rawrows.py": "a hot path's few inserts (decision 0015): names from the "
                               "models, every value a %s parameter",
    "truyvet/certificates/status_selectors.py": "a person's doses, tests and recoveries in "
                                                "one UNION ALL: names from the models, ids as "
                                                "%s values",
    "truyvet/declarations/checkpoints.py": "the current declaration of a QR with its person: "
                                           "names from the models, the reference as a %s value",
    "truyvet/places/levels.py": "communes' level entries: names from the model, ids and the "
                                "day as %s values",
    "truyvet/venues/permissions.py": "a venue's staff row: fixed text with the table's name, "
                                     "ids and roles as %s values",
}
SQL_CALLS = {"execute", "executemany", "copy", "raw", "extra", "RawSQL"}


def _sql_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS
             and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "self"))
            or (isinstance(node.func, ast.Name) and node.func.id == "RawSQL")
        )
    ]


def _only_integer_formatting(node: ast.expr) -> bool:
    """An f-string whose every value is formatted as an integer (``:d``)."""
    return isinstance(node, ast.JoinedStr) and all(
        isinstance(part, ast.Constant) or (
            isinstance(part, ast.FormattedValue) and isinstance(part.format_spec, ast.JoinedStr)
            and [getattr(v, "value", None) for v in part.format_spec.values] == ["d"]
        )
        for part in node.values
    )


def test_sql_text_is_only_run_with_values_as_parameters() -> None:
    modules, unsafe = set(), []
    for path in (ROOT / "truyvet").rglob("*.py"):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        relative = str(path.relative_to(ROOT))
        for call in _sql_calls(ast.parse(path.read_text(encoding="utf-8"))):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else "RawSQL"
            if name == "copy" and not call.args:
                continue  # QueryDict.copy() and the like
            if name in {"execute", "executemany", "copy", "raw", "RawSQL"} and call.args \
                    and isinstance(call.args[0], ast.Constant) and len(call.args) == 1:
                modules.add(relative)  # fixed text, nothing interpolated
                continue
            # extra() is never needed; raw() and RawSQL() with variable text are
            # held to execute()'s rule below: values as parameters, text built
            # only from model names, and the module reviewed.
            if name == "extra" or (name in {"raw", "RawSQL"} and len(call.args) < 2
                                   and not call.keywords):
                unsafe.append(f"{relative}:{call.lineno} {name}()")
                continue
            if not call.args:
                continue
            modules.add(relative)
            sql = call.args[0]
            with_parameters = len(call.args) > 1 or bool(call.keywords)
            if isinstance(sql, ast.BinOp) and isinstance(sql.op, ast.Mod):
                unsafe.append(f"{relative}:{call.lineno} SQL built with %")
            elif not with_parameters and not _only_integer_formatting(sql) and name != "copy":
                unsafe.append(f"{relative}:{call.lineno} variable SQL without parameters")
    assert not unsafe, unsafe
    unreviewed = modules - set(RAW_SQL_MODULES)
    assert not unreviewed, f"read these and add them to RAW_SQL_MODULES: {sorted(unreviewed)}"


# --- Secrets never logged -----------------------------------------------------------------------


def test_registration_leaves_no_code_or_password_in_the_logs(
    units: Any, settings: Any, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    """Even with DEBUG on, when every SQL statement is logged with its
    parameters: codes and tokens are stored hashed, and nothing logs a body."""
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    password = "Hoa-Thanh-Nhat-2021"
    api = ApiClient()
    phone = "0912 777 001"
    assert api.post("/auth/otp", {"phone": phone, "purpose": "register"}).status_code == 202
    code = last_otp_sent_to("+84912777001")
    wrong = api.post("/auth/register", {"phone": phone, "code": "000000", "password": password,
                                        "full_name": "Nông Thị Hoa"})
    assert wrong.status_code == 400
    done = api.post("/auth/register", {"phone": phone, "code": code, "password": password,
                                       "full_name": "Nông Thị Hoa"})
    assert done.status_code == 201, done.content
    token = done.json()["token"]
    assert api.post("/auth/login", {"phone": phone, "password": password + "x"}).status_code == 401
    api.headers["Authorization"] = f"Bearer {token}"
    assert api.get("/me").status_code == 200

    logged = caplog.text + "".join(capsys.readouterr())
    assert "SELECT" in logged  # the SQL log was on
    for secret in (code, password, token):
        assert secret not in logged
    assert sms.outbox and code in sms.outbox[-1].body  # the code did go out, by SMS


# --- Findings of the API fuzzer (tests/fuzz_api.py) --------------------------------------------


def test_a_post_to_an_unknown_api_path_is_a_shaped_404_not_the_csrf_page() -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/checkins/null,null/checkout", {}, content_type="application/json"
    )
    assert_error_shape(response, 404)


def test_the_inbox_survives_offsets_and_ids_too_large_for_the_database(personas: Any) -> None:
    api = ApiClient(personas.citizen)
    listed = api.get("/inbox", offset=2**70)
    assert listed.status_code == 200 and listed.json()["messages"] == []
    marked = api.post("/inbox/read", {"ids": [5, -2**70]})
    assert assert_error_shape(marked, 422)["code"] == "validation_error"
