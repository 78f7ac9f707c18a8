"""Every role against every endpoint and page (see tests/scope/framework.py)."""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from truyvet.accounts.services import token_issue
from truyvet.api import api

from . import scope
from .scope.framework import ROLES, Probe, Req, World

# The Django admin has its own permission system (is_staff); it is probed
# once as a whole below.
ADMIN_NAMESPACE = "admin"


def _probe_modules() -> list[Any]:
    return [
        importlib.import_module(f"{scope.__name__}.{info.name}")
        for info in pkgutil.iter_modules(scope.__path__)
        if info.name.startswith("probes_")
    ]


PROBES: list[Probe] = [p for module in _probe_modules() for p in module.PROBES]
PUBLIC: dict[str, str] = {k: v for module in _probe_modules() for k, v in module.PUBLIC.items()}


def _page_names(patterns: list[Any], namespace: str = "") -> set[str]:
    names: set[str] = set()
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            if entry.namespace == ADMIN_NAMESPACE:
                continue
            names |= _page_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"page {namespace}{entry.name}")
    return names


def every_endpoint() -> set[str]:
    pages = {name for name in _page_names(get_resolver().url_patterns)}
    # The API's own operations are named by method and path, below.
    pages = {name for name in pages if not name.startswith("page api:") or name in {
        "page api:openapi-json", "page api:openapi-view"}}
    operations = set()
    for path, methods in api.get_openapi_schema()["paths"].items():
        for method in methods:
            operations.add(f"{method.upper()} {path}")
    return pages | operations


def test_every_endpoint_and_page_is_in_the_matrix() -> None:
    covered = {probe.endpoint for probe in PROBES} | set(PUBLIC)
    missing = every_endpoint() - covered
    assert not missing, f"add these to a tests/scope/probes_*.py module: {sorted(missing)}"
    stale = covered - every_endpoint()
    assert not stale, f"these probes name endpoints that no longer exist: {sorted(stale)}"


def test_no_endpoint_is_both_probed_and_public() -> None:
    assert not {probe.endpoint for probe in PROBES} & set(PUBLIC)


def _client_for(role: str, world: World, probe_req: Req) -> tuple[Client, dict[str, str]]:
    client = Client()
    headers: dict[str, str] = {}
    if role != "anonymous":
        user = getattr(world.personas, role)
        if probe_req.api:
            headers["Authorization"] = f"Bearer {token_issue(user=user)}"
        else:
            client.force_login(user)
    return client, headers


def _send(client: Client, req: Req, headers: dict[str, str]) -> Any:
    method = getattr(client, req.method.lower())
    if req.method == "GET":
        return method(req.path, headers=headers)
    if req.api and req.json:
        return method(req.path, req.data or {}, content_type="application/json", headers=headers)
    return method(req.path, req.data or {}, headers=headers)


def _text_of(response: Any) -> str:
    """The body as a person would read it: JSON with its escapes undone."""
    if response.content and response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode("utf-8", errors="replace")


def _is_refusal(response: Any, req: Req) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code == 302 and not req.api:
        return "/accounts/login/" in response["Location"]
    return False


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_data_outside_a_roles_scope_is_neither_listed_read_nor_written(
    probe: Probe, personas: Any
) -> None:
    world = World(personas=personas)
    if probe.setup is not None:
        probe.setup(world)
    outcomes: dict[str, str] = {}
    for role in ROLES:
        # Each role's attempt is rolled back, so writes by one role do not
        # change what the next one sees.
        with transaction.atomic():
            req = probe.request(world)
            before = probe.state(world) if probe.state else None
            client, headers = _client_for(role, world, req)
            response = _send(client, req, headers)
            body = _text_of(response)
            leaked = [s for s in probe.secrets(world) if s and s in body]
            after = probe.state(world) if probe.state else None
            if role in probe.allowed:
                assert response.status_code in probe.ok_statuses, (
                    f"{role} should be allowed {probe.endpoint}: "
                    f"{response.status_code} {body[:300]}"
                )
                secrets = [s for s in probe.secrets(world) if s]
                assert not secrets or leaked, f"{role} got {probe.endpoint} without the data"
                if probe.state:
                    assert after != before, f"{role}'s {probe.endpoint} changed nothing"
                outcomes[role] = "allowed"
            else:
                refused = _is_refusal(response, req)
                # 200 for a list filtered by scope, 302 for a page that sends
                # the caller elsewhere (their own profile, say).
                assert refused or response.status_code in (200, 302), (
                    f"{role} on {probe.endpoint}: unexpected {response.status_code} {body[:300]}"
                )
                assert not leaked, f"{role} saw {leaked} through {probe.endpoint}"
                assert after == before, f"{role} changed data through {probe.endpoint}"
                outcomes[role] = "refused" if refused else "filtered"
            transaction.set_rollback(True)
    assert set(outcomes) == set(ROLES)


# Public endpoints that a stranger can fetch with GET and that list things
# (the rest act only on the caller's own data, or are static).
PUBLIC_LISTINGS = {
    "page home": "/",
    "page places:search": "/places/?q=quang+hoa",
    "page accounts:commune_options": "/accounts/communes/?q=quang",
    "GET /api/v1/places/units": "/api/v1/places/units?q=quang",
    "page accounts:login": "/accounts/login/",
    "page accounts:register": "/accounts/register/",
    "page levels:overview": "/levels/",
    "GET /api/v1/levels/": "/api/v1/levels/?unit=04",
}


@pytest.mark.parametrize(("endpoint", "path"), sorted(PUBLIC_LISTINGS.items()))
def test_public_listings_show_no_one_elses_personal_data(
    endpoint: str, path: str, personas: Any
) -> None:
    """Public pages are fetched by a stranger; none may mention Lương Văn Đức."""
    from .scope.framework import secret_person_strings

    assert endpoint in PUBLIC
    response = Client().get(path)
    assert response.status_code == 200
    body = _text_of(response)
    assert not [s for s in secret_person_strings(World(personas=personas)) if s and s in body]


def test_the_django_admin_is_closed_to_every_persona(personas: Any) -> None:
    for role in ROLES:
        client = Client()
        if role != "anonymous":
            client.force_login(getattr(personas, role))
        response = client.get("/django-admin/accounts/person/")
        assert response.status_code == 302 and "/django-admin/login/" in response["Location"]
