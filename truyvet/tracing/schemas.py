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


class AlertPlanRead(Schema):
    """Who an alert reaches, before it is sent: `already + by_sms +
    inapp_only + unreachable == contacts`."""

    contacts: int = Field(0, ge=0, description="F1 contacts")
    already: int = Field(0, ge=0, description="Alerted before: nothing is sent again")
    by_sms: int = Field(0, ge=0, description="By SMS (account holders also in the app)")
    inapp_only: int = Field(0, ge=0, description="In the app only: an account, no phone")
    unreachable: int = Field(0, ge=0, description="No phone and no account")
    venues: int = Field(0, ge=0, description="Venues whose owners are alerted")
    venues_unreachable: int = Field(0, ge=0, description="Of those, with no owner or phone")
    sites: int = Field(0, ge=0, description="Exposure sites that become public")


class AlertPlanIn(StrictIn, AlertPlanRead):
    pass


class AlertsIn(StrictIn):
    notify_contacts: bool = True
    notify_venues: bool = True
    publish_sites: bool = False
    expected: AlertPlanIn | None = Field(
        None, description="The plan you confirmed (from `alerts/plan`); when what would be "
        "sent now differs, nothing is sent and the answer is 409 `alert_plan_changed`")


class TaskUpdate(StrictIn):
    status: str = Field(max_length=12,
                        description="`open`, `reached`, `unreachable` or `dismissed`")
    note: str = Field("", max_length=1000)


class TaskBulkIn(StrictIn):
    task_ids: list[int] = Field(min_length=1, max_length=5000,
                                description="Tasks to change; each must be one you work")
    status: str = Field(max_length=12,
                        description="`open`, `reached`, `unreachable` or `dismissed`")


class TaskBulkRead(Schema):
    changed: int = Field(description="How many tasks changed status")


# --- Outputs ----------------------------------------------------------------------------


class CaseRead(Schema):
    id: int
    person_name: str = Field(alias="person.masked_name", description="Masked in lists")
    unit: str = Field(alias="unit.full_name")
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
    overlap_minutes: int = Field(description="Rounded once from the exact length")
    gap_minutes: int = Field(description="Rounded once from the exact length")


class StayMetRead(Schema):
    """A visit of the source that a stay of the contact met."""

    source_start: datetime
    source_end: datetime
    overlap_minutes: int
    gap_minutes: int
    closeness: str


class StayRead(Schema):
    """One stay of the contact (venue and presence), with the source's
    visits it met; its shared time is the union of the overlaps."""

    venue_id: int
    venue_name: str = ""
    venue_code: str = ""
    contact_start: datetime
    contact_end: datetime
    overlap_minutes: int = Field(description="The union of the overlaps, rounded once")
    closeness: str
    met: list[StayMetRead]


class MetRead(Schema):
    """A contact of the degree before whom an F2 (or deeper) contact met."""

    contact_id: int
    degree: int
    masked: bool
    name: str
    overlap_minutes: int = Field(description="Shared with this one (0: within the buffer)")
    gap_minutes: int
    closeness: str = Field(description='"25 phút" together, or "cách 30 phút" apart')


class ContactRead(Schema):
    id: int = Field(alias="contact.pk")
    degree: int = Field(alias="contact.degree", description="1 = F1, 2 = F2 ...")
    masked: bool = Field(description="true: lives outside your scope, followed up by their unit")
    name: str
    phone: str
    commune: str
    overlap_minutes: int = Field(
        description="Time shared with the source(s), rounded once to whole minutes; time "
                    "with two sources at once counts once")
    gap_minutes: int = Field(description="0 unless caught only by the buffer: how far apart")
    closeness: str = Field(
        description='For people: "25 phút" together, or "cách 30 phút" (minutes apart) for a '
                    "contact caught only by the buffer; never 0 minutes")
    visit_count: int = Field(alias="contact.visit_count")
    first_exposure_at: datetime = Field(alias="contact.first_exposure_at")
    last_exposure_at: datetime = Field(alias="contact.last_exposure_at")
    notified_at: datetime | None = Field(alias="contact.notified_at")
    task_id: int | None
    task_status: str
    visits: list[VisitRead] = Field(description="One entry per visit of the source")
    stays: list[StayRead] = Field(
        description="One entry per stay of the contact, the source's visits it met inside")
    met: list[MetRead] = Field(
        description="F2 and beyond: the contacts of the degree before whom they met, the "
                    "closest first (masked like contacts); empty for F1")


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
    unit: str = Field(alias="unit.full_name")
    case_unit: str = Field(description="The district of the case (no identity of the case)")
    degree: int = Field(alias="contact.degree")
    name: str = Field(alias="contact.person.full_name")
    phone: str = Field(alias="contact.person.phone")
    overlap_minutes: int = Field(alias="contact.overlap_minutes")
    gap_minutes: int = Field(alias="contact.gap_minutes")
    closeness: str = Field(alias="contact.closeness")
    first_exposure_at: datetime = Field(alias="contact.first_exposure_at")
    last_exposure_at: datetime = Field(alias="contact.last_exposure_at")
    visits: list[VisitRead] = Field(alias="contact.visits")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_case_unit(task: Any) -> str:
        unit = task.contact.case.unit
        return str(unit.parent.name if unit.parent else unit.name)


class TaskListRead(Schema):
    """A task in a list: the contact masked until the task is opened."""

    id: int
    status: str
    unit: str = Field(alias="unit.full_name")
    degree: int = Field(alias="contact.degree")
    name: str = Field(alias="contact.person.masked_name")
    overlap_minutes: int = Field(alias="contact.overlap_minutes")
    gap_minutes: int = Field(alias="contact.gap_minutes")
    closeness: str = Field(alias="contact.closeness")
    first_exposure_at: datetime = Field(alias="contact.first_exposure_at")
    created_at: datetime


class ExposureSiteRead(Schema):
    """A public exposure site: where and when, nothing about anyone."""

    id: int
    venue_code: str = Field(alias="venue.code")
    venue_name: str = Field(alias="venue.name")
    venue_type: str = Field(alias="venue.venue_type")
    address: str = Field(alias="venue.street")
    commune: str = Field(alias="venue.commune.full_name")
    latitude: float | None = Field(alias="venue.latitude")
    longitude: float | None = Field(alias="venue.longitude")
    starts_at: datetime
    ends_at: datetime
    published_at: datetime


class ExposureFeed(Schema):
    generated_at: datetime
    buffer_minutes: int = Field(description="Already included in each site's window")
    sites: list[ExposureSiteRead]


class MyExposureRead(Schema):
    site: ExposureSiteRead
    arrived_at: datetime
    left_at: datetime
