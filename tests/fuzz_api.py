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
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.test import override_settings
from django.utils import timezone
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
SEED = int(os.environ.get("FUZZ_SEED", "20210719"))  # the day Hồ Chí Minh City locked down
CALLERS = ("anonymous", "citizen", "controller", "district_officer")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class World:
    """The records the fuzzer's requests can find, and a bearer token per caller."""

    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    path_values: dict[str, list[Any]] = field(default_factory=dict)


def _build_world() -> World:
    from truyvet.accounts.models import RoleAssignment
    from truyvet.accounts.services import token_issue
    from truyvet.checkins.services import checkin_record
    from truyvet.testing import Personas, ensure_test_units
    from truyvet.tracing.models import ContactTask
    from truyvet.tracing.services import CaseInput, case_register, trace_run
    from truyvet.venues.models import VenueStaff
    from truyvet.venues.services import venue_register, venue_staff_add

    personas = Personas.create(ensure_test_units())
    units = personas.units
    venue = venue_register(
        actor=personas.district_officer, name="Quán Phở Thanh Nhật", venue_type="restaurant",
        commune=units.thanh_nhat, street="Phố Thanh Nhật", contact_phone=personas.venue_owner.phone,
    )
    venue_staff_add(
        actor=personas.venue_owner, venue=venue, phone=personas.controller.phone,
        role="controller", notify=False,
    )
    arrived = timezone.now() - timedelta(days=1)
    visits = [
        checkin_record(venue=venue, person=user.person, arrived_at=arrived + timedelta(minutes=i),
                       method="citizen_scan").checkin
        for i, user in enumerate((personas.citizen, personas.other_citizen))
    ]
    case = case_register(
        actor=personas.district_officer, person=personas.citizen.person,
        data=CaseInput(classification="confirmed", test_date=timezone.localdate(),
                       test_type="pcr"),
    )
    trace_run(actor=personas.district_officer, case=case)
    world = World()
    for caller in CALLERS[1:]:
        token = token_issue(user=getattr(personas, caller))
        world.headers[caller] = {"Authorization": f"Bearer {token}"}
    world.headers["anonymous"] = {}
    world.path_values = {
        "code": [venue.code],
        "checkin_id": [visit.pk for visit in visits],
        "case_id": [case.pk],
        "task_id": list(ContactTask.objects.values_list("pk", flat=True)[:2]),
        "staff_id": list(VenueStaff.objects.filter(venue=venue).values_list("pk", flat=True)),
        "assignment_id": list(RoleAssignment.objects.values_list("pk", flat=True)[:2]),
        "person_id": [personas.citizen.person_id, personas.other_citizen.person_id],
        "file_format": ["csv", "xlsx", "pdf"],
    }
    return world


@pytest.fixture(scope="session")
def world(django_db_setup: Any, django_db_blocker: Any) -> World:
    """Built once and committed to the test database; every operation's test
    runs in a transaction that is rolled back."""
    fast = override_settings(
        SMS_BACKEND="memory", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with django_db_blocker.unblock(), fast:
        return _build_world()


_world: list[World] = []


@pytest.fixture(autouse=True)
def _real_ids(world: World) -> None:
    _world[:] = [world]


def _load_schema() -> Any:
    from truyvet.wsgi import application

    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", application,
        config=schemathesis.Config.from_dict({
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                           "database": "none"},
            "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": os.environ.get("FUZZ_COVERAGE", "1") == "1"}},
        }),
    )


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half the time, the generated path parameters; otherwise the same with
    real ids where the world has them."""
    real = dict(path_parameters or {})
    for name in real:
        values = _world[0].path_values.get(name) if _world else None
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
    case: Any, world: World, db: Any
) -> None:
    for caller in CALLERS:
        case.call_and_validate(headers=world.headers[caller], checks=CHECKS)
