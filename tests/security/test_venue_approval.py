"""A newly registered venue and the visits of others (issue 12, item 2).

Anyone could register a venue, be its owner (so its staff) at once, and
check anyone in there. Now its visitors' own scans of its poster work at
once, but its staff record other people's visits only once an officer over
its commune approves it or VENUE_STAFF_CHECKIN_WAIT_HOURS have passed
(docs/decisions/0003); moving it to another commune starts that again. The
rule is one function of venues, cheap enough for every scan."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.checkins import services as checkin_services
from truyvet.checkins.models import CheckIn
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.services import checkin_citizen_scan, checkin_manual, checkin_staff_scan
from truyvet.core.errors import ServiceError
from truyvet.venues.models import Venue, VenueType
from truyvet.venues.qr import venue_qr_payload, venue_qr_resolve
from truyvet.venues.services import venue_register, venue_update

from .door_world import door

pytestmark = pytest.mark.django_db


def self_registered(personas: Any) -> Venue:
    """The other citizen, Lương Văn Đức, registers a "shop" himself."""
    return venue_register(
        actor=personas.other_citizen, name="Tạp hoá Đức", venue_type=VenueType.SHOP,
        commune=personas.units.quang_hoa_commune, street="Phố Hòa Thuận",
        contact_phone=personas.other_citizen.phone,
    )


def door_scan_of_hoa(personas: Any, venue: Venue) -> Any:
    return checkin_staff_scan(controller=personas.other_citizen, venue=venue,
                              payload=personal_qr_token(personas.citizen.person))


def refusal(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def test_a_venue_registered_a_minute_ago_cannot_check_anyone_in(personas: Any) -> None:
    shop = self_registered(personas)

    assert refusal(lambda: door_scan_of_hoa(personas, shop)).code == "venue_awaiting_approval"
    error = refusal(lambda: checkin_manual(controller=personas.other_citizen, venue=shop,
                                           full_name="Nguyễn Thị Hoa", phone="0912000007"))
    assert error.code == "venue_awaiting_approval"
    assert not CheckIn.objects.filter(venue=shop).exists()


def test_its_visitors_scan_its_poster_themselves_at_once(personas: Any) -> None:
    shop = self_registered(personas)

    result = checkin_citizen_scan(user=personas.citizen, venue_payload=venue_qr_payload(shop))

    assert result.checkin.person_id == personas.citizen.person_id


def test_an_officer_s_approval_lets_its_staff_check_people_in(personas: Any) -> None:
    from truyvet.venues.services import venue_approve

    shop = self_registered(personas)
    venue_approve(actor=personas.neighbour_officer, venue=shop)

    assert door_scan_of_hoa(personas, shop).result.outcome == "created"


def test_only_an_officer_over_its_commune_approves_it(personas: Any) -> None:
    from truyvet.venues.services import venue_approve

    shop = self_registered(personas)  # in Quảng Hòa
    for outsider in (personas.district_officer, personas.other_citizen, personas.health_worker):
        refusal(lambda outsider=outsider: venue_approve(actor=outsider, venue=shop))
    assert refusal(lambda: door_scan_of_hoa(personas, shop)).code == "venue_awaiting_approval"


def test_after_the_waiting_time_its_staff_check_people_in(
    personas: Any, settings: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = self_registered(personas)
    later = timezone.now() + timedelta(hours=settings.VENUE_STAFF_CHECKIN_WAIT_HOURS, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert door_scan_of_hoa(personas, shop).result.outcome == "created"


def test_moving_an_approved_venue_to_another_commune_needs_approval_again(
    personas: Any,
) -> None:
    venue = door(personas)  # approved a month ago in Thanh Nhật, owned by the venue owner
    venue_update(actor=personas.venue_owner, venue=venue, commune=personas.units.an_lac)

    error = refusal(lambda: checkin_staff_scan(
        controller=personas.controller, venue=Venue.objects.get(pk=venue.pk),
        payload=personal_qr_token(personas.citizen.person)))

    assert error.code == "venue_awaiting_approval"


def test_with_approval_required_a_moved_venue_waits_as_pending(
    personas: Any, settings: Any,
) -> None:
    settings.VENUE_REQUIRE_APPROVAL = True
    venue = door(personas)
    venue_update(actor=personas.venue_owner, venue=venue, commune=personas.units.an_lac)

    assert Venue.objects.get(pk=venue.pk).status == "pending"


def test_whether_a_venue_takes_check_ins_is_one_rule_of_venues_and_costs_no_query(
    personas: Any, django_assert_num_queries: Any,
) -> None:
    from truyvet.venues.readiness import venue_refusal

    shop = self_registered(personas)
    assert "require_active" not in inspect.signature(venue_qr_resolve).parameters
    assert not hasattr(checkin_services, "_venue_ready")
    with django_assert_num_queries(0):
        assert venue_refusal(shop) is None
        assert venue_refusal(shop, by_staff=True) is not None


def test_officers_see_which_venues_wait_and_approve_them_from_their_list(
    personas: Any, client: Client,
) -> None:
    shop = self_registered(personas)
    client.force_login(personas.other_citizen)
    assert "awaiting-approval" in client.get(f"/checkins/control/{shop.code}/").content.decode()

    client.force_login(personas.neighbour_officer)
    listed = client.get("/venues/manage/").content.decode()
    assert "Chờ duyệt để khai báo hộ" in listed and f"/venues/{shop.code}/approve/" in listed
    client.post(f"/venues/{shop.code}/approve/", {"next": "/venues/manage/"})

    shop.refresh_from_db()
    assert door_scan_of_hoa(personas, shop).result.outcome == "created"
