"""API input and output of vaccination (strict: unknown fields refused)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict

ID = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class VaccineRead(Schema):
    code: str
    name: str
    manufacturer: str
    dcc_product: str = Field(description="EU DCC mp (vaccine-medicinal-product)")
    dcc_manufacturer: str = Field(description="EU DCC ma (vaccine-mah-manf)")
    dcc_vaccine_type: str = Field(description="EU DCC vp (vaccine-prophylaxis)")
    primary_doses: int
    min_interval_days: int
    licensed_on: date


class DoseRead(Schema):
    id: int
    dose_number: int
    kind: str
    vaccine: str = Field(alias="vaccine_id")
    vaccine_name: str
    given_on: date
    site_code: str | None
    site: str
    lot_number: str
    source: str
    warnings: list[str]
    deviation_reason: str
    under_correction: bool

    @staticmethod
    def resolve_vaccine_name(obj: Any) -> str:
        return str(obj.vaccine.name)

    @staticmethod
    def resolve_site_code(obj: Any) -> str | None:
        return obj.site.code if obj.site_id else None

    @staticmethod
    def resolve_site(obj: Any) -> str:
        return str(obj.where)

    @staticmethod
    def resolve_warnings(obj: Any) -> list[str]:
        return list(obj.warning_codes)

    @staticmethod
    def resolve_under_correction(obj: Any) -> bool:
        return bool(getattr(obj, "under_correction", False))


class DueRead(Schema):
    code: str
    text: str
    from_day: date | None


class CorrectionSummary(Schema):
    id: int
    kind: str
    status: str
    dose_id: int | None
    filed_at: datetime
    confirmed_at: datetime | None


class MyRecordRead(Schema):
    doses: list[DoseRead]
    due: DueRead
    corrections: list[CorrectionSummary]


class CertificateDoseRead(Schema):
    dose_id: int
    dose_number: int = Field(description="DCC dn")
    series_doses: int = Field(description="DCC sd")
    given_on: date = Field(description="DCC dt")
    product: str = Field(description="DCC mp")
    manufacturer: str = Field(description="DCC ma")
    vaccine_type: str = Field(description="DCC vp")
    kind: str
    country: str = Field(description="DCC co")
    site: str
    under_correction: bool


class PersonRecordRead(Schema):
    person_id: int
    full_name: str
    birth_year: int | None
    doses: list[DoseRead]
    due: DueRead


class DoseCreate(Strict):
    """Who was vaccinated and the dose. The person is found by document
    number, else by phone with name and birth date, else created."""

    full_name: str = Field(max_length=120)
    birth: str = Field(max_length=20, description="dd/mm/yyyy, yyyy-mm-dd or a year")
    sex: str = Field("", max_length=10)
    phone: str = Field("", max_length=20)
    id_number: str = Field("", max_length=20)
    vaccine: str = Field(max_length=60, description="a product code or name (\"AZ\", \"Pfizer\")")
    given_on: date
    dose_number: int | None = Field(None, ge=1, le=20)
    kind: str = Field("", max_length=10)
    lot_number: str = Field("", max_length=40)
    reason: str = Field("", max_length=300)


class DoseUpdate(Strict):
    vaccine: str | None = Field(None, max_length=60)
    given_on: date | None = None
    lot_number: str | None = Field(None, max_length=40)
    reason: str = Field(max_length=300)


class ReasonIn(Strict):
    reason: str = Field(max_length=300)


class MergeIn(Strict):
    source_id: ID
    reason: str = Field(max_length=300)


class SiteDoseRead(Schema):
    id: int
    person_id: int
    person_name: str
    birth_year: int | None
    dose_number: int
    vaccine: str = Field(alias="vaccine_id")
    given_on: date
    lot_number: str

    @staticmethod
    def resolve_person_name(obj: Any) -> str:
        return str(obj.person.full_name)

    @staticmethod
    def resolve_birth_year(obj: Any) -> int | None:
        return obj.person.birth_year


class RowErrorRead(Schema):
    row: int
    message: str


class ImportRead(Schema):
    id: int
    site_code: str
    filename: str
    status: str
    phase: str
    percent: int
    rows: int
    imported: int
    skipped: int
    rejected: int
    people_created: int
    error_message: str
    errors: list[RowErrorRead]
    created_at: datetime
    finished_at: datetime | None


class CorrectionRead(Schema):
    id: int
    kind: str
    status: str
    dose_id: int | None
    dose_label: str
    proposed_given_on: date | None
    proposed_vaccine: str | None = Field(alias="proposed_vaccine_id")
    proposed_lot: str
    proposed_site_name: str
    note: str
    on_behalf: bool
    filed_at: datetime
    confirmed_at: datetime | None
    reviewer: str
    decision: str
    evidence_ids: list[int]

    @staticmethod
    def resolve_reviewer(obj: Any) -> str:
        return str(obj.review_site.name if obj.review_site_id else obj.review_unit.name)

    @staticmethod
    def resolve_evidence_ids(obj: Any) -> list[int]:
        return [item.pk for item in obj.evidence.all()]


class QueueItemRead(Schema):
    id: int
    kind: str
    person: str
    reviewer: str
    confirmed_at: datetime | None
    days_waiting: int


class CodeIn(Strict):
    code: str = Field(min_length=6, max_length=6)


class ReviewIn(Strict):
    decision: str = Field(description="approve, reject or ask")
    reason: str = Field("", max_length=2000)
    given_on: date | None = Field(None, description="approve: the date after checking")
    vaccine: str | None = Field(None, max_length=60)
    lot_number: str | None = Field(None, max_length=40)


class MeasureFigures(Schema):
    measure: int
    label: str
    people: int
    share: float | None = Field(description="% of the population")
    adults: int = Field(description="people aged 18 and over")
    adult_share: float | None = Field(description="% of the population aged 18 and over")


class CoverageRowRead(Schema):
    unit_id: int | None
    code: str | None
    name: str
    population: int
    population_adults: int
    measures: list[MeasureFigures]


class AgeRowRead(Schema):
    group: int = Field(description="lower bound of the age group; -1 unknown")
    label: str
    people: dict[int, int]


class TrendRead(Schema):
    day: date
    new: dict[int, int]
    total: dict[int, int]


class CoverageRead(Schema):
    scope: str
    name: str
    since: date
    until: date
    totals: CoverageRowRead
    children: list[CoverageRowRead]
    ages: list[AgeRowRead]
    trend: list[TrendRead]
