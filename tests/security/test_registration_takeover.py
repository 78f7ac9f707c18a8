"""Taking over a person's record through registration (issue 12, item 1).

The attack: with someone's ID number and name, the answers of registration
step 1 and of POST /auth/register (``taken`` / ``duplicate`` /
``otp_expired``) told apart "has an account", "on record under another
name or birth date" and "matches"; 59 requests found a 15-year-old's birth
date. An OTP to the attacker's own phone with that ID, name and birth date
then registered an account on her record: the attacker's phone replaced
hers, and her visits were theirs to read.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.accounts.models import (
    ClaimStatus,
    IdentityClaim,
    Person,
    PersonPhoneHistory,
    Role,
    User,
)
from truyvet.accounts.phones import normalize_phone
from truyvet.accounts.services import (
    PersonInput,
    account_create,
    identity_claim_decide,
    otp_request,
    person_create,
    role_grant,
)
from truyvet.core import sms
from truyvet.core.errors import NotAllowed
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.testing import PASSWORD, ApiClient, last_otp_sent_to

VICTIM_ID = "004310123456"  # a girl born in 2010 in Cao Bằng
VICTIM_NAME = "Nông Thị Hằng"
VICTIM_BIRTH = date(2010, 4, 12)
VICTIM_PHONE = "+84977000111"
ATTACKER_PHONE = "+84988000222"


def victim_record(personas: Any, *, phone: str = "", visits: int = 0) -> Person:
    """Her record, made by an official (or a door scan) before she ever
    registered, with her visits on it."""
    from truyvet.checkins.services import checkin_record
    from truyvet.venues.services import venue_register

    record = person_create(
        actor=personas.district_officer,
        data=PersonInput(full_name=VICTIM_NAME, birth_date=VICTIM_BIRTH, sex="female",
                         id_number=VICTIM_ID, phone=phone, commune=personas.units.an_lac),
    )
    if visits:
        venue = venue_register(
            actor=personas.district_officer, name="Trường THCS An Lạc", venue_type="school",
            commune=personas.units.an_lac, street="Bản Thẳm",
            contact_phone=personas.venue_owner.phone,
        )
        for day in range(visits):
            checkin_record(venue=venue, person=record, method="citizen_scan",
                           arrived_at=timezone.now() - timedelta(days=day, hours=1))
    return record


def registration(phone: str, **person: Any) -> dict[str, Any]:
    return {"phone": phone, "password": PASSWORD, "full_name": VICTIM_NAME,
            "birth_date": VICTIM_BIRTH.isoformat(), "id_number": VICTIM_ID, **person}


def register_with_proven_phone(phone: str, **person: Any) -> Any:
    """The attacker's own phone, proven by the OTP they receive on it."""
    otp_request(phone=phone, purpose="register")
    body = registration(phone, **person) | {"code": last_otp_sent_to(normalize_phone(phone))}
    return ApiClient().post("/auth/register", body)


# The four cases the old answers told apart, for one ID number each.
CASES = {
    "has an account": {"id_number": "004190123456", "full_name": "Nguyễn Thị Hoa",
                       "birth_date": "1990-05-17", "sex": "female"},
    "on record, right birth date": {},
    "on record, wrong birth date": {"birth_date": "2010-04-13"},
    "never seen": {"id_number": "004310999999"},
}


@pytest.mark.django_db
class TestNothingIsRevealedBeforeThePhoneIsProven:
    def test_the_api_answers_every_case_alike(self, personas: Any) -> None:
        victim_record(personas)
        answers = {}
        for index, (case, person) in enumerate(CASES.items()):
            body = registration(f"+8498800{index:04d}", **person) | {"code": "123456"}
            response = ApiClient().post("/auth/register", body)
            answers[case] = (response.status_code, response.json())

        assert len({repr(answer) for answer in answers.values()}) == 1, answers
        status, body = answers["has an account"]
        assert status == 400 and body["errors"][0]["code"] == "otp_expired"

    def test_step_one_of_the_form_answers_every_case_alike(self, personas: Any) -> None:
        victim_record(personas)
        answers = {}
        for index, (case, person) in enumerate(CASES.items()):
            phone = f"09880{index:05d}"
            response = Client().post("/accounts/register/", registration(phone, **person))
            answers[case] = (response.status_code, response.get("Location"))

        assert set(answers.values()) == {(302, "/accounts/register/verify/")}, answers

    def test_a_phone_that_has_an_account_gets_the_same_answer_from_the_otp_endpoint(
        self, personas: Any, settings: Any
    ) -> None:
        account_create(phone="0987000444", password=PASSWORD,
                       person=PersonInput(full_name="Hà Văn Có"))
        settings.OTP_RESEND_SECONDS = 0
        settings.OTP_MAX_PER_HOUR = 2
        for purpose in ("register", "reset"):
            taken = [ApiClient().post("/auth/otp", {"phone": "0987000444", "purpose": purpose})
                     for _ in range(3)]
            free = [ApiClient().post("/auth/otp", {"phone": "0987000333", "purpose": purpose})
                    for _ in range(3)]

            assert [r.status_code for r in taken] == [r.status_code for r in free] == [
                202, 202, 429], purpose
            assert taken[0].json() == free[0].json()
            settings.OTP_MAX_PER_HOUR += 2  # room for two more codes per number

    def test_the_number_that_has_an_account_is_told_instead_of_sent_a_code(
        self, personas: Any
    ) -> None:
        account_create(phone="0987000444", password=PASSWORD,
                       person=PersonInput(full_name="Hà Văn Có"))

        ApiClient().post("/auth/otp", {"phone": "0987000444", "purpose": "register"})

        [notice] = sms.outbox[-1:]
        assert notice.to == "+84987000444" and "đã có tài khoản" in notice.body
        with pytest.raises(AssertionError):
            last_otp_sent_to("+84987000444")


