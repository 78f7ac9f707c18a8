"""The records a certificate can be issued from: a person's latest dose
(vaccination selectors), latest test result or latest recovery, as the
facts a DCC entry states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from truyvet.accounts.models import Person
from truyvet.certificates.issuing.hcert import (
    Facts,
    RecoveryFacts,
    TestFacts,
    VaccinationFacts,
)
from truyvet.certificates.models import Recovery, TestKind, TestResult
from truyvet.vaccination.models import Dose
from truyvet.vaccination.selectors import certificate_doses, doses_under_correction


class UnderCorrection(Exception):
    """The person's latest dose has an open correction request."""


@dataclass(frozen=True)
class Record:
    kind: str
    record_id: int
    site: Any  # a Venue or None
    facts: Facts


def latest_record(person: Person, kind: str, *, at: datetime | None = None) -> Record | None:
    """The latest record of ``kind`` dated on or before ``at`` (now by
    default); None when there is none. Raises ``UnderCorrection`` for a
    dose whose correction is open."""
    moment = at or timezone.now()
    if kind == "v":
        day = timezone.localdate(moment)
        doses = [d for d in certificate_doses(person=person) if d.given_on <= day]
        if not doses:
            return None
        dose = doses[-1]
        if dose.under_correction or doses_under_correction(person=person):
            raise UnderCorrection
        site = Dose.objects.select_related("site", "site__commune").get(pk=dose.dose_id).site
        return Record("v", dose.dose_id, site, VaccinationFacts(
            dose_number=dose.dose_number, series_doses=dose.series_doses,
            given_on=dose.given_on, product=dose.product, manufacturer=dose.manufacturer,
            vaccine_type=dose.vaccine_type, country=dose.country))
    if kind == "t":
        test = (TestResult.objects.filter(person=person, sampled_at__lte=moment)
                .select_related("facility", "facility__commune").order_by("-sampled_at", "-id")
                .first())
        if test is None:
            return None
        return Record("t", test.pk, test.facility, TestFacts(
            test_type=test.dcc_test_type, sampled_at=test.sampled_at, result=test.dcc_result,
            centre=test.facility.name,
            device=test.device_id if test.kind == TestKind.RAPID else "",
            name=test.test_name if test.kind == TestKind.PCR else ""))
    recovery = (Recovery.objects.filter(person=person, recovered_on__lte=timezone.localdate(
        moment)).order_by("-first_positive_on", "-id").first())
    if recovery is None:
        return None
    return Record("r", recovery.pk, None, RecoveryFacts(first_positive=recovery.first_positive_on))


def record_exists(kind: str, record_id: int) -> bool:
    if kind == "v":
        return Dose.objects.filter(pk=record_id).exists()
    if kind == "t":
        return TestResult.objects.filter(pk=record_id).exists()
    return Recovery.objects.filter(pk=record_id).exists()
