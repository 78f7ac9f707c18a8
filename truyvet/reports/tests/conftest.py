"""Set-up for the reports tests: venues registered through the venues
service in three communes of two districts, people without a login, and a
plain-Python recount of any figure straight from the check-in table, written
independently of the SQL the rollups use."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from truyvet.checkins.models import CheckIn
from truyvet.reports.models import ALL_TYPES, NATION, AreaDay, VenueDay
from truyvet.reports.rollups import rollups_record
from truyvet.venues.models import Venue, VenueType
from truyvet.venues.services import venue_register

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Place:
    """The venues of the reports tests, by name."""

    venues: dict[str, Venue]
    people: list[Any]
    personas: Any = None

    def __getitem__(self, name: str) -> Venue:
        return self.venues[name]


def register(personas: Any, *, name: str, venue_type: str, commune: Any,
             actor: Any = None, phone: str = "0912345001") -> Venue:
    return venue_register(
        actor=actor or personas.admin, name=name, venue_type=venue_type, commune=commune,
        street="Tổ 1", contact_phone=phone,
    )


@pytest.fixture
def places(personas: Any) -> Place:
    """Two venues in Thanh Nhật, one in An Lạc (both Hạ Lang), one in Quảng
    Hòa; six residents without a login."""
    from truyvet.accounts.services import PersonInput, person_create

    units = personas.units
    venues = {
        "market": register(personas, name="Chợ Thanh Nhật", venue_type=VenueType.MARKET,
                           commune=units.thanh_nhat, phone="0912345001"),
        "shop": register(personas, name="Tạp hoá Hồng Nhung", venue_type=VenueType.SHOP,
                         commune=units.thanh_nhat, phone="0912345002"),
        "clinic": register(personas, name="Trạm Y tế xã An Lạc", venue_type=VenueType.HEALTH,
                           commune=units.an_lac, phone="0912345003"),
        "pharmacy": register(personas, name="Tiệm thuốc Hòa Thuận", venue_type=VenueType.SHOP,
                             commune=units.quang_hoa_commune, phone="0912345004"),
    }
    people = [
        person_create(data=PersonInput(full_name=f"Người Dân Số {n}", commune=units.thanh_nhat,
                                       phone=f"09880000{n:02d}"))
        for n in range(1, 7)
    ]
    return Place(venues=venues, people=people, personas=personas)


def visit(venue: Venue, person: Any, at: datetime, *, received: datetime | None = None,
          record: bool = True) -> CheckIn:
    """A check-in row as the services write it, added to the rollups."""
    row = CheckIn.objects.create(
        id=uuid.uuid4(), venue=venue, person=person, arrived_at=at,
        received_at=received or at, ends_at=at + timedelta(minutes=30), method="manual",
    )
    if record:
        rollups_record(rows=[(venue.pk, person.pk, at)])
    return row


# --- The recount: every figure from the check-in table, in plain Python -----------------


Key = tuple[int, str, date]


def areas_of(venue: Venue) -> list[int]:
    units = []
    unit: Any = venue.commune
    while unit is not None:
        units.append(unit.pk)
        unit = unit.parent
    return [*units, NATION]


def recount(rows: Iterable[CheckIn] | None = None) -> tuple[Counter[Key], Counter[Key]]:
    """(scans, distinct people) for every (unit key, venue type or "", day)."""
    scans: Counter[Key] = Counter()
    people: dict[Key, set[int]] = defaultdict(set)
    checkins = rows if rows is not None else CheckIn.objects.select_related(
        "venue__commune__parent__parent")
    for checkin in checkins:
        day = checkin.arrived_at.astimezone(VIETNAM).date()
        for unit in areas_of(checkin.venue):
            for kind in (ALL_TYPES, checkin.venue.venue_type):
                scans[(unit, kind, day)] += 1
                people[(unit, kind, day)].add(checkin.person_id)
    return scans, Counter({key: len(who) for key, who in people.items()})


def rolled_up() -> tuple[Counter[Key], Counter[Key]]:
    """The same figures as the rollups hold them (shards added up)."""
    scans: Counter[Key] = Counter()
    people: Counter[Key] = Counter()
    for row in AreaDay.objects.all():
        key = (row.unit_key, row.venue_type, row.day)
        scans[key] += row.scans
        people[key] += row.people
    return +scans, +people


def venue_days_recounted() -> Counter[tuple[int, date]]:
    counts: Counter[tuple[int, date]] = Counter()
    for venue_id, arrived in CheckIn.objects.values_list("venue_id", "arrived_at"):
        counts[(venue_id, arrived.astimezone(VIETNAM).date())] += 1
    return counts


def venue_days_rolled_up() -> Counter[tuple[int, date]]:
    return +Counter({(row.venue_id, row.day): row.scans for row in VenueDay.objects.all()})