@pytest.mark.django_db
class TestAProvenPhoneWithNameAndBirthDateIsNotEnough:
    def test_the_attacker_gets_an_account_but_not_her_record(self, personas: Any) -> None:
        record = victim_record(personas, visits=3)

        response = register_with_proven_phone(ATTACKER_PHONE)

        assert response.status_code == 201
        attacker = User.objects.get(phone=ATTACKER_PHONE)
        assert attacker.person_id != record.pk
        record.refresh_from_db()
        assert not hasattr(record, "user")
        assert record.phone == ""
        me = ApiClient(attacker).get("/me").json()
        assert me["id_number"] is None
        assert ApiClient(attacker).get("/checkins/mine").json() == []

    def test_wrong_and_right_birth_dates_get_the_same_answer_after_the_otp(
        self, personas: Any
    ) -> None:
        victim_record(personas, phone=VICTIM_PHONE)
        right = register_with_proven_phone("+84988000001")
        wrong = register_with_proven_phone("+84988000002", birth_date="2010-04-13")

        assert right.status_code == wrong.status_code == 201
        assert right.json().keys() == wrong.json().keys()
        mine = [ApiClient(User.objects.get(phone=p)).get("/me/identity-claim").json()
                for p in ("+84988000001", "+84988000002")]
        for claim in mine:
            claim.pop("id"), claim.pop("created_at")
        assert mine[0] == mine[1]
        # Both are told to bring the card, or to enter a code: the same form.
        attempts = [ApiClient(User.objects.get(phone=p)).post(
            "/me/identity-claim/code", {"code": "000000"}).json()
            for p in ("+84988000001", "+84988000002")]
        assert attempts[0] == attempts[1]

    def test_the_code_goes_to_the_phone_on_her_record_and_guessing_it_dies(
        self, personas: Any, settings: Any
    ) -> None:
        record = victim_record(personas, phone=VICTIM_PHONE)
        register_with_proven_phone(ATTACKER_PHONE)
        code = last_otp_sent_to(VICTIM_PHONE)
        attacker = ApiClient(User.objects.get(phone=ATTACKER_PHONE))
        wrong = "000000" if code != "000000" else "111111"

        answers = [attacker.post("/me/identity-claim/code", {"code": wrong})
                   for _ in range(settings.OTP_MAX_ATTEMPTS)]
        late = attacker.post("/me/identity-claim/code", {"code": code})

        assert [a.status_code for a in answers] == [400] * settings.OTP_MAX_ATTEMPTS
        assert late.status_code == 400
        assert late.json()["errors"][0]["code"] == "otp_locked"
        record.refresh_from_db()
        assert not hasattr(record, "user") and record.phone == VICTIM_PHONE

    def test_with_her_code_her_new_phone_takes_the_record_and_the_old_one_is_kept(
        self, personas: Any
    ) -> None:
        record = victim_record(personas, phone=VICTIM_PHONE, visits=2)
        new_phone = "+84966000444"
        register_with_proven_phone(new_phone)
        holder = ApiClient(User.objects.get(phone=new_phone))

        confirmed = holder.post("/me/identity-claim/code",
                                {"code": last_otp_sent_to(VICTIM_PHONE)})

        assert confirmed.status_code == 200
        assert confirmed.json()["status"] == ClaimStatus.CONFIRMED
        record.refresh_from_db()
        assert record.user.phone == new_phone and record.phone == new_phone
        assert list(PersonPhoneHistory.objects.filter(person=record).values_list(
            "phone", "replaced_by")) == [(VICTIM_PHONE, new_phone)]
        assert holder.get("/me").json()["id_number"] == VICTIM_ID

    def test_registering_with_the_phone_on_the_record_proves_it_at_once(
        self, personas: Any
    ) -> None:
        record = victim_record(personas, phone=VICTIM_PHONE)

        register_with_proven_phone(VICTIM_PHONE)

        record.refresh_from_db()
        assert record.user.phone == VICTIM_PHONE
        assert not PersonPhoneHistory.objects.filter(person=record).exists()


