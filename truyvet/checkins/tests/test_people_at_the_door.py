"""People checked in at the door: by card (CCCD, national QR, personal QR),
by hand, and as guests who later register."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.accounts.models import Person
from truyvet.checkins.models import CheckIn, CheckInMethod, ScanIdentity, ScanOutcome
from truyvet.checkins.personal_qr import personal_qr_rotate, personal_qr_token
from truyvet.checkins.selectors import checkins_of_me, guest_visits_offered, people_lookup
from truyvet.checkins.services import (
    checkin_guest,
    checkin_manual,
    checkin_record,
    checkin_staff_scan,
    checkins_adopt_guest,
)
from truyvet.core.errors import ServiceError
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.testing import register_user
from truyvet.venues.models import StaffRole, VenueStaff
from truyvet.venues.services import venue_staff_accept, venue_staff_add, venue_staff_remove

CCCD = "004301234567||Hoàng Thị Lan|09092001|Nữ|Xã An Lạc, Hạ Lang, Cao Bằng|01012022"
NATIONAL_MASKED = "******123456|BE VAN TU|1975-**-**|0|162979388586171100|1<<0912***111"


def staff_scan(personas: Any, venue: Any, payload: str, minutes_ago: int = 0) -> Any:
    return checkin_staff_scan(
        controller=personas.controller, venue=venue, payload=payload,
        scanned_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.mark.django_db
class TestCardScans:
    def test_a_cccd_creates_a_person_once(self, personas: Any, restaurant: Any) -> None:
        first = staff_scan(personas, restaurant, CCCD, minutes_ago=120)
        second = staff_scan(personas, restaurant, CCCD)
        people = Person.objects.filter(id_number="004301234567")
        assert people.count() == 1
        person = people.get()
        assert (person.full_name, person.birth_date, person.sex) == (
            "Hoàng Thị Lan", date(2001, 9, 9), "female"
        )
        assert not hasattr(person, "user")  # no account
        assert person.street == ""  # the card's address is not kept
        assert first.result.checkin.person_id == second.result.checkin.person_id == person.pk
        assert first.result.checkin.method == CheckInMethod.CCCD_QR

    def test_the_door_screen_shows_the_short_name_birth_year_and_the_colour(
        self, personas: Any, restaurant: Any
    ) -> None:
        display = staff_scan(personas, restaurant, CCCD).display
        assert display.name == "H. T. Lan"
        assert display.birth_year == 2001
        assert display.card_colour == "red"  # no records: red (issue 16)
        assert display.outcome == ScanOutcome.CREATED

    def test_a_cccd_finds_a_registered_citizen_by_number(
        self, personas: Any, restaurant: Any
    ) -> None:
        card = "004190123456||Nguyễn Thị Hoa|17051990|Nữ|Thanh Nhật|01012021"
        result = staff_scan(personas, restaurant, card)
        assert result.result.checkin.person_id == personas.citizen.person_id

    def test_a_masked_national_qr_is_found_again_by_its_qid(
        self, personas: Any, restaurant: Any
    ) -> None:
        first = staff_scan(personas, restaurant, NATIONAL_MASKED, minutes_ago=200)
        second = staff_scan(personas, restaurant, NATIONAL_MASKED)
        assert first.result.checkin.person_id == second.result.checkin.person_id
        person = Person.objects.get(pk=first.result.checkin.person_id)
        assert person.id_number is None  # a masked number is never stored
        assert person.birth_year == 1975 and person.full_name == "Be Van Tu"
        assert ScanIdentity.objects.filter(value="162979388586171100", person=person).exists()

    def test_a_full_national_qr_finds_the_person_by_number(
        self, personas: Any, restaurant: Any
    ) -> None:
        payload = "004085654321|LUONG VAN DUC|1985-02-03|0|900000000000000009|1"
        result = staff_scan(personas, restaurant, payload)
        assert result.result.checkin.person_id == personas.other_citizen.person_id
        assert result.result.checkin.method == CheckInMethod.NATIONAL_QR

    def test_a_personal_qr_checks_its_person_in(self, personas: Any, restaurant: Any) -> None:
        token = personal_qr_token(personas.citizen.person)
        result = staff_scan(personas, restaurant, token)
        assert result.result.checkin.person_id == personas.citizen.person_id
        assert result.display.name == "N. T. Hoa" and result.display.birth_year == 1990

    def test_a_rotated_personal_qr_is_refused_and_nothing_recorded(
        self, personas: Any, restaurant: Any
    ) -> None:
        old = personal_qr_token(personas.citizen.person)
        personal_qr_rotate(personas.citizen.person)
        with pytest.raises(ServiceError) as exc:
            staff_scan(personas, restaurant, old)
        assert exc.value.code == "personal_qr_revoked"
        assert not CheckIn.objects.exists()

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            ("004301234567||Hoàng Thị Lan|31022001|Nữ|x|01012022", "cccd_malformed"),
            ("00430123456||Hoàng Thị Lan|09092001|Nữ|x|01012022", "cccd_malformed"),
            ("004301234567||Hoàng Thị Lan|09092001", "cccd_malformed"),
            ("******123456|BE VAN TU|1975-13-**|0|162979388586171100", "national_qr_malformed"),
            ("hello", "payload_unknown"),
            ("https://example.vn/v/HK7M3QWX.1.DMFRGGZDFMZTWQ2LK", "payload_is_venue"),
        ],
    )
    def test_a_malformed_payload_records_nothing(
        self, personas: Any, restaurant: Any, payload: str, code: str
    ) -> None:
        people_before = Person.objects.count()
        with pytest.raises(ServiceError) as exc:
            staff_scan(personas, restaurant, payload)
        assert exc.value.code == code
        assert not CheckIn.objects.exists()
        assert Person.objects.count() == people_before

    def test_a_card_scan_refused_for_time_creates_no_person(
        self, personas: Any, restaurant: Any
    ) -> None:
        with pytest.raises(ServiceError):
            checkin_staff_scan(controller=personas.controller, venue=restaurant, payload=CCCD,
                               scanned_at=timezone.now() + timedelta(hours=1))
        assert not Person.objects.filter(id_number="004301234567").exists()


@pytest.mark.django_db
class TestWhoMayScan:
    def test_a_controller_of_venue_a_cannot_scan_at_venue_b(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        with pytest.raises(ServiceError) as exc:
            staff_scan(personas, market, CCCD)
        assert exc.value.code == "venue_unknown"  # as for an unknown code (issue 12)
        assert not CheckIn.objects.exists()

    def test_citizens_and_officers_cannot_scan_at_a_venue(
        self, personas: Any, restaurant: Any
    ) -> None:
        for user in (personas.citizen, personas.district_officer, personas.admin):
            with pytest.raises(ServiceError) as exc:
                checkin_staff_scan(controller=user, venue=restaurant, payload=CCCD)
            assert exc.value.code == "venue_unknown"  # as for an unknown code (issue 12)

    def test_the_owner_scans_at_their_own_venue(self, personas: Any, market: Any) -> None:
        result = checkin_staff_scan(controller=personas.venue_owner, venue=market, payload=CCCD)
        assert result.result.outcome == ScanOutcome.CREATED

    def test_a_removed_controller_is_refused_at_once(
        self, personas: Any, restaurant: Any
    ) -> None:
        staff_scan(personas, restaurant, CCCD, minutes_ago=100)
        membership = VenueStaff.objects.get(venue=restaurant, user=personas.controller)
        venue_staff_remove(actor=personas.venue_owner, venue=restaurant, staff=membership)
        with pytest.raises(ServiceError) as exc:
            staff_scan(personas, restaurant, CCCD)
        assert exc.value.code == "venue_unknown"  # as for an unknown code (issue 12)
        assert CheckIn.objects.count() == 1


@pytest.mark.django_db
class TestManualEntry:
    def test_a_visitor_without_a_code_is_entered_by_hand(
        self, personas: Any, restaurant: Any
    ) -> None:
        result = checkin_manual(controller=personas.controller, venue=restaurant,
                                full_name="Nông Văn Bảy", phone="0987 111 222")
        person = Person.objects.get(pk=result.result.checkin.person_id)
        assert (person.full_name, person.phone) == ("Nông Văn Bảy", "+84987111222")
        assert result.result.checkin.method == CheckInMethod.MANUAL

    def test_an_entry_needs_a_name_and_a_way_to_reach_the_person(
        self, personas: Any, restaurant: Any
    ) -> None:
        with pytest.raises(ServiceError) as exc:
            checkin_manual(controller=personas.controller, venue=restaurant, full_name="")
        fields = {error.field for error in exc.value.errors}
        assert fields == {"full_name", "phone"}

    def test_the_lookup_finds_people_by_whole_phone_number_masked_and_audited(
        self, personas: Any, restaurant: Any
    ) -> None:
        found = people_lookup(controller=personas.controller, venue=restaurant,
                              query="0912 000 007")
        assert [p.pk for p in found] == [personas.citizen.person_id]
        assert people_lookup(controller=personas.controller, venue=restaurant,
                             query="0912 000") == []
        event = AuditEvent.objects.filter(action=AuditAction.PERSON_SEARCH).first()
        assert event is not None and event.actor_id == personas.controller.pk

    def test_a_number_lookup_finds_no_one_from_outside_the_venues_context(
        self, personas: Any, restaurant: Any
    ) -> None:
        # Lương Văn Đức lives in Quảng Hòa and has never been here.
        assert people_lookup(controller=personas.controller, venue=restaurant,
                             query="0912000008") == []
        # He comes by (his own scan: a guest form no longer reaches his account).
        checkin_record(venue=restaurant, person=personas.other_citizen.person,
                       arrived_at=timezone.now(), method=CheckInMethod.CITIZEN_SCAN)
        found = people_lookup(controller=personas.controller, venue=restaurant,
                              query="0912000008")
        assert [p.pk for p in found] == [personas.other_citizen.person_id]

    def test_a_name_lookup_only_finds_this_venues_visitors(
        self, personas: Any, restaurant: Any
    ) -> None:
        assert people_lookup(controller=personas.controller, venue=restaurant,
                             query="hoa") == []
        checkin_record(venue=restaurant, person=personas.citizen.person,
                       arrived_at=timezone.now(), method=CheckInMethod.CITIZEN_SCAN)
        found = people_lookup(controller=personas.controller, venue=restaurant, query="hoa")
        assert [p.pk for p in found] == [personas.citizen.person_id]

    def test_a_looked_up_person_is_checked_in_by_id(
        self, personas: Any, restaurant: Any
    ) -> None:
        # She has an account, so her birth date is asked too (issue 12).
        result = checkin_manual(controller=personas.controller, venue=restaurant, full_name="",
                                phone="0912000007", person_id=personas.citizen.person_id,
                                birth_date=date(1990, 5, 17))
        assert result.result.checkin.person_id == personas.citizen.person_id

    def test_a_guessed_person_id_is_refused(self, personas: Any, restaurant: Any) -> None:
        with pytest.raises(ServiceError) as exc:
            checkin_manual(controller=personas.controller, venue=restaurant, full_name="",
                           person_id=personas.other_citizen.person_id)
        assert exc.value.status == 404
        assert not CheckIn.objects.exists()

    def test_another_venues_controller_cannot_look_people_up(
        self, personas: Any, market: Any
    ) -> None:
        with pytest.raises(ServiceError):
            people_lookup(controller=personas.controller, venue=market, query="0912000007")


@pytest.mark.django_db
class TestGuests:
    def test_a_guest_checks_in_with_name_and_phone_only(self, restaurant: Any) -> None:
        result = checkin_guest(venue=restaurant, full_name="Phạm Văn Khách",
                               phone="0977 123 456")
        person = result.checkin.person
        assert person.phone == "+84977123456" and person.id_number is None
        assert result.checkin.method == CheckInMethod.GUEST_FORM

    def test_a_guest_needs_name_and_phone(self, restaurant: Any) -> None:
        with pytest.raises(ServiceError) as exc:
            checkin_guest(venue=restaurant, full_name=" ", phone="", id_number="123")
        assert {e.field for e in exc.value.errors} == {"full_name", "phone", "id_number"}
        assert not CheckIn.objects.exists()

    def test_the_same_guest_twice_is_one_person(self, restaurant: Any, market: Any) -> None:
        a = checkin_guest(venue=restaurant, full_name="Phạm Văn Khách", phone="0977123456")
        b = checkin_guest(venue=market, full_name="pham van khach", phone="0977 123 456")
        assert a.checkin.person_id == b.checkin.person_id

    def test_family_members_sharing_a_phone_stay_apart(self, restaurant: Any) -> None:
        a = checkin_guest(venue=restaurant, full_name="Phạm Văn Bố", phone="0977123456")
        b = checkin_guest(venue=restaurant, full_name="Phạm Thị Con", phone="0977123456")
        assert a.checkin.person_id != b.checkin.person_id

    def test_an_id_number_on_record_with_another_phone_is_not_trusted(
        self, personas: Any, restaurant: Any
    ) -> None:
        result = checkin_guest(venue=restaurant, full_name="Nguyễn Thị Hoa",
                               phone="0977123456", id_number="004190123456")
        assert result.checkin.person_id != personas.citizen.person_id
        assert result.checkin.person.id_number is None
        assert result.checkin.person.phone == "+84977123456"
        assert not CheckIn.objects.filter(person=personas.citizen.person).exists()

    def test_a_guest_with_the_id_and_phone_of_an_account_stays_out_of_its_history(
        self, personas: Any, restaurant: Any
    ) -> None:
        # Issue 12: it used to join her history; now she is offered it.
        result = checkin_guest(venue=restaurant, full_name="Nguyễn Thị Hoa",
                               phone="0912000007", id_number="004190123456")
        assert result.checkin.person_id != personas.citizen.person_id
        assert list(guest_visits_offered(user=personas.citizen)) == [result.checkin]

    def test_registering_later_adopts_the_guest_visits(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        checkin_guest(venue=restaurant, full_name="Phạm Văn Khách", phone="0977123456")
        checkin_guest(venue=market, full_name="Phạm Văn Khách", phone="0977123456")
        checkin_guest(venue=market, full_name="Phạm Thị Con", phone="0977123456")
        user = register_user(phone="0977 123 456", full_name="Phạm Văn Khách",
                             commune=personas.units.thanh_nhat)
        # Issue 12: offered, not moved, until the holder says they are theirs.
        assert list(checkins_of_me(user=user)) == []
        assert guest_visits_offered(user=user).count() == 2
        assert checkins_adopt_guest(user=user) == 2
        mine = list(checkins_of_me(user=user))
        assert {c.venue_id for c in mine} == {restaurant.pk, market.pk}
        assert len(mine) == 2  # the child's visit with the same phone stays the child's
        # The next guest check-in with the same details is offered again.
        again = checkin_guest(venue=restaurant, full_name="Phạm Văn Khách", phone="0977123456",
                              arrived_at=timezone.now() + timedelta(minutes=2))
        assert again.checkin.person_id != user.person_id
        assert list(guest_visits_offered(user=user)) == [again.checkin]


@pytest.mark.django_db
def test_a_controller_added_by_phone_scans_once_registered(personas: Any, market: Any) -> None:
    invited = venue_staff_add(actor=personas.venue_owner, venue=market, phone="0966 000 111",
                              role=StaffRole.CONTROLLER)
    newcomer = register_user(phone="0966000111", full_name="Lò Văn Gác")
    invited.refresh_from_db()
    venue_staff_accept(user=newcomer, staff=invited)  # an owner's invitation (issue 12)
    result = checkin_staff_scan(controller=newcomer, venue=market, payload=CCCD)
    assert result.result.outcome == ScanOutcome.CREATED


@pytest.mark.django_db
class TestRegisteringAfterACardScan:
    """Someone first recorded from their ID card at a door opens an account
    later. Changed with issue 12: the record, and the visits on it, become
    theirs only once the code sent to the record's phone comes back or a
    commune officer checks their card; the name and birth date printed on
    the card are not enough (tests/security/test_registration_takeover.py
    holds the attacks)."""

    PHONE = "+84987650001"

    def register(self, **person: str) -> Any:
        from truyvet.accounts.services import otp_request
        from truyvet.testing import PASSWORD, ApiClient, last_otp_sent_to

        otp_request(phone=self.PHONE, purpose="register")
        return ApiClient().post("/auth/register", {
            "phone": self.PHONE, "code": last_otp_sent_to(self.PHONE), "password": PASSWORD,
            "id_number": "004301234567", **person,
        })

    def confirm_at_the_office(self, personas: Any) -> None:
        from truyvet.accounts.models import IdentityClaim
        from truyvet.accounts.services import identity_claim_decide

        claim = IdentityClaim.objects.get(user__phone=self.PHONE)
        identity_claim_decide(actor=personas.district_officer, claim=claim, confirm=True,
                              id_number_seen="004301234567")

    def test_the_card_s_record_and_its_visits_become_the_account_s_once_confirmed(
        self, personas: Any, restaurant: Any
    ) -> None:
        scanned = staff_scan(personas, restaurant, CCCD, minutes_ago=60).result.checkin
        created = self.register(full_name="hoàng  thị lan", birth_date="2001-09-09",
                                street="Thôn Bản Thẳm", commune_id=str(personas.units.an_lac.pk))
        assert created.status_code == 201, created.json()
        record = Person.objects.get(id_number="004301234567")
        assert created.json()["person_id"] != record.pk
        assert not hasattr(record, "user")

        self.confirm_at_the_office(personas)

        record.refresh_from_db()
        assert record.user.phone == self.PHONE
        assert (record.full_name, record.phone, record.street, record.commune_id) == (
            "Hoàng Thị Lan", self.PHONE, "Thôn Bản Thẳm", personas.units.an_lac.pk)
        assert [visit.pk for visit in checkins_of_me(user=record.user)] == [scanned.pk]

    @pytest.mark.parametrize("person", [
        {"full_name": "Hoàng Thị Lan", "birth_date": "2001-09-10"},
        {"full_name": "Hoàng Thị Lanh", "birth_date": "2001-09-09"},
        {"full_name": "Hoàng Thị Lan"},
    ], ids=["other birth date", "other name", "no birth date"])
    def test_another_name_or_birth_date_gets_the_same_answer_and_joins_nothing(
        self, personas: Any, restaurant: Any, person: dict[str, str]
    ) -> None:
        staff_scan(personas, restaurant, CCCD)
        answered = self.register(**person)
        assert answered.status_code == 201
        record = Person.objects.get(id_number="004301234567")
        assert not hasattr(record, "user")
        assert record.identity_claims.get().details_match is False

    def test_a_record_that_already_has_an_account_is_not_taken_over(
        self, personas: Any, restaurant: Any
    ) -> None:
        from truyvet.accounts.models import IdentityClaim
        from truyvet.accounts.services import identity_claim_decide

        staff_scan(personas, restaurant, CCCD)
        an_lac = str(personas.units.an_lac.pk)
        first = self.register(full_name="Hoàng Thị Lan", birth_date="2001-09-09", commune_id=an_lac)
        assert first.status_code == 201
        self.confirm_at_the_office(personas)
        self.PHONE = "+84987650002"
        again = self.register(full_name="Hoàng Thị Lan", birth_date="2001-09-09", commune_id=an_lac)
        assert again.status_code == 201
        with pytest.raises(ServiceError) as refused:
            identity_claim_decide(
                actor=personas.district_officer, confirm=True, id_number_seen="004301234567",
                claim=IdentityClaim.objects.get(user__phone=self.PHONE),
            )
        assert refused.value.code == "record_has_account"
        assert Person.objects.get(id_number="004301234567").user.phone == "+84987650001"
