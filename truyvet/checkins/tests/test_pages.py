"""The pages: the check-in block on the venue page, the confirmation with
"Tôi rời đi", "Nơi đã đến", the controller's door page and card printing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.accounts.services import PersonInput, person_create
from truyvet.checkins.models import CheckIn, DepartureKind
from truyvet.checkins.services import checkin_record
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.venues.qr import venue_qr_token

CCCD = "004301234567||Hoàng Thị Lan|09092001|Nữ|Xã An Lạc, Hạ Lang, Cao Bằng|01012022"


@pytest.mark.django_db
class TestVenuePage:
    def test_a_logged_in_citizen_checks_in_with_one_tap_then_leaves(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        token = venue_qr_token(restaurant)
        client.force_login(personas.citizen)
        page = client.get(f"/v/{token}").content.decode()
        assert "Khai báo vào địa điểm" in page and 'name="full_name"' not in page
        response = client.post("/checkins/scan/", {"venue": token})
        visit = CheckIn.objects.get(person=personas.citizen.person)
        assert response["Location"] == f"/checkins/visit/{visit.pk}/"
        confirmation = client.get(response["Location"]).content.decode()
        assert "Quán Phở Hạ Lang" in confirmation and "Tôi rời đi" in confirmation
        client.post(f"/checkins/visit/{visit.pk}/checkout/")
        visit.refresh_from_db()
        assert visit.departure_kind == DepartureKind.CITIZEN

    def test_a_visitor_without_an_account_sees_the_guest_form_and_a_login_link(
        self, client: Client, restaurant: Any
    ) -> None:
        page = client.get(f"/v/{venue_qr_token(restaurant)}").content.decode()
        for field in ('name="full_name"', 'name="phone"', 'name="id_number"'):
            assert field in page
        assert "/accounts/login/?next=" in page

    def test_a_guest_checks_in_sees_the_confirmation_and_can_leave(
        self, client: Client, restaurant: Any
    ) -> None:
        response = client.post("/checkins/guest/", {
            "venue": venue_qr_token(restaurant), "full_name": "Phạm Văn Khách",
            "phone": "0977123456", "id_number": "",
        })
        visit = CheckIn.objects.get()
        assert response["Location"] == f"/checkins/visit/{visit.pk}/"
        assert "Tôi rời đi" in client.get(response["Location"]).content.decode()
        client.post(f"/checkins/visit/{visit.pk}/checkout/")
        visit.refresh_from_db()
        assert visit.departure_kind == DepartureKind.CITIZEN

    def test_another_browser_cannot_see_or_end_a_guest_visit(
        self, client: Client, restaurant: Any
    ) -> None:
        client.post("/checkins/guest/", {
            "venue": venue_qr_token(restaurant), "full_name": "Phạm Văn Khách",
            "phone": "0977123456",
        })
        visit = CheckIn.objects.get()
        stranger = Client()
        assert stranger.get(f"/checkins/visit/{visit.pk}/").status_code == 404
        assert stranger.post(f"/checkins/visit/{visit.pk}/checkout/").status_code == 404

    def test_a_guest_form_with_errors_is_shown_again_with_the_messages(
        self, client: Client, restaurant: Any
    ) -> None:
        response = client.post("/checkins/guest/", {
            "venue": venue_qr_token(restaurant), "full_name": "Phạm Văn Khách", "phone": "123",
        })
        assert response.status_code == 200
        assert "Số điện thoại" in response.content.decode()
        assert not CheckIn.objects.exists()

    def test_a_forged_token_posted_to_the_check_in_is_refused(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        token = venue_qr_token(restaurant)
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        client.force_login(personas.citizen)
        client.post("/checkins/scan/", {"venue": forged})
        assert not CheckIn.objects.exists()


@pytest.mark.django_db
class TestHistory:
    def test_history_shows_only_my_visits_with_the_commune(
        self, client: Client, personas: Any, restaurant: Any, market: Any
    ) -> None:
        checkin_record(venue=restaurant, person=personas.citizen.person,
                       arrived_at=timezone.now() - timedelta(hours=1), method="citizen_scan")
        checkin_record(venue=market, person=personas.other_citizen.person,
                       arrived_at=timezone.now(), method="citizen_scan")
        client.force_login(personas.citizen)
        page = client.get("/checkins/history/").content.decode()
        assert "Quán Phở Hạ Lang" in page and "Thị trấn Thanh Nhật" in page
        assert "Chợ Thanh Nhật" not in page

    def test_history_shows_which_officials_viewed_my_data(
        self, client: Client, personas: Any
    ) -> None:
        # Officials no longer print the card of someone with an account (issue
        # 12), so the officer reads her record instead.
        from truyvet.accounts.selectors import person_detail_for

        person_detail_for(viewer=personas.commune_officer, person_id=personas.citizen.person_id,
                          purpose="Xác minh thông tin bà Hoa")
        client.force_login(personas.citizen)
        page = client.get("/checkins/history/").content.decode()
        assert "Lục Văn Minh" in page and "Xác minh thông tin bà Hoa" in page


@pytest.mark.django_db
class TestPersonalCards:
    def test_an_official_prints_a_card_for_someone_in_scope_and_it_is_audited(
        self, client: Client, personas: Any
    ) -> None:
        # Someone without an account (issue 12: officials no longer print the
        # card of someone who has one; they print their own).
        person = person_create(data=PersonInput(full_name="Bà Lục Thị Nhất",
                                                commune=personas.units.an_lac))
        client.force_login(personas.district_officer)
        assert client.get(f"/checkins/cards/{person.pk}/").status_code == 200
        missing_purpose = client.post(f"/checkins/cards/{person.pk}/", {"purpose": ""})
        assert missing_purpose["Content-Type"].startswith("text/html")
        response = client.post(f"/checkins/cards/{person.pk}/", {"purpose": "Người già"})
        assert response.content.startswith(b"%PDF")
        event = AuditEvent.objects.get(action=AuditAction.EXPORT, subject_person=person)
        assert event.actor_id == personas.district_officer.pk

    def test_an_official_of_another_district_cannot_print_it(
        self, client: Client, personas: Any
    ) -> None:
        client.force_login(personas.neighbour_officer)
        assert client.get(f"/checkins/cards/{personas.citizen.person_id}/").status_code == 404
        response = client.post(f"/checkins/cards/{personas.citizen.person_id}/",
                               {"purpose": "Thử"})
        assert response.status_code == 404

    def test_citizens_cannot_print_other_peoples_cards(
        self, client: Client, personas: Any
    ) -> None:
        client.force_login(personas.other_citizen)
        assert client.get(f"/checkins/cards/{personas.citizen.person_id}/").status_code == 404


@pytest.mark.django_db
class TestControllerPage:
    def test_a_controller_with_one_venue_goes_straight_to_it_and_it_is_remembered(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        response = client.get("/checkins/control/")
        assert response["Location"] == f"/checkins/control/{restaurant.code}/"
        page = client.get(response["Location"]).content.decode()
        assert 'id="wedge"' in page and "autofocus" in page
        assert client.session["checkins.control_venue"] == restaurant.code
        chooser = client.get("/checkins/control/?choose=1").content.decode()
        assert "Quán Phở Hạ Lang" in chooser

    def test_the_owner_chooses_among_their_venues(
        self, client: Client, personas: Any, restaurant: Any, market: Any
    ) -> None:
        client.force_login(personas.venue_owner)
        page = client.get("/checkins/control/").content.decode()
        assert "Quán Phở Hạ Lang" in page and "Chợ Thanh Nhật" in page
        client.get(f"/checkins/control/{market.code}/")
        assert client.get("/checkins/control/")["Location"] == f"/checkins/control/{market.code}/"

    def test_another_venues_page_is_not_found(
        self, client: Client, personas: Any, market: Any
    ) -> None:
        client.force_login(personas.controller)
        assert client.get(f"/checkins/control/{market.code}/").status_code == 404

    def test_without_javascript_the_wedge_form_records_the_scan(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        page = client.post(f"/checkins/control/{restaurant.code}/",
                           {"action": "scan", "payload": CCCD}).content.decode()
        assert "H. T. Lan" in page and "2001" in page
        assert CheckIn.objects.count() == 1

    def test_without_javascript_a_bad_code_shows_why(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        page = client.post(f"/checkins/control/{restaurant.code}/",
                           {"action": "scan", "payload": "nonsense"}).content.decode()
        assert "Không ghi nhận" in page
        assert not CheckIn.objects.exists()

    def test_manual_entry_and_lookup_on_the_page(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        results = client.get(f"/checkins/control/{restaurant.code}/lookup/",
                             {"q": "0912000007"}).content.decode()
        assert "N. T. Hoa" in results and "0912***007" in results
        assert "Nguyễn Thị Hoa" not in results
        page = client.post(f"/checkins/control/{restaurant.code}/", {
            "action": "manual", "full_name": "Nông Văn Bảy", "phone": "0987111222",
        }).content.decode()
        assert "N. V. Bảy" in page
        assert CheckIn.objects.count() == 1

    def test_home_links_to_the_personal_qr_history_and_door_page(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        home = client.get("/").content.decode()
        for href in ("/checkins/qr/", "/checkins/history/", "/checkins/control/"):
            assert href in home
        client.force_login(personas.citizen)
        assert "/checkins/control/" not in client.get("/").content.decode()
