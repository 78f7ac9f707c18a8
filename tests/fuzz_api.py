"""API fuzzing: schemathesis generates requests for every operation in
/api/v1/openapi.json, valid and invalid, and sends each one through the whole
Django stack (WSGI, middleware, django-ninja) as several callers: anonymous
and, with bearer tokens, a citizen, a door controller and a district
officer. It fails on any 5xx, and on any response whose status, content type
or body the schema does not describe.

Not part of ``make test`` (the file name does not start with ``test_``):

    make fuzz                                   # SQLite, as .ci/run does
    DATABASE_URL=postgres://... make fuzz       # the same on PostgreSQL
    FUZZ_MAX_EXAMPLES=200 make fuzz             # a longer hunt

Each operation is one test in its own rolled-back transaction, so what one
operation's requests change (a revoked token, a rate limit reached, a
deleted role) never leaks into the next; a fixed seed makes the run repeat
exactly. Path parameters are sometimes swapped for the ids of real records
(the venue, visit, case, contact task, staff and role of the world below), so
the fuzzer also reaches the code behind the 404s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.test import override_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
SEED = int(os.environ.get("FUZZ_SEED", "20210719"))  # 19 July 2021: the south under Directive 16
CALLERS = ("anonymous", "citizen", "controller", "district_officer")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Callers:
    """A bearer token per caller, and the ids of the world's records by the
    name path parameters give them."""

    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    path_values: dict[str, list[Any]] = field(default_factory=dict)


def _build_callers() -> Callers:
    from truyvet.accounts.models import RoleAssignment
    from truyvet.accounts.services import token_issue
    from truyvet.testing import Personas, ensure_test_units
    from truyvet.tracing.models import ContactTask
    from truyvet.venues.models import VenueStaff

    from .world import build_world

    world = build_world(Personas.create(ensure_test_units()))
    personas = world.personas
    callers = Callers()
    callers.headers["anonymous"] = {}
    for caller in CALLERS[1:]:
        token = token_issue(user=getattr(personas, caller))
        callers.headers[caller] = {"Authorization": f"Bearer {token}"}
    callers.path_values = {
        "code": [world.venue.code],
        "checkin_id": [visit.pk for visit in world.visits],
        "case_id": [world.case.pk],
        "task_id": list(ContactTask.objects.values_list("pk", flat=True)[:2]),
        "staff_id": list(
            VenueStaff.objects.filter(venue=world.venue).values_list("pk", flat=True)
        ),
        "assignment_id": list(RoleAssignment.objects.values_list("pk", flat=True)[:2]),
        "person_id": [personas.citizen.person_id, personas.other_citizen.person_id],
        "file_format": ["csv", "xlsx", "pdf"],
    }
    return callers


@pytest.fixture(scope="session")
def callers(django_db_setup: Any, django_db_blocker: Any) -> Callers:
    """Built once and committed to the test database; every operation's test
    runs in a transaction that is rolled back."""
    fast = override_settings(
        SMS_BACKEND="memory", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with django_db_blocker.unblock(), fast:
        return _build_callers()


_callers: list[Callers] = []


@pytest.fixture(autouse=True)
def _real_ids(callers: Callers) -> None:
    _callers[:] = [callers]


@pytest.fixture(autouse=True)
def _one_connection_per_test() -> Iterator[None]:
    """Requests go through the real WSGI handler, whose end-of-request signal
    closes a connection that is inside a transaction: the test's own. Django's
    test client disconnects it the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _load_schema() -> Any:
    from truyvet.wsgi import application

    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", application,
        config=schemathesis.Config.from_dict({
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                           "database": "none"},
            # Stateful chains would undo the per-operation isolation.
            "phases": {"stateful": {"enabled": False}},
        }),
    )


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half the time, the generated path parameters; otherwise the same with
    real ids where the world has them."""
    real = dict(path_parameters or {})
    for name in real:
        values = _callers[0].path_values.get(name) if _callers else None
        if values:
            real[name] = values[0]
    if real == path_parameters:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, real])


schema = _load_schema()


@pytest.fixture(autouse=True)
def _queue_runs_inline(settings: Any) -> Iterator[None]:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    yield


@schema.parametrize()
@hypothesis.settings(
    deadline=None, suppress_health_check=list(hypothesis.HealthCheck), print_blob=True,
)
def test_no_request_makes_the_api_fail_or_break_its_schema(
    case: Any, callers: Callers, db: Any
) -> None:
    for caller in CALLERS:
        case.call_and_validate(headers=callers.headers[caller], checks=CHECKS)