@pytest.mark.django_db
class TestTheCommuneOfficerChecksTheCard:
    def claim(self, personas: Any, **person: Any) -> IdentityClaim:
        victim_record(personas)
        register_with_proven_phone(ATTACKER_PHONE, **person)
        return IdentityClaim.objects.get(user__phone=ATTACKER_PHONE)

    def test_an_officer_confirms_with_the_number_on_the_card_and_it_is_audited(
        self, personas: Any
    ) -> None:
        claim = self.claim(personas)
        officer = ApiClient(personas.district_officer)
        listed = officer.get("/identity-claims").json()
        assert [row["id"] for row in listed] == [claim.pk]
        assert VICTIM_NAME not in str(listed)  # masked until opened

        wrong_card = officer.post(f"/identity-claims/{claim.pk}/confirm",
                                  {"id_number": "004310123457"})
        done = officer.post(f"/identity-claims/{claim.pk}/confirm", {"id_number": VICTIM_ID})

        assert wrong_card.status_code == 400
        assert wrong_card.json()["errors"][0]["code"] == "id_mismatch"
        assert done.status_code == 200 and done.json()["status"] == "confirmed"
        assert Person.objects.get(id_number=VICTIM_ID).user.phone == ATTACKER_PHONE
        event = AuditEvent.objects.filter(action=AuditAction.IDENTITY_CLAIM).get()
        assert event.actor == personas.district_officer
        assert event.subject_person.id_number == VICTIM_ID
        assert event.unit == personas.units.an_lac

    def test_an_officer_elsewhere_cannot_see_or_confirm_it(self, personas: Any) -> None:
        claim = self.claim(personas)
        outsider = ApiClient(personas.neighbour_officer)

        assert outsider.get("/identity-claims").json() == []
        assert outsider.get(f"/identity-claims/{claim.pk}").status_code == 404
        assert outsider.post(f"/identity-claims/{claim.pk}/confirm",
                             {"id_number": VICTIM_ID}).status_code == 404
        assert not hasattr(Person.objects.get(id_number=VICTIM_ID), "user")

    def test_a_rogue_officer_cannot_confirm_their_own_claim(self, personas: Any) -> None:
        claim = self.claim(personas)
        role_grant(actor=personas.admin, user=claim.user, role=Role.COMMUNE_OFFICER,
                   unit=personas.units.an_lac)

        with pytest.raises(NotAllowed):
            identity_claim_decide(actor=claim.user, claim=claim, confirm=True,
                                  id_number_seen=VICTIM_ID)
        assert ApiClient(claim.user).get("/identity-claims").json() == []

    def test_reading_the_record_to_compare_is_audited(self, personas: Any) -> None:
        claim = self.claim(personas)

        ApiClient(personas.district_officer).get(f"/identity-claims/{claim.pk}")

        read = AuditEvent.objects.get(action=AuditAction.PERSON_READ)
        assert read.subject_person.id_number == VICTIM_ID
        assert read.target == f"claim:{claim.pk}"


@pytest.mark.django_db
class TestRegistrationIsRateLimited:
    def test_one_id_number_can_be_tried_only_so_often_whatever_is_on_record(
        self, personas: Any, settings: Any
    ) -> None:
        settings.REGISTER_PER_ID_PER_DAY = 3
        victim_record(personas)
        for id_number in (VICTIM_ID, "004310999999"):
            answers = [
                ApiClient().post("/auth/register", registration(
                    f"+849880{index:05d}", id_number=id_number,
                    birth_date=str(date(2010, 1, 1) + timedelta(days=index))) | {"code": "1" * 6},
                ).status_code
                for index in range(5)
            ]
            assert answers == [400, 400, 400, 429, 429], id_number

    def test_one_address_can_try_only_so_many_registrations(
        self, personas: Any, settings: Any
    ) -> None:
        settings.REGISTER_PER_IP_PER_HOUR = 4
        client = Client()
        answers = [
            client.post("/accounts/register/", registration(
                f"09880{index:05d}", id_number=f"0043109{index:05d}")).status_code
            for index in range(6)
        ]
        assert answers == [302, 302, 302, 302, 429, 429]
