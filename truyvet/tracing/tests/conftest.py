"""Set-up for the tracing tests: venues of different kinds registered by the
Hạ Lang district officer, visits recorded through the check-in service,
on-commit hooks that run when a service commits, and an API client that
speaks as a given user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from truyvet.accounts.models import Person, User
from truyvet.accounts.services import PersonInput, person_create, token_issue
from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind
from truyvet.tracing import services
from truyvet.tracing.models import Case, Classification, Diagnostic
from truyvet.venues.models import Venue, VenueType


@pytest.fixture(autouse=True)
def _on_commit_runs_when_a_service_commits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside a test's wrapping transaction nothing commits, so hooks that
    services register with ``transaction.on_commit`` would never run; here a
    service's outermost atomic block counts as its commit."""
    original_exit = transaction.Atomic.__exit__

    def exit_and_run_hooks(self: Any, exc_type: Any, exc: Any, tb: Any) -> Any:
        result = original_exit(self, exc_type, exc, tb)
        connection = transaction.get_connection(self.using)
        if exc_type is None and all(b._from_testcase for b in connection.atomic_blocks):
            pending, connection.run_on_commit = connection.run_on_commit, []
            for _savepoints, hook, _robust in pending:
                hook()
        return result

    monkeypatch.setattr(transaction.Atomic, "__exit__", exit_and_run_hooks)
    yield


@pytest.fixture(autouse=True)
def kicks(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[str]:
    """The outbox asks the worker to deliver right after a commit; here those
    requests are recorded instead of queued, and delivery is run by hand."""
    queued: list[str] = []
    monkeypatch.setattr("django_q.tasks.async_task",
                        lambda func, *args, **kwargs: queued.append(func))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return queued


class Api:
    """Calls /api/v1/ as ``user`` (anonymous when None)."""

    def __init__(self, user: User | None = None, language: str | None = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {token_issue(user=user)}"
        if language is not None:
            self.headers["Accept-Language"] = language

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            f"/api/v1{path}", body or {}, content_type="application/json", headers=self.headers
        )


@pytest.fixture
def api() -> type[Api]:
    return Api


@dataclass
class Places:
    """Venues in Hạ Lang with different default dwell times, and one in the
    neighbouring district."""

    market: Venue  # 60 min
    school: Venue  # 300 min
    checkpoint: Venue  # 10 min
    inn: Venue  # lodging, 720 min
    neighbour_shop: Venue  # 30 min, in Quảng Hòa

    def all(self) -> list[Venue]:
        return [self.market, self.school, self.checkpoint, self.inn, self.neighbour_shop]


@pytest.fixture
def places(personas: Any) -> Places:
    from truyvet.venues.services import venue_register

    units = personas.units

    def register(actor: User, name: str, kind: str, commune: Any, phone: str) -> Venue:
        return venue_register(
            actor=actor, name=name, venue_type=kind, commune=commune, street="Tổ 1",
            contact_phone=phone,
        )

    officer = personas.district_officer
    return Places(
        market=register(officer, "Chợ Thanh Nhật", VenueType.MARKET, units.thanh_nhat,
                        personas.venue_owner.phone),
        school=register(officer, "Trường THCS An Lạc", VenueType.SCHOOL, units.an_lac,
                        "0912999001"),
        checkpoint=register(officer, "Chốt kiểm dịch Lý Vạn", VenueType.CHECKPOINT,
                            units.an_lac, "0912999002"),
        inn=register(officer, "Nhà nghỉ Hạ Lang", VenueType.LODGING, units.thanh_nhat,
                     "0912999003"),
        neighbour_shop=register(personas.neighbour_officer, "Cửa hàng Quảng Hòa",
                                VenueType.SHOP, units.quang_hoa_commune, "0912999004"),
    )


def visit(
    person: Person, venue: Venue, arrived_at: datetime, *, minutes: int | None = None
) -> CheckIn:
    """A visit through the check-in service; ``minutes`` records a real
    departure that long after arrival (the citizen tapped "leaving")."""
    from truyvet.checkins.services import checkin_record

    result = checkin_record(
        venue=venue, person=person, arrived_at=arrived_at, method=CheckInMethod.MANUAL,
        received_at=max(arrived_at, timezone.now()),
    )
    checkin = result.checkin
    if minutes is not None:
        CheckIn.objects.filter(pk=checkin.pk).update(
            ends_at=arrived_at + timedelta(minutes=minutes),
            departure_kind=DepartureKind.CITIZEN,
        )
        checkin.refresh_from_db()
    return checkin


def leaves_after(checkin: CheckIn, length: timedelta) -> None:
    """The person tapped "leaving" ``length`` after arriving (to the microsecond)."""
    CheckIn.objects.filter(pk=checkin.pk).update(
        ends_at=checkin.arrived_at + length, departure_kind=DepartureKind.CITIZEN)


def hours_ago(hours: float) -> datetime:
    return timezone.now() - timedelta(hours=hours)


def new_person(name: str, commune: Any, phone: str = "") -> Any:
    return person_create(data=PersonInput(full_name=name, commune=commune, phone=phone))


def f0(personas: Any, person: Any = None) -> Case:
    """Confirmed by PCR today, symptoms three days ago: the window opened five
    days ago at midnight and is still open."""
    return services.case_register(
        actor=personas.health_worker, person=person or personas.citizen.person,
        data=services.CaseInput(
            classification=Classification.CONFIRMED, test_date=timezone.localdate(),
            test_type=Diagnostic.PCR, symptom_onset=timezone.localdate() - timedelta(days=3),
        ),
    )


@pytest.fixture
def story(personas: Any, places: Any) -> dict[str, Any]:
    """Hoa (the case) went to the market 50 hours ago for its default hour,
    and to the school 30 hours ago, leaving after 2 hours."""
    hoa = personas.citizen.person
    at_market = hours_ago(50)
    at_school = hours_ago(30)
    people = {
        "duc": personas.other_citizen.person,  # lives in Quảng Hòa, outside Hạ Lang
        "son": personas.venue_owner.person,
        "mai": personas.controller.person,
        "lan": new_person("Hoàng Thị Lan", personas.units.an_lac, "0912888001"),
        "tam": new_person("Vi Văn Tâm", personas.units.thanh_nhat),
    }
    visit(hoa, places.market, at_market)
    visit(hoa, places.school, at_school, minutes=120)
    visit(people["duc"], places.market, at_market + timedelta(minutes=30))  # 30 min together
    visit(people["son"], places.market, at_market + timedelta(minutes=90))  # 30 min after
    visit(people["mai"], places.market, at_market + timedelta(minutes=121))  # 61 min after
    visit(people["lan"], places.school, at_school - timedelta(hours=4))  # a school day
    visit(people["tam"], places.school, at_school + timedelta(minutes=100), minutes=5)
    visit(people["tam"], places.market, at_market - timedelta(minutes=20), minutes=30)
    return {"hoa": hoa, "at_market": at_market, "at_school": at_school, **people}
