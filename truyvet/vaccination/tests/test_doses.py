"""Recording doses at a site: the errors that refuse a record, the
warnings that need a reason, and the history kept by changes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.accounts.models import User
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.vaccination.models import ChangeAction, Dose, DoseChange, DoseKind, DoseSource
from truyvet.vaccination.people import identity_clean, person_for_dose
from truyvet.vaccination.services import (
    DoseChanges,
    dose_delete,
    dose_record,
    dose_update,
    doses_merge,
)

pytestmark = pytest.mark.django_db


def record(personas: Any, sites: Any, person: Any, vaccine: str, day: date, **extra: Any) -> Dose:
    return dose_record(actor=personas.venue_owner, site=sites.centre, person=person,
                       vaccine=vaccine, given_on=day, **extra)


def codes(error: pytest.ExceptionInfo[ServiceError]) -> set[str]:
    return {item.code for item in error.value.errors}


def test_site_staff_record_a_primary_course_and_the_number_and_kind_follow(
        personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    first = record(personas, sites, hoa, "Astra", date(2021, 9, 1), lot_number="nt0021")
    second = record(personas, sites, hoa, "AZ", date(2021, 10, 20))
    third = record(personas, sites, hoa, "Pfizer", date(2022, 5, 1))
    assert [(d.dose_number, d.kind, d.vaccine_id) for d in (first, second, third)] == [
        (1, DoseKind.PRIMARY, "astrazeneca"), (2, DoseKind.PRIMARY, "astrazeneca"),
        (3, DoseKind.BOOSTER, "pfizer")]
    assert first.lot_number == "NT0021" and first.source == DoseSource.ENTERED
    assert first.recorded_by == personas.venue_owner


def test_janssen_completes_the_course_in_one_dose(personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    record(personas, sites, hoa, "Janssen", date(2021, 9, 1))
    booster = record(personas, sites, hoa, "Pfizer", date(2022, 3, 1))
    assert booster.kind == DoseKind.BOOSTER


@pytest.mark.parametrize(("day", "code"), [
    (timezone.localdate() + timedelta(days=1), "future"),
    (date(1989, 1, 1), "before_campaign"),
])
def test_a_dose_in_the_future_or_before_the_campaign_is_refused(
        personas: Any, sites: Any, day: date, code: str) -> None:
    with pytest.raises(ServiceError) as error:
        record(personas, sites, personas.citizen.person, "Pfizer", day)
    assert code in codes(error)
    assert not Dose.objects.exists()


def test_a_dose_before_birth_is_refused(personas: Any, sites: Any) -> None:
    baby = person_for_dose(identity=identity_clean(
        full_name="Nông Văn Bé", birth="01/12/2021", phone="0912777001")[0])
    with pytest.raises(ServiceError) as error:
        record(personas, sites, baby, "Pfizer", date(2021, 11, 1))
    assert "before_birth" in codes(error)


def test_a_dose_before_the_previous_one_is_refused(personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    record(personas, sites, hoa, "Pfizer", date(2021, 10, 1))
    with pytest.raises(ServiceError) as error:
        record(personas, sites, hoa, "Pfizer", date(2021, 9, 1))
    assert "before_previous" in codes(error)


def test_a_skipped_or_repeated_dose_number_is_refused(personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    with pytest.raises(ServiceError) as skipped:
        record(personas, sites, hoa, "Pfizer", date(2021, 10, 1), dose_number=2)
    assert "skipped" in codes(skipped)
    record(personas, sites, hoa, "Pfizer", date(2021, 10, 1), dose_number=1)
    with pytest.raises(ServiceError) as repeated:
        record(personas, sites, hoa, "Pfizer", date(2021, 10, 30), dose_number=1)
    assert "repeated" in codes(repeated)
    assert Dose.objects.count() == 1


def test_a_short_interval_needs_a_reason_and_the_reason_is_kept(
        personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    record(personas, sites, hoa, "AstraZeneca", date(2021, 9, 1))
    with pytest.raises(ServiceError) as error:
        record(personas, sites, hoa, "AstraZeneca", date(2021, 9, 15))
    assert error.value.code == "needs_reason" and "short_interval" in codes(error)
    dose = record(personas, sites, hoa, "AstraZeneca", date(2021, 9, 15),
                  reason="Đi công tác nước ngoài")
    assert dose.warning_codes == ["short_interval"]
    assert dose.deviation_reason == "Đi công tác nước ngoài"


def test_mixing_follows_the_dated_rules(personas: Any, sites: Any) -> None:
    hoa, duc = personas.citizen.person, personas.other_citizen.person
    record(personas, sites, hoa, "AstraZeneca", date(2021, 7, 1))
    # AstraZeneca then Moderna was allowed from 8 September 2021 only.
    with pytest.raises(ServiceError) as early:
        record(personas, sites, hoa, "Moderna", date(2021, 9, 1))
    assert "mixed_course" in codes(early)
    assert record(personas, sites, hoa, "Moderna", date(2021, 9, 8)).warning_codes == []
    record(personas, sites, duc, "Vero cell", date(2021, 9, 1))
    with pytest.raises(ServiceError) as never:
        record(personas, sites, duc, "Pfizer", date(2021, 10, 1))
    assert "mixed_course" in codes(never)


def test_someone_not_on_the_sites_staff_cannot_record(personas: Any, sites: Any) -> None:
    with pytest.raises(NotAllowed):
        dose_record(actor=personas.commune_officer, site=sites.centre,
                    person=personas.citizen.person, vaccine="Pfizer", given_on=date(2021, 10, 1))
    with pytest.raises(NotAllowed):
        dose_record(actor=personas.venue_owner, site=sites.station,
                    person=personas.citizen.person, vaccine="Pfizer", given_on=date(2021, 10, 1))
    # Health workers over the district record at any of its sites.
    assert dose_record(actor=personas.health_worker, site=sites.station,
                       person=personas.citizen.person, vaccine="Pfizer",
                       given_on=date(2021, 10, 1)).dose_number == 1


def test_an_unknown_person_is_created_without_a_login_and_found_again(
        personas: Any, sites: Any) -> None:
    identity, findings = identity_clean(full_name="Hoàng Thị Nga", birth="12/03/1970",
                                        sex="Nữ", phone="0912 777 002")
    assert not findings
    created = person_for_dose(identity=identity)
    assert not User.objects.filter(person=created).exists()
    again = person_for_dose(identity=identity_clean(full_name="HOANG THI NGA",
                                                    birth="12/03/1970",
                                                    phone="+84912777002")[0])
    assert again.pk == created.pk


def test_a_correction_keeps_the_old_values_with_who_and_why(personas: Any, sites: Any) -> None:
    dose = record(personas, sites, personas.citizen.person, "Pfizer", date(2021, 10, 1))
    dose_update(actor=personas.venue_owner, dose=dose,
                changes=DoseChanges(given_on=date(2021, 10, 2), lot_number="FF8841"),
                reason="Nhập nhầm ngày")
    change = DoseChange.objects.get(dose=dose)
    assert change.action == ChangeAction.CORRECTED
    assert change.before["given_on"] == "2021-10-01" and change.after["given_on"] == "2021-10-02"
    assert change.after["lot_number"] == "FF8841"
    assert change.changed_by == personas.venue_owner and change.reason == "Nhập nhầm ngày"


def test_deleting_a_dose_moves_the_later_ones_down(personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    first = record(personas, sites, hoa, "Pfizer", date(2021, 9, 1))
    second = record(personas, sites, hoa, "Pfizer", date(2021, 10, 1))
    dose_delete(actor=personas.health_worker, dose=first, reason="Ghi nhầm người")
    second.refresh_from_db()
    assert second.dose_number == 1
    assert set(DoseChange.objects.values_list("action", flat=True)) == {
        ChangeAction.DELETED, ChangeAction.RENUMBERED}


def test_merging_moves_a_duplicates_doses_in_date_order(personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    duplicate = person_for_dose(identity=identity_clean(
        full_name="Nguyễn Thị Hoa", birth="1990", phone="0912777003",
        commune=personas.units.thanh_nhat)[0])
    record(personas, sites, duplicate, "Pfizer", date(2021, 9, 1))
    record(personas, sites, hoa, "Pfizer", date(2021, 10, 1))
    moved = doses_merge(actor=personas.health_worker, source=duplicate, target=hoa,
                        reason="Cùng một người")
    assert len(moved) == 1
    assert list(Dose.objects.filter(person=hoa).values_list("dose_number", "given_on")) == [
        (1, date(2021, 9, 1)), (2, date(2021, 10, 1))]
    assert not Dose.objects.filter(person=duplicate).exists()


def test_a_lot_number_or_reason_with_a_control_character_is_refused_and_nothing_is_stored(
        personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person
    with pytest.raises(ServiceError) as error:
        record(personas, sites, hoa, "Astra", date(2021, 9, 1), lot_number="NT\u202e0021")
    assert "control_character" in codes(error)
    with pytest.raises(ServiceError) as error:
        record(personas, sites, hoa, "Astra", date(2021, 9, 1), reason="Hẹn\x1b[2J lại")
    assert "control_character" in codes(error)
    assert not Dose.objects.filter(person=hoa).exists()
