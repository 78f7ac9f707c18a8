"""Claims on records made before their person registered, through the
pages: the claimant's own page, and the commune officer's queue and check.
(The attacks on them are in tests/security/test_registration_takeover.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from truyvet.accounts.models import ClaimStatus, IdentityClaim, Person
from truyvet.accounts.services import PersonInput, person_create
from truyvet.testing import register_user

RECORD_ID = "004085111222"


def a_record(personas: Any, *, commune: Any = "an_lac") -> Person:
    """Made by the district officer; one without a commune (as a card
    scanned at a door makes it) by the system admin."""
    return person_create(
        actor=personas.district_officer if commune else personas.admin,
        data=PersonInput(full_name="Nông Văn Pác", birth_year=1985, sex="male",
                         id_number=RECORD_ID,
                         commune=getattr(personas.units, commune) if commune else None))


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def claimant(personas: Any) -> Any:
    a_record(personas)
    return register_user(phone="0988123456", full_name="Nông Văn Pác", id_number=RECORD_ID)


def test_the_claimant_is_told_both_ways_to_join_their_record(claimant: Any) -> None:
    client = signed_in(claimant)

    profile = client.get("/accounts/me/").content.decode()
    page = client.get("/accounts/me/claim/").content.decode()

    assert "đang chờ xác nhận" in profile
    assert "Cách 1" in page and "Cách 2" in page
    assert "Xã An Lạc" in page  # the record's commune: where to show the card


def test_a_wrong_code_is_shown_on_the_claimant_s_page(claimant: Any) -> None:
    answer = signed_in(claimant).post("/accounts/me/claim/", {"action": "code", "code": "000000"})

    assert answer.status_code == 200
    assert "Mã xác nhận không đúng hoặc đã hết hạn." in answer.content.decode()


def test_a_claimant_chooses_the_office_when_no_commune_is_known(personas: Any) -> None:
    a_record(personas, commune=None)
    claimant = register_user(phone="0988123456", full_name="Nông Văn Pác", id_number=RECORD_ID)

    chosen = signed_in(claimant).post("/accounts/me/claim/", {
        "action": "unit", "commune": personas.units.thanh_nhat.pk})

    assert chosen.status_code == 302
    assert IdentityClaim.objects.get(user=claimant).unit == personas.units.thanh_nhat


def test_the_commune_officer_confirms_on_the_page_with_the_card_in_hand(
    personas: Any, claimant: Any
) -> None:
    officer = signed_in(personas.district_officer)
    claim = IdentityClaim.objects.get(user=claimant)

    queue = officer.get("/accounts/claims/").content.decode()
    detail = officer.get(f"/accounts/claims/{claim.pk}/").content.decode()
    wrong = officer.post(f"/accounts/claims/{claim.pk}/", {
        "action": "confirm", "id_number": "004085111223"})
    done = officer.post(f"/accounts/claims/{claim.pk}/", {
        "action": "confirm", "id_number": RECORD_ID})

    assert "Nông Văn Pác" not in queue and f"/accounts/claims/{claim.pk}/" in queue
    assert "Nông Văn Pác" in detail and RECORD_ID in detail
    assert "không khớp với hồ sơ" in wrong.content.decode()
    assert done.status_code == 302
    assert Person.objects.get(id_number=RECORD_ID).user == claimant


def test_refusing_needs_a_reason_that_the_claimant_then_reads(
    personas: Any, claimant: Any
) -> None:
    officer = signed_in(personas.district_officer)
    claim = IdentityClaim.objects.get(user=claimant)

    no_reason = officer.post(f"/accounts/claims/{claim.pk}/", {"action": "reject", "note": ""})
    refused = officer.post(f"/accounts/claims/{claim.pk}/", {
        "action": "reject", "note": "Không mang giấy tờ gốc"})

    assert no_reason.status_code == 200
    assert refused.status_code == 302
    assert IdentityClaim.objects.get(pk=claim.pk).status == ClaimStatus.REJECTED
    assert "Không mang giấy tờ gốc" in signed_in(claimant).get(
        "/accounts/me/claim/").content.decode()
