"""Declaring: the form's fields, khai hộ, versions, follow-up, and every bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from truyvet.core.errors import ServiceError
from truyvet.declarations.models import Declaration
from truyvet.declarations.plates import plate_display, plate_normalize
from truyvet.declarations.services import (
    declaration_submit,
    declaration_update,
    follow_up_done,
)

from .conftest import health, movement, today

pytestmark = pytest.mark.django_db


def refused(personas: Any, data: Any) -> ServiceError:
    before = Declaration.objects.count()
    with pytest.raises(ServiceError) as caught:
        declaration_submit(actor=personas.citizen, data=data)
    assert Declaration.objects.count() == before  # nothing half-saved
    return caught.value


def codes(error: ServiceError) -> dict[str, str]:
    return {e.field: e.code for e in error.errors}


def test_a_citizen_declares_a_trip_for_herself(personas: Any) -> None:
    declaration = declaration_submit(actor=personas.citizen, data=movement(personas))
    assert declaration.version == 1 and declaration.is_current
    assert declaration.person == personas.citizen.person
    assert declaration.declared_by == personas.citizen and not declaration.on_behalf
    assert declaration.full_name == "Nguyễn Thị Hoa"
    assert declaration.origin == personas.units.quang_hoa_commune
    assert declaration.destination == personas.units.thanh_nhat
    assert declaration.plate == "11A-12345"
    assert not declaration.follow_up


def test_a_parent_declares_for_a_child_and_is_recorded_as_the_declarant(personas: Any) -> None:
    declaration = declaration_submit(
        actor=personas.citizen,
        data=health(personas, full_name="Nguyễn Văn Bé", birth_year=2015, sex="male",
                    id_number="", on_behalf=True),
    )
    assert declaration.on_behalf and declaration.person is None
    assert declaration.declared_by == personas.citizen


def test_an_update_makes_a_new_version_and_keeps_the_old_one(personas: Any) -> None:
    first = declaration_submit(actor=personas.citizen, data=movement(personas))
    second = declaration_update(actor=personas.citizen, series=first.series,
                                data=movement(personas, seat="12B", plate="11A-678.90"))
    first.refresh_from_db()
    assert second.version == 2 and second.series == first.series and second.is_current
    assert first.superseded_at is not None and first.plate == "11A-12345"
    assert second.plate == "11A-67890" and second.qr_ref == first.qr_ref


def test_only_the_declarant_may_update(personas: Any) -> None:
    first = declaration_submit(actor=personas.citizen, data=movement(personas))
    with pytest.raises(ServiceError) as caught:
        declaration_update(actor=personas.other_citizen, series=first.series,
                           data=movement(personas))
    assert caught.value.code == "declaration_unknown"
    assert Declaration.objects.filter(series=first.series).count() == 1


def test_a_yes_to_a_symptom_or_contact_goes_on_the_follow_up_list_until_done(
    personas: Any,
) -> None:
    coughing = declaration_submit(actor=personas.citizen,
                                  data=health(personas, symptoms=True, symptoms_text="ho, sốt"))
    contact = declaration_submit(actor=personas.citizen, data=health(personas, contact_case=True))
    assert coughing.follow_up and contact.follow_up
    done = follow_up_done(actor=personas.commune_officer, declaration_id=coughing.pk,
                          note="Đã gọi điện, hẹn test nhanh")
    assert done.follow_up_done_at is not None
    assert done.follow_up_done_by == personas.commune_officer
    assert done.follow_up_note == "Đã gọi điện, hẹn test nhanh"


def test_an_officer_of_another_district_cannot_mark_it_done(personas: Any) -> None:
    coughing = declaration_submit(actor=personas.citizen, data=health(personas, symptoms=True))
    with pytest.raises(ServiceError):
        follow_up_done(actor=personas.neighbour_officer, declaration_id=coughing.pk, note="")
    coughing.refresh_from_db()
    assert coughing.follow_up_done_at is None


# --- Bad input: each with its own message, nothing saved ------------------------------------


def test_a_departure_date_in_the_far_past_is_refused(personas: Any) -> None:
    error = refused(personas, movement(personas, departure_date=today() - timedelta(days=40)))
    assert codes(error) == {"departure_date": "departure_too_old"}


def test_a_departure_date_in_the_far_future_is_refused(personas: Any) -> None:
    error = refused(personas, movement(personas,
                                       departure_date=today().replace(year=today().year + 1)))
    assert codes(error) == {"departure_date": "departure_too_far"}


def test_a_destination_equal_to_the_origin_is_refused(personas: Any) -> None:
    same = personas.units.thanh_nhat.code
    error = refused(personas, movement(personas, origin=same, destination=same))
    assert codes(error) == {"destination": "same_as_origin"}
    assert "khác nơi đi" in str(error.errors[0].message)


def test_an_unknown_commune_is_refused(personas: Any) -> None:
    error = refused(personas, movement(personas, destination="Xã Không Có Thật"))
    assert codes(error) == {"destination": "commune_unknown"}
    error = refused(personas, movement(personas, origin="99999"))
    assert codes(error) == {"origin": "commune_unknown"}


def test_a_malformed_plate_is_refused(personas: Any) -> None:
    error = refused(personas, movement(personas, plate="ABC-12"))
    assert codes(error) == {"plate": "plate_invalid"}
    assert "11A-123.45" in str(error.errors[0].message)


def test_an_id_with_letters_is_refused_for_a_vietnamese_citizen(personas: Any) -> None:
    error = refused(personas, health(personas, id_number="00419O123456"))
    assert codes(error) == {"id_number": "id_letters"}


def test_a_foreigner_may_give_a_passport_number(personas: Any) -> None:
    declaration = declaration_submit(
        actor=personas.citizen,
        data=health(personas, nationality="FR", id_number="18AB12345", full_name="Marie Curie"))
    assert declaration.id_number == "18AB12345" and declaration.nationality == "FR"


def test_a_birth_year_in_the_future_is_refused(personas: Any) -> None:
    error = refused(personas, health(personas, birth_year=today().year + 1, id_number=""))
    assert codes(error) == {"birth_year": "birth_year_future"}


def test_consent_is_required(personas: Any) -> None:
    error = refused(personas, health(personas, consent=False))
    assert codes(error) == {"consent": "required"}


def test_every_problem_is_reported_at_once(personas: Any) -> None:
    error = refused(personas, movement(personas, plate="??", origin="", birth_year="abcd"))
    assert set(codes(error)) == {"plate", "origin", "birth_year"}


def test_messages_are_in_english_for_an_english_user(personas: Any) -> None:
    from django.utils import translation

    with translation.override("en"):
        error = refused(personas, movement(personas, plate="ABC-12"))
        assert "format" in str(error.errors[0].message)


@pytest.mark.parametrize(("typed", "normal", "shown"), [
    ("30A-123.45", "30A-12345", "30A-123.45"),
    ("30a 12345", "30A-12345", "30A-123.45"),
    ("30A12345", "30A-12345", "30A-123.45"),
    ("11A-1234", "11A-1234", "11A-1234"),
    ("30LD-123.45", "30LD-12345", "30LD-123.45"),
    ("29-X1 123.45", "29X1-12345", "29-X1 123.45"),
    ("29X112345", "29X1-12345", "29-X1 123.45"),
    ("11-B1 1234", "11B1-1234", "11-B1 1234"),
    ("29-Đ1 123.45", "29D1-12345", "29-D1 123.45"),
])
def test_vietnamese_plates_are_read_in_their_usual_forms(typed: str, normal: str,
                                                         shown: str) -> None:
    assert plate_normalize(typed) == normal
    assert plate_display(normal) == shown


@pytest.mark.parametrize("typed", ["ABC-12", "10A-123.45", "1A-123.45", "30A-123", "30-AB1 12345",
                                   "30A-123456"])
def test_malformed_plates_are_not_read(typed: str) -> None:
    assert plate_normalize(typed) is None


@pytest.mark.parametrize("typed", ["{d:%d/%m/%Y}", "{d:%d-%m-%Y}", "{d:%d%m%Y}", "{d:%Y-%m-%d}"])
def test_a_departure_date_is_read_day_first_as_on_paper(personas: Any, typed: str) -> None:
    day = today() + timedelta(days=2)
    declaration = declaration_submit(actor=personas.citizen,
                                     data=movement(personas, departure_date=typed.format(d=day)))
    assert declaration.departure_date == day


def test_a_departure_date_that_is_no_date_is_refused(personas: Any) -> None:
    error = refused(personas, movement(personas, departure_date="31/02/2027"))
    assert codes(error) == {"departure_date": "invalid"}
