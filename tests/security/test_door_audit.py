"""Who saw what at the door, and what a venue shows (issue 12, lows).

Door scans, manual entries and door lookups show a person to a
controller; officials' searches return people; a venue's staff list shows
full names. Each is now audited under the person, who sees it on "who
viewed my data" (the controller by abbreviated name and venue). And the
door no longer tells which venue codes exist, a venue's contact phone is
masked for those who do not manage it, and officials no longer print a
live personal QR card for someone who has an account."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.accounts.services import PersonInput, person_create
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.selectors import people_lookup
from truyvet.checkins.services import checkin_manual, checkin_staff_scan
from truyvet.core.models import AuditEvent
from truyvet.testing import ApiClient

from .door_world import HOA_ID, cccd_text, door

pytestmark = pytest.mark.django_db


def about(user: Any) -> Any:
    return AuditEvent.objects.filter(subject_person_id=user.person_id)


def her_page(client: Client, user: Any) -> str:
    client.force_login(user)
    return client.get("/checkins/history/").content.decode()


# --- Audited, and shown to the person -------------------------------------------------


def test_a_door_scan_is_audited_under_the_person_scanned(personas: Any, client: Client) -> None:
    venue = door(personas)
    before = about(personas.citizen).count()

    checkin_staff_scan(controller=personas.controller, venue=venue,
                       payload=personal_qr_token(personas.citizen.person))

    event = about(personas.citizen).order_by("-id").first()
    assert about(personas.citizen).count() == before + 1
    assert event is not None and event.actor_id == personas.controller.pk
    assert event.action == "checkin.staff" and event.target == f"venue:{venue.code}"
    assert event.unit == venue.commune and event.detail["method"] == "personal_qr"
    page = her_page(client, personas.citizen)
    assert "H. T. Mai" in page and venue.name in page  # the controller, abbreviated
    assert "Hà Thị Mai" not in page


def test_a_card_scan_and_a_manual_entry_are_audited_too(personas: Any) -> None:
    venue = door(personas)

    checkin_staff_scan(controller=personas.controller, venue=venue,
                       payload=cccd_text(number=HOA_ID, name="Nguyễn Thị Hoa", birth="17051990"))
    # A typed visitor needs a way to be reached (issue 19 item 10): her street.
    checkin_manual(controller=personas.controller, venue=venue, full_name="Nguyễn Thị Hoa",
                   id_number=HOA_ID, birth_date=date(1990, 5, 17), street="Tổ 3, Thanh Nhật")

    methods = sorted(about(personas.citizen).filter(action="checkin.staff")
                     .values_list("detail__method", flat=True))
    assert methods == ["cccd_qr", "manual"]


def test_an_offline_batch_is_audited_scan_by_scan(personas: Any, client: Client) -> None:
    venue = door(personas)
    client.force_login(personas.controller)
    token = personal_qr_token(personas.citizen.person)
    items = [{"id": f"6b1f3c2a-0000-4000-8000-00000000000{n}", "kind": "staff_scan",
              "venue": venue.code, "payload": token,
              "scanned_at": timezone.now().isoformat()} for n in range(3)]

    client.post("/api/v1/checkins/batch", {"items": items}, content_type="application/json")

    assert about(personas.citizen).filter(action="checkin.staff").count() == 3


def test_a_door_lookup_that_finds_her_is_shown_to_her(personas: Any, client: Client) -> None:
    venue = door(personas)

    people_lookup(controller=personas.controller, venue=venue, query="0912000007")

    assert about(personas.citizen).filter(actor=personas.controller).exists()
    assert "H. T. Mai" in her_page(client, personas.citizen)


def test_an_official_s_search_that_finds_her_is_shown_to_her(
    personas: Any, client: Client,
) -> None:
    ApiClient(personas.district_officer).get("/people", q="Nguyen Thi Hoa",
                                             purpose="Rà soát danh sách F1")

    assert about(personas.citizen).filter(actor=personas.district_officer).exists()
    page = her_page(client, personas.citizen)
    assert "Nông Thị Lan" in page and "Rà soát danh sách F1" in page


def test_reading_a_venue_s_staff_list_is_audited_under_each_member(personas: Any) -> None:
    venue = door(personas)
    before = about(personas.controller).count()  # her joining is audited already

    staff = ApiClient(personas.venue_owner).get(f"/venues/{venue.code}/staff").json()

    assert "Hà Thị Mai" in {member["name"] for member in staff}
    [read] = about(personas.controller).order_by("id")[before:]
    assert (read.actor_id, read.action, read.target) == (
        personas.venue_owner.pk, "person.read", f"venue:{venue.code}")


# --- What the door and a venue no longer give away ---------------------------------------


def test_the_door_answers_alike_for_an_unknown_code_and_someone_else_s_venue(
    personas: Any,
) -> None:
    venue = door(personas)
    stranger = ApiClient(personas.citizen)

    def answer(code: str) -> tuple[int, Any]:
        response = stranger.post("/checkins/staff-scan", {
            "venue": code, "payload": personal_qr_token(personas.other_citizen.person)})
        return response.status_code, response.json()

    assert answer(venue.code) == answer("XXXXXXXX")
    lookup = stranger.get("/checkins/people-lookup", venue=venue.code, q="0912000008")
    assert (lookup.status_code, lookup.json()) == answer("XXXXXXXX")


def test_controllers_and_health_workers_see_the_owner_s_phone_masked(personas: Any) -> None:
    venue = door(personas)
    owner_phone = personas.venue_owner.phone

    for viewer in (personas.controller, personas.health_worker):
        detail = ApiClient(viewer).get(f"/venues/{venue.code}").json()
        assert owner_phone not in str(detail), viewer
        assert "0912***005" in str(detail)
    for manager in (personas.venue_owner, personas.commune_officer):
        assert ApiClient(manager).get(f"/venues/{venue.code}").json()[
            "contact_phone_full"] == owner_phone


def test_officials_do_not_print_a_live_card_for_someone_with_an_account(
    personas: Any, client: Client,
) -> None:
    client.force_login(personas.commune_officer)

    response = client.post(f"/checkins/cards/{personas.citizen.person_id}/",
                           {"purpose": "In thẻ cho bà Hoa"})

    assert response.status_code == 404
    assert not about(personas.citizen).filter(action="export").exists()
    # Someone without an account still gets one, audited.
    elder = person_create(data=PersonInput(full_name="Lục Thị Nhất",
                                           commune=personas.units.thanh_nhat))
    printed = client.post(f"/checkins/cards/{elder.pk}/", {"purpose": "Người cao tuổi"})
    assert printed["Content-Type"] == "application/pdf"
