"""API input and output for tracing.

Inputs forbid unknown fields and check only shape; the services check
meaning, so the API and the pages give the same messages. Outputs never
carry a contact's identity unmasked unless the caller's scope covers where
the contact lives (``ContactRead.masked`` says which).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- Inputs ---------------------------------------------------------------------------


class CaseCreate(StrictIn):
    person_id: int = Field(description="The person (people API); must live in your scope")
    classification: str = Field(max_length=10, description="`confirmed` (F0) or `suspected`")
    test_date: date | None = Field(None, description="Date of the positive test")
    test_type: str = Field("", max_length=8, description="`pcr`, `rapid` or `other`")
    symptom_onset: date | None = Field(None, description="Empty when there are no symptoms")
    isolation_place: str = Field("", max_length=300)
    isolated_at: datetime | None = Field(None, description="With a time zone")


class WindowUpdate(StrictIn):
    start: datetime = Field(description="Start of the infectious window, with a time zone")
    end: datetime | None = Field(None, description="Empty: until now (not isolated)")
    reason: str = Field(max_length=600, description="Why the window changes (audited)")


class IsolationIn(StrictIn):
    isolation_place: str = Field(max_length=300)
    isolated_at: datetime


class ReclassifyIn(StrictIn):
    test_date: date
    test_type: str = Field(max_length=8)


class CloseIn(StrictIn):
    outcome: str = Field(max_length=12,
                         description="`recovered`, `not_a_case`, `transferred` or `died`")


# A database id: larger values cannot even be sent to the database (an
# overflow there is a server error, not a "not found").
ContactId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ExpandIn(StrictIn):
    contact_ids: list[ContactId] = Field(max_length=1000, description="Contacts to expand from")
    depth: int = Field(2, description="2 for F2, 3 for F3 (bounded by the server)")


class AlertsIn(StrictIn):
    notify_contacts: bool = True
    notify_venues: bool = True
    publish_sites: bool = False


class TaskUpdate(StrictIn):
    status: str = Field(max_length=12,
                        description="`open`, `reached`, `unreachable` or `dismissed`")
    note: str = Field("", max_length=1000)


# --- Outputs ----------------------------------------------------------------------------


class CaseRead(Schema):
    id: int
    person_name: str = Field(description="Masked in lists")
    unit: str
    classification: str
    status: str
    outcome: str
    test_date: date | None
    test_type: str
    symptom_onset: date | None
    isolation_place: str
    isolated_at: datetime | None
    window_start: datetime
    window_end: datetime | None = Field(description="null: the window runs until now")
    window_manual: bool
    traced_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_person_name(case: Any) -> str:
        return str(case.person.masked_name)

    @staticmethod
    def resolve_unit(case: Any) -> str:
        return str(case.unit.full_name)


class TimelineRead(Schema):
    checkin_id: str
    venue_id: int
    venue_name: str
    venue_code: str
    venue_type: str
    address: str
    commune: str
    venue_phone: str
    arrived_at: datetime
    departed_at: datetime
    departure_real: bool = Field(description="false: estimated from the venue's dwell time")

    @staticmethod
    def resolve_checkin_id(entry: Any) -> str:
        return str(entry.checkin_id)


class VisitRead(Schema):
    venue_id: int
    venue_name: str = ""
    venue_code: str = ""
    source_start: datetime
    source_end: datetime
    contact_start: datetime
    contact_end: datetime
    overlap_seconds: int
    gap_seconds: int


class ContactRead(Schema):
    id: int
    degree: int = Field(description="1 = F1, 2 = F2 ...")
    masked: bool = Field(description="true: lives outside your scope, followed up by their unit")
    name: str
    phone: str
    commune: str
    overlap_minutes: int
    gap_minutes: int
    visit_count: int
    first_exposure_at: datetime
    last_exposure_at: datetime
    notified_at: datetime | None
    task_id: int | None
    task_status: str
    visits: list[VisitRead]

    @staticmethod
    def resolve_id(row: Any) -> int:
        return int(row.contact.pk)

    @staticmethod
    def resolve_degree(row: Any) -> int:
        return int(row.contact.degree)

    @staticmethod
    def resolve_visit_count(row: Any) -> int:
        return int(row.contact.visit_count)

    @staticmethod
    def resolve_first_exposure_at(row: Any) -> datetime:
        return row.contact.first_exposure_at

    @staticmethod
    def resolve_last_exposure_at(row: Any) -> datetime:
        return row.contact.last_exposure_at

    @staticmethod
    def resolve_notified_at(row: Any) -> datetime | None:
        return row.contact.notified_at


class TraceRunRead(Schema):
    id: int | None
    degree: int
    run_at: datetime
    window_start: datetime
    window_end: datetime
    buffer_minutes: int
    source_count: int
    visit_count: int
    contact_count: int
    truncated: bool
    duration_ms: int


class AlertsRead(Schema):
    contacts: int = Field(description="F1 contacts alerted")
    venues: int = Field(description="Venues whose owners were alerted")
    messages: int = Field(description="Messages newly queued (repeats are not queued again)")
    sites: int = Field(description="Exposure sites newly published")


class TaskRead(Schema):
    id: int
    status: str
    note: str
    unit: str
    case_unit: str = Field(description="The district of the case (no identity of the case)")
    degree: int
    name: str
    phone: str
    overlap_minutes: int
    first_exposure_at: datetime
    last_exposure_at: datetime
    visits: list[VisitRead]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_unit(task: Any) -> str:
        return str(task.unit.full_name)

    @staticmethod
    def resolve_case_unit(task: Any) -> str:
        unit = task.contact.case.unit
        return str(unit.parent.name if unit.parent else unit.name)

    @staticmethod
    def resolve_degree(task: Any) -> int:
        return int(task.contact.degree)

    @staticmethod
    def resolve_name(task: Any) -> str:
        return str(task.contact.person.full_name)

    @staticmethod
    def resolve_phone(task: Any) -> str:
        return str(task.contact.person.phone)

    @staticmethod
    def resolve_overlap_minutes(task: Any) -> int:
        return int(task.contact.overlap_minutes)

    @staticmethod
    def resolve_first_exposure_at(task: Any) -> datetime:
        return task.contact.first_exposure_at

    @staticmethod
    def resolve_last_exposure_at(task: Any) -> datetime:
        return task.contact.last_exposure_at

    @staticmethod
    def resolve_visits(task: Any) -> list[dict[str, Any]]:
        return list(task.contact.visits)


class TaskListRead(Schema):
    """A task in a list: the contact masked until the task is opened."""

    id: int
    status: str
    unit: str
    degree: int
    name: str
    overlap_minutes: int
    first_exposure_at: datetime
    created_at: datetime

    @staticmethod
    def resolve_unit(task: Any) -> str:
        return str(task.unit.full_name)

    @staticmethod
    def resolve_degree(task: Any) -> int:
        return int(task.contact.degree)

    @staticmethod
    def resolve_name(task: Any) -> str:
        return str(task.contact.person.masked_name)

    @staticmethod
    def resolve_overlap_minutes(task: Any) -> int:
        return int(task.contact.overlap_minutes)

    @staticmethod
    def resolve_first_exposure_at(task: Any) -> datetime:
        return task.contact.first_exposure_at


class ExposureSiteRead(Schema):
    """A public exposure site: where and when, nothing about anyone."""

    id: int
    venue_code: str
    venue_name: str
    venue_type: str
    address: str
    commune: str
    latitude: float | None
    longitude: float | None
    starts_at: datetime
    ends_at: datetime
    published_at: datetime

    @staticmethod
    def resolve_venue_code(site: Any) -> str:
        return str(site.venue.code)

    @staticmethod
    def resolve_venue_name(site: Any) -> str:
        return str(site.venue.name)

    @staticmethod
    def resolve_venue_type(site: Any) -> str:
        return str(site.venue.venue_type)

    @staticmethod
    def resolve_address(site: Any) -> str:
        return str(site.venue.street)

    @staticmethod
    def resolve_commune(site: Any) -> str:
        return str(site.venue.commune.full_name)

    @staticmethod
    def resolve_latitude(site: Any) -> float | None:
        return float(site.venue.latitude) if site.venue.latitude is not None else None

    @staticmethod
    def resolve_longitude(site: Any) -> float | None:
        return float(site.venue.longitude) if site.venue.longitude is not None else None


class ExposureFeed(Schema):
    generated_at: datetime
    buffer_minutes: int = Field(description="Already included in each site's window")
    sites: list[ExposureSiteRead]


class MyExposureRead(Schema):
    site: ExposureSiteRead
    arrived_at: datetime
    left_at: datetime
