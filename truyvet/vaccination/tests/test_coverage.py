"""Coverage read from the rollups: a fixed number of queries whatever the
data, percentages of the population, the daily workbook, and synthetic
doses from ``truyvet synth --doses``."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from truyvet.places.population import population_import
from truyvet.vaccination.models import CoverageReport, Dose, Measure
from truyvet.vaccination.selectors import Scope, coverage_build, coverage_direct
from truyvet.vaccination.services import coverage_reports_make, dose_record

pytestmark = pytest.mark.django_db


def test_a_provinces_coverage_takes_four_queries_whatever_the_doses(
        personas: Any, sites: Any, django_assert_num_queries: Any) -> None:
    dose_record(actor=personas.venue_owner, site=sites.centre, person=personas.citizen.person,
                vaccine="Pfizer", given_on=date(2021, 9, 1))
    with django_assert_num_queries(4):
        coverage = coverage_build(scope=Scope(unit=personas.units.cao_bang))
    assert coverage.totals.counts[Measure.FIRST_DOSE] == 1
    assert len(coverage.children) == 10  # Cao Bằng's districts in 2021


def test_percentages_follow_the_population(personas: Any, sites: Any) -> None:
    units = personas.units
    population_import(actor=None, filename="x.csv", file=io.BytesIO(
        f"Mã xã,Dân số,Dân số từ 18 tuổi\n{units.thanh_nhat.code},200,100\n".encode()))
    for day in (date(2021, 9, 1), date(2021, 9, 22)):
        dose_record(actor=personas.venue_owner, site=sites.centre,
                    person=personas.citizen.person, vaccine="Pfizer", given_on=day)
    coverage = coverage_build(scope=Scope(unit=units.thanh_nhat), since=date(2021, 9, 1),
                              until=date(2021, 9, 30))
    assert coverage.totals.share(Measure.FULL_COURSE) == 0.5
    assert coverage.totals.adult_share(Measure.FULL_COURSE) == 1.0
    assert coverage.trend[0].new[Measure.FIRST_DOSE] == 1
    assert coverage.trend[-1].total[Measure.FULL_COURSE] == 1
    assert coverage_direct(unit=units.thanh_nhat) == coverage.totals_by_measure()


def test_the_daily_job_keeps_one_workbook_per_unit_and_day(personas: Any, sites: Any) -> None:
    dose_record(actor=personas.venue_owner, site=sites.centre, person=personas.citizen.person,
                vaccine="Pfizer", given_on=date(2021, 9, 1))
    yesterday = date.today() - timedelta(days=1)  # noqa: DTZ011 - any day will do
    assert coverage_reports_make(day=yesterday) == 2  # Hạ Lang and Cao Bằng
    assert coverage_reports_make(day=yesterday) == 0
    assert set(CoverageReport.objects.values_list("unit__code", flat=True)) == {"048", "04"}


def test_synth_adds_late_2021_doses_and_the_rollups_follow(personas: Any) -> None:
    out = io.StringIO()
    call_command("synth", "--district", "048", "--venues", "0", "--people", "400",
                 "--checkins", "0", "--doses", "300", stdout=out, stderr=io.StringIO())
    assert "Doses:" in out.getvalue()
    doses = Dose.objects.all()
    assert 250 <= doses.count() <= 310
    assert doses.filter(given_on__gt=date(2021, 12, 31)).count() == doses.filter(
        kind="booster").filter(given_on__gt=date(2021, 12, 31)).count()
    ha_lang = coverage_build(scope=Scope(unit=personas.units.ha_lang))
    assert ha_lang.totals_by_measure() == coverage_direct(unit=personas.units.ha_lang)
