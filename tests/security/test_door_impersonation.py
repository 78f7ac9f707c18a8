"""Checking someone in as someone else at the door (issue 12, item 2).

Each test is the attack as a rogue controller would make it, at a venue an
officer approved a month ago: the card's QR and the details typed by hand
are plain text, so only what the record already knows about its person
(name, birth date) may tie a visit to them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.accounts.models import Person
from truyvet.checkins.models import CheckIn
from truyvet.checkins.services import checkin_manual, checkin_staff_scan
from truyvet.core.errors import ServiceError
from truyvet.core.models import AuditEvent

from .door_world import HOA_ID, HOA_PHONE, cccd_text, door

pytestmark = pytest.mark.django_db

HOA_BIRTH = date(1990, 5, 17)


def visits_of(user: Any) -> int:
    return CheckIn.objects.filter(person_id=user.person_id).count()


def scan(personas: Any, venue: Any, payload: str) -> Any:
    return checkin_staff_scan(controller=personas.controller, venue=venue, payload=payload)


def refusal(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


# --- Chip ID card QRs ---------------------------------------------------------------


def test_a_card_with_her_number_and_another_name_does_not_check_her_in(personas: Any) -> None:
    venue = door(personas)
    forged = cccd_text(number=HOA_ID, name="Trần Thị Giả", birth="17051990")

    error = refusal(lambda: scan(personas, venue, forged))

    assert error.code == "identity_mismatch"
    assert visits_of(personas.citizen) == 0
    assert Person.objects.filter(id_number=HOA_ID).count() == 1  # and no second record


def test_a_card_with_her_number_and_name_but_another_birth_date_is_refused(
    personas: Any,
) -> None:
    venue = door(personas)
    forged = cccd_text(number=HOA_ID, name="Nguyễn Thị Hoa", birth="01011990")

    assert refusal(lambda: scan(personas, venue, forged)).code == "identity_mismatch"
    assert visits_of(personas.citizen) == 0


def test_the_old_cmnd_field_does_not_find_a_record_by_its_cccd_number(personas: Any) -> None:
    # A fresh card number, and her CCCD number written in the old-ID field.
    venue = door(personas)
    forged = cccd_text(number="004190999888", cmnd=HOA_ID, name="Nguyễn Thị Hoa",
                       birth="17051990")

    result = scan(personas, venue, forged)

    assert result.result.checkin.person_id != personas.citizen.person_id
    assert visits_of(personas.citizen) == 0


def test_her_real_card_still_checks_her_in_with_or_without_diacritics(personas: Any) -> None:
    venue = door(personas)
    real = cccd_text(number=HOA_ID, name="Nguyễn Thị Hoa", birth="17051990")
    as_scanners_type_it = cccd_text(number=HOA_ID, name="NGUYEN  THI HOA", birth="17051990")

    assert scan(personas, venue, real).result.checkin.person_id == personas.citizen.person_id
    assert scan(personas, venue, as_scanners_type_it).result.outcome == "merged"


def test_a_national_qr_with_her_full_number_and_another_name_is_refused(
    personas: Any,
) -> None:
    venue = door(personas)
    forged = f"{HOA_ID}|TRAN THI GIA|1990-05-17|0|162979388586171199|2"

    assert refusal(lambda: scan(personas, venue, forged)).code == "identity_mismatch"
    assert visits_of(personas.citizen) == 0


def test_her_birth_date_cannot_be_found_by_trying_cards_one_by_one(personas: Any) -> None:
    """The CCCD number gives away the birth year; each wrong day is counted,
    and after five in an hour even the right one is refused."""
    venue = door(personas)
    for day in range(1, 6):
        guess = cccd_text(number=HOA_ID, name="Nguyễn Thị Hoa", birth=f"{day:02d}011990")
        assert refusal(lambda guess=guess: scan(personas, venue, guess)).code == (
            "identity_mismatch")
    right = cccd_text(number=HOA_ID, name="Nguyễn Thị Hoa", birth="17051990")

    assert refusal(lambda: scan(personas, venue, right)).code == "identity_checks_paused"
    assert visits_of(personas.citizen) == 0
    # Each refusal is in the audit log under her, who sees it.
    refused = AuditEvent.objects.filter(subject_person=personas.citizen.person,
                                        action="checkin.refused")
    assert refused.count() == 5
    assert {event.actor_id for event in refused} == {personas.controller.pk}


def test_an_offline_batch_is_held_to_the_same_rule(personas: Any, client: Client) -> None:
    venue = door(personas)
    forged = cccd_text(number=HOA_ID, name="Trần Thị Giả", birth="17051990")
    client.force_login(personas.controller)

    body = client.post("/api/v1/checkins/batch", {"items": [{
        "id": "6b1f3c2a-0000-4000-8000-000000000001", "kind": "staff_scan",
        "venue": venue.code, "payload": forged, "scanned_at": timezone.now().isoformat(),
    }]}, content_type="application/json").json()

    assert body["results"][0]["code"] == "identity_mismatch"
    assert visits_of(personas.citizen) == 0


# --- Manual entry -------------------------------------------------------------------


def test_her_id_number_alone_does_not_pick_her(personas: Any) -> None:
    venue = door(personas)

    # Any street will do: a manual entry needs a phone or an address (issue 19 item 10).
    error = refusal(lambda: checkin_manual(controller=personas.controller, venue=venue,
                                           full_name="Ai Đó", id_number=HOA_ID,
                                           street="Tổ 1, Thanh Nhật"))

    assert error.code == "birth_date_required"
    assert visits_of(personas.citizen) == 0


def test_her_id_number_with_a_wrong_birth_date_is_refused_or_recorded_apart(
    personas: Any,
) -> None:
    venue = door(personas)

    def enter(**extra: Any) -> Any:
        return checkin_manual(controller=personas.controller, venue=venue,
                              full_name="Nguyễn Thị Hoa", id_number=HOA_ID,
                              phone="0987000111", birth_date=date(1990, 1, 1), **extra)

    assert refusal(enter).code == "identity_mismatch"
    apart = enter(separate=True).result.checkin.person
    assert apart.pk != personas.citizen.person_id
    assert apart.id_number is None  # an unverified record of its own
    assert visits_of(personas.citizen) == 0


def test_her_id_number_and_birth_date_check_her_in(personas: Any) -> None:
    venue = door(personas)

    result = checkin_manual(controller=personas.controller, venue=venue,
                            full_name="Nguyễn Thị Hoa", id_number=HOA_ID, birth_date=HOA_BIRTH,
                            street="Tổ 3, Thanh Nhật")

    assert result.result.checkin.person_id == personas.citizen.person_id
    assert result.display.name == "N. T. Hoa"  # the door sees her masked


def test_picking_her_from_the_lookup_with_her_phone_needs_her_birth_date(
    personas: Any,
) -> None:
    venue = door(personas)

    def pick(**extra: Any) -> Any:
        return checkin_manual(controller=personas.controller, venue=venue, full_name="",
                              phone=HOA_PHONE, person_id=personas.citizen.person_id, **extra)

    assert refusal(pick).code == "birth_date_required"
    assert refusal(lambda: pick(birth_date=date(1990, 5, 18))).code == "identity_mismatch"
    assert visits_of(personas.citizen) == 0
    assert pick(birth_date=HOA_BIRTH).result.checkin.person_id == personas.citizen.person_id


def test_her_name_and_phone_typed_by_hand_never_reach_her_account(personas: Any) -> None:
    venue = door(personas)

    result = checkin_manual(controller=personas.controller, venue=venue,
                            full_name="Nguyễn Thị Hoa", phone=HOA_PHONE)

    assert result.result.checkin.person_id != personas.citizen.person_id
    assert visits_of(personas.citizen) == 0
