"""The level calculator at its thresholds: cases per 100,000 per week by
residence commune, the share of adults with a dose, the capacity adjustment,
and the province's own table overriding the seed."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.accounts.models import Person
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditEvent
from truyvet.declarations.level_thresholds import LevelThreshold
from truyvet.declarations.levels_calculator import (
    level_suggest,
    level_threshold_add,
    level_threshold_delete,
)
from truyvet.places.population import population_import
from truyvet.tracing.services import CaseInput, case_register
from truyvet.vaccination.services import dose_record
from truyvet.venues.models import VenueType
from truyvet.venues.services import venue_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def ten_thousand(personas: Any) -> Any:
    """Thị trấn Thanh Nhật with 10,000 people, 7,000 of them 18+: one case
    in a week is 10 per 100,000."""
    code = personas.units.thanh_nhat.code
    population_import(actor=None, filename="dan-so.csv", file=io.BytesIO(
        f"Mã xã,Dân số,Dân số từ 18 tuổi\n{code},10000,7000".encode()))
    return personas


def cases(personas: Any, count: int, *, days_ago: int = 1, commune: Any = None) -> None:
    today = timezone.localdate()
    for n in range(count):
        person = Person.objects.create(full_name=f"Ca bệnh {days_ago}-{n}",
                                       commune=commune or personas.units.thanh_nhat)
        case_register(actor=personas.district_officer, person=person, data=CaseInput(
            classification="confirmed", test_date=today - timedelta(days=days_ago),
            test_type="pcr"))


def test_the_seed_row_says_level_1_below_20_and_nothing_at_20(ten_thousand: Any) -> None:
    commune = ten_thousand.units.thanh_nhat
    cases(ten_thousand, 1)
    found = level_suggest(commune=commune)
    assert (found.cases, found.cases_per_100k, found.level) == (1, 10.0, 1)
    assert not found.province_table
    cases(ten_thousand, 1, days_ago=6)  # still inside the 7 days: 20 per 100,000
    found = level_suggest(commune=commune)
    assert (found.cases_per_100k, found.level) == (20.0, None)
    assert any("ma trận" in str(note) for note in found.notes)


def test_cases_outside_the_week_elsewhere_or_in_quarantine_do_not_count(ten_thousand: Any) -> None:
    units = ten_thousand.units
    cases(ten_thousand, 3, days_ago=7)  # the 8th day back: outside
    cases(ten_thousand, 2, commune=units.an_lac)
    cases(ten_thousand, 2)
    found = level_suggest(commune=units.thanh_nhat, quarantine_cases="1")
    assert (found.cases, found.excluded, found.cases_per_100k, found.level) == (2, 1, 10.0, 1)


def test_the_province_table_with_coverage_and_the_capacity_adjustment(ten_thousand: Any) -> None:
    units = ten_thousand.units
    officer = ten_thousand.province_officer
    add = lambda **row: level_threshold_add(actor=officer, province=units.cao_bang, **row)  # noqa: E731
    add(level=1, min_cases=0, max_cases=20, min_coverage=70)
    add(level=2, min_cases=0, max_cases=20, max_coverage=70)
    add(level=2, min_cases=20, max_cases=50)
    add(level=3, min_cases=50, max_cases=150)
    add(level=4, min_cases=150)
    cases(ten_thousand, 1)
    # Without vaccination records the officer's figure is used; 70 is "from 70".
    assert level_suggest(commune=units.thanh_nhat, coverage_entered="70").level == 1
    assert level_suggest(commune=units.thanh_nhat, coverage_entered="69.9").level == 2
    found = level_suggest(commune=units.thanh_nhat)
    assert (found.coverage, found.level, found.province_table) == (None, None, True)
    cases(ten_thousand, 4)  # 50 per 100,000: level 3
    assert level_suggest(commune=units.thanh_nhat).level == 3
    raised = level_suggest(commune=units.thanh_nhat, capacity_adjustment="1")
    assert (raised.base_level, raised.adjustment, raised.level) == (3, 1, 4)
    cases(ten_thousand, 10)  # 150: level 4, and +1 stays 4
    assert level_suggest(commune=units.thanh_nhat, capacity_adjustment="1").level == 4


@pytest.mark.parametrize(("field", "value"), [
    ("coverage_entered", "101"), ("coverage_entered", "abc"), ("quarantine_cases", "-1"),
    ("quarantine_cases", "1.5"), ("capacity_adjustment", "2"), ("capacity_adjustment", "0.5"),
])
def test_bad_figures_are_refused(ten_thousand: Any, field: str, value: str) -> None:
    with pytest.raises(ServiceError):
        level_suggest(commune=ten_thousand.units.thanh_nhat, **{field: value})  # type: ignore[arg-type]


def test_without_population_the_calculator_says_so(personas: Any) -> None:
    found = level_suggest(commune=personas.units.an_lac)
    assert found.level is None and any("dân số" in str(n) for n in found.notes)


def test_only_a_province_officer_edits_the_province_table(personas: Any) -> None:
    units = personas.units
    for user in (personas.district_officer, personas.commune_officer, personas.citizen):
        with pytest.raises(NotAllowed):
            level_threshold_add(actor=user, province=units.cao_bang, level=2, min_cases=20)
    with pytest.raises(ServiceError) as refused:
        level_threshold_add(actor=personas.province_officer, province=units.cao_bang, level=5,
                            min_cases=30, max_cases=20)
    assert {e.field for e in refused.value.errors} == {"level", "max_cases"}
    row = level_threshold_add(actor=personas.province_officer, province=units.cao_bang,
                              level=2, min_cases=20, max_cases=50)
    with pytest.raises(NotAllowed):
        level_threshold_delete(actor=personas.district_officer, threshold_id=row.pk)
    level_threshold_delete(actor=personas.province_officer, threshold_id=row.pk)
    assert LevelThreshold.objects.filter(province__isnull=True).count() == 1  # the seed stays
    changes = AuditEvent.objects.filter(target=f"level_threshold:{row.pk}")
    assert sorted(e.detail["change"] for e in changes) == ["added", "removed"]


def test_vaccination_records_when_they_exist_win_over_the_entered_share(
    personas: Any,
) -> None:
    units = personas.units
    population_import(actor=None, filename="nho.csv", file=io.BytesIO(
        f"Mã xã,Dân số,Dân số từ 18 tuổi\n{units.thanh_nhat.code},100,10".encode()))
    site = venue_register(
        actor=personas.district_officer, name="Trung tâm Y tế huyện Hạ Lang",
        venue_type=VenueType.VACCINATION, commune=units.thanh_nhat, street="Phố Thanh Nhật",
        contact_phone=personas.venue_owner.phone)
    assert level_suggest(commune=units.thanh_nhat, coverage_entered="55").coverage_source \
        == "entered"
    for n in range(2):
        person = Person.objects.create(full_name=f"Người tiêm {n}", commune=units.thanh_nhat,
                                       birth_date=date(1980, 1, 1 + n))
        dose_record(actor=personas.venue_owner, site=site, person=person, vaccine="pfizer",
                    given_on=timezone.localdate() - timedelta(days=30), dose_number=1)
    found = level_suggest(commune=units.thanh_nhat, coverage_entered="55")
    assert (found.coverage, found.coverage_source) == (20.0, "records")
