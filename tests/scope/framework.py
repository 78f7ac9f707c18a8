"""The scope matrix: every role against every endpoint and page.

Each ``Probe`` aims one request at data that lies outside the scope of most
personas (by default: Lương Văn Đức, who lives in Quảng Hòa district, and the
officials and records of Quảng Hòa). ``allowed`` names the personas that may
see or change it; for them the request must succeed and the data must appear
(so the probe can fail). For every other persona, and for anonymous callers,
the answer must be a refusal (401/403/404, or a redirect to the login page),
or a successful answer in which none of the probe's secrets appear (lists and
counts filtered by scope) — and a write must leave the database unchanged.

Apps add probes in ``tests/scope/probes_<app>.py`` (a ``PROBES`` list) and list
endpoints that expose no personal data in ``PUBLIC``, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from truyvet.testing import Personas

ROLES = (
    "anonymous", "admin", "province_officer", "district_officer", "neighbour_officer",
    "commune_officer", "health_worker", "venue_owner", "controller", "citizen",
    "other_citizen",
)
# Who may see Quảng Hòa's data: the admin, Cao Bằng's province officer, Quảng
# Hòa's own officer. Everyone else in the personas sits outside it.
OVER_QUANG_HOA = frozenset({"admin", "province_officer", "neighbour_officer"})


@dataclass
class World:
    """The personas plus any records a probe's set-up created."""

    personas: Personas
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def secret_person(self) -> Any:
        return self.personas.other_citizen.person


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    data: dict[str, Any] | None = None
    api: bool = False  # JSON API (bearer token) rather than a page (session)
    json: bool = True  # API body as JSON, else multipart form


@dataclass(frozen=True)
class Probe:
    endpoint: str  # "GET /api/v1/people/{person_id}" or "page accounts:people"
    request: Callable[[World], Req]
    allowed: frozenset[str]
    secrets: Callable[[World], list[str]]
    setup: Callable[[World], None] | None = None
    # For writes: a snapshot of the state the request would change.
    state: Callable[[World], Any] | None = None
    # Statuses that count as success for allowed personas.
    ok_statuses: frozenset[int] = frozenset({200})
    # Tells apart probes of the same endpoint in the test's name.
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.endpoint} ({self.label})" if self.label else self.endpoint


def secret_person_strings(world: World) -> list[str]:
    """What must never leak about Lương Văn Đức: name, masked and full
    identifiers (even the masked forms reveal that he exists)."""
    person = world.secret_person
    return [person.full_name, person.masked_phone, person.id_number, person.masked_id,
            person.phone, *phone_forms(person.phone)]


def phone_forms(phone: str) -> list[str]:
    """A phone as pages and files write it (core.formats), besides E.164:
    a leak in either form must be seen."""
    from truyvet.core import formats

    return [formats.phone(phone), formats.phone(phone, keep_together=True)] if phone else []
