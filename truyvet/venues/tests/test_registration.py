"""Registering venues: self-service with an OTP-verified contact phone, by
officers in their area, and every bad input refused with nothing stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from truyvet.accounts.models import OtpPurpose
from truyvet.accounts.services import otp_request
from truyvet.core import sms
from truyvet.core.errors import ServiceError
from truyvet.testing import last_otp_sent_to
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus, VenueType
from truyvet.venues.services import venue_register
from truyvet.venues.tests.conftest import login

CONTACT = "+84987111222"


def stored() -> tuple[int, int]:
    return Venue.objects.count(), VenueStaff.objects.count()


def register(actor: Any, commune: Any, **overrides: Any) -> Venue:
    fields: dict[str, Any] = {
        "name": "Quán phở Hương Lan", "venue_type": VenueType.RESTAURANT, "commune": commune,
        "street": "Tổ dân phố 1", "contact_phone": actor.phone,
    }
    return venue_register(actor=actor, **(fields | overrides))


def test_a_citizen_registers_a_venue_with_their_own_number_and_owns_it(personas) -> None:
    owner = personas.venue_owner

    venue = register(owner, personas.units.thanh_nhat, latitude="22,705123",
                     longitude=106.6802)

    assert venue.status == VenueStatus.ACTIVE
    assert venue.contact_phone == owner.phone
    assert venue.contact_phone_verified_at is not None
    assert (venue.latitude, venue.longitude) == (Decimal("22.705123"), Decimal("106.680200"))
    assert venue.name_folded == "quan pho huong lan"
    staff = VenueStaff.objects.get(venue=venue)
    assert (staff.user, staff.role, staff.phone) == (owner, StaffRole.OWNER, owner.phone)
    assert len(venue.code) >= 6
    assert venue.created_by == owner


def test_another_contact_number_must_be_proved_with_the_code_sent_to_it(personas) -> None:
    owner = personas.venue_owner
    before = stored()

    with pytest.raises(ServiceError) as missing:
        register(owner, personas.units.thanh_nhat, contact_phone="0987 111 222")
    assert missing.value.code == "otp_required"
    assert [e.field for e in missing.value.errors] == ["otp_code"]
    assert stored() == before

    otp_request(phone="0987111222", purpose=OtpPurpose.VERIFY_PHONE)
    with pytest.raises(ServiceError) as wrong:
        register(owner, personas.units.thanh_nhat, contact_phone="0987111222",
                 otp_code="000000" if last_otp_sent_to(CONTACT) != "000000" else "111111")
    assert [(e.field, e.code) for e in wrong.value.errors] == [("otp_code", "otp_wrong")]
    assert stored() == before

    venue = register(owner, personas.units.thanh_nhat, contact_phone="0987111222",
                     otp_code=last_otp_sent_to(CONTACT))
    assert venue.contact_phone == CONTACT
    assert venue.contact_phone_verified_at is not None
    # The registrant owns it; the contact number is only a contact.
    assert list(venue.staff.values_list("phone", "role")) == [(owner.phone, StaffRole.OWNER)]


def test_an_officer_registers_in_their_area_and_the_contact_phone_is_invited_as_owner(
    personas,
) -> None:
    sms.outbox.clear()
    venue = register(personas.commune_officer, personas.units.thanh_nhat,
                     contact_phone="0987111222", name="UBND thị trấn Thanh Nhật",
                     venue_type=VenueType.GOVERNMENT)

    assert venue.status == VenueStatus.ACTIVE
    assert venue.contact_phone_verified_at is None  # vouched for, not proved
    owner = VenueStaff.objects.get(venue=venue)
    assert (owner.phone, owner.user, owner.role) == (CONTACT, None, StaffRole.OWNER)
    assert [m.to for m in sms.outbox] == [CONTACT]
    assert "/accounts/register/" in sms.outbox[0].body
    assert "UBND thị trấn Thanh Nhật" in sms.outbox[0].body


def test_an_officer_outside_the_commune_registers_like_any_citizen(personas) -> None:
    """A Quảng Hòa officer in Hạ Lang has no say there: they need the OTP for
    someone else's number and become the owner."""
    with pytest.raises(ServiceError) as refused:
        register(personas.neighbour_officer, personas.units.an_lac, contact_phone="0987111222")
    assert refused.value.code == "otp_required"


def test_with_approval_required_a_self_registered_venue_waits(personas, settings) -> None:
    settings.VENUE_REQUIRE_APPROVAL = True

    mine = register(personas.venue_owner, personas.units.thanh_nhat)
    theirs = register(personas.commune_officer, personas.units.thanh_nhat, name="Trạm Y tế",
                      contact_phone="0987111222")

    assert (mine.status, mine.accepts_checkins) == (VenueStatus.PENDING, False)
    assert (theirs.status, theirs.accepts_checkins) == (VenueStatus.ACTIVE, True)


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 201}, "name", "too_long"),
        ({"venue_type": "casino"}, "venue_type", "invalid_type"),
        ({"venue_type": ""}, "venue_type", "required"),
        ({"commune_missing": True}, "commune", "required"),
        ({"street": ""}, "street", "required"),
        ({"contact_phone": "12345"}, "contact_phone", "invalid"),
        ({"contact_phone": "+1 202 555 0100"}, "contact_phone", "invalid"),
        ({"latitude": "abc", "longitude": "106.1"}, "latitude", "not_a_number"),
        ({"latitude": "95", "longitude": "106.1"}, "latitude", "out_of_range"),
        ({"latitude": "22.1", "longitude": "181"}, "longitude", "out_of_range"),
        ({"latitude": "22.1"}, "longitude", "incomplete"),
        ({"latitude": "nan", "longitude": "106"}, "latitude", "not_a_number"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_stored(personas, overrides, field, code) -> None:
    before = stored()
    sms.outbox.clear()

    commune = None if overrides.pop("commune_missing", False) else personas.units.thanh_nhat
    with pytest.raises(ServiceError) as refused:
        register(personas.venue_owner, commune, **overrides)

    assert refused.value.code == "validation_error"
    assert [(e.field, e.code) for e in refused.value.errors] == [(field, code)]
    assert stored() == before
    assert sms.outbox == []


def test_a_district_is_not_a_commune(personas) -> None:
    with pytest.raises(ServiceError) as refused:
        register(personas.venue_owner, personas.units.ha_lang)
    assert [(e.field, e.code) for e in refused.value.errors] == [("commune", "not_a_commune")]


def test_swapped_coordinates_are_pointed_out(personas) -> None:
    with pytest.raises(ServiceError) as refused:
        register(personas.venue_owner, personas.units.thanh_nhat, latitude=106.68,
                 longitude=22.70)
    assert "đảo vĩ độ và kinh độ" in str(refused.value.errors[0].message)


def test_every_problem_is_reported_at_once(personas) -> None:
    with pytest.raises(ServiceError) as refused:
        register(personas.venue_owner, None, name="", venue_type="?", street="",
                 contact_phone="abc")
    assert {e.field for e in refused.value.errors} == {
        "name", "venue_type", "commune", "street", "contact_phone"
    }


def test_a_look_alike_in_the_same_commune_is_flagged_not_refused(personas) -> None:
    first = register(personas.venue_owner, personas.units.thanh_nhat, name="Quán Phở Hương Lan",
                     street="Tổ dân phố  1")
    again = register(personas.citizen, personas.units.thanh_nhat, name="quan pho huong lan",
                     street="to dan pho 1")
    elsewhere = register(personas.citizen, personas.units.an_lac, name="Quán Phở Hương Lan",
                         street="Tổ dân phố 1")

    assert first.possible_duplicate_of is None
    assert again.possible_duplicate_of == first
    assert elsewhere.possible_duplicate_of is None


def test_the_api_registers_a_venue_by_commune_code(api, personas) -> None:
    response = api(personas.venue_owner).post("/", {
        "name": "Nhà nghỉ Bằng Giang", "venue_type": "lodging", "commune_code": "1558",
        "street": "Phố Thanh Nhật", "contact_phone": "0912000005",
        "latitude": 22.7051, "longitude": 106.6802,
    })

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["commune"]["code"] == "01558"
    assert body["my_role"] == "owner"
    assert body["status"] == "active"
    assert body["contact_phone"] == "0912***005"
    assert body["dwell_minutes"] == 720
    assert body["latitude"] == pytest.approx(22.7051)


def test_the_api_says_when_an_otp_is_needed_in_the_users_language(api, personas) -> None:
    payload = {
        "name": "Nhà nghỉ Bằng Giang", "venue_type": "lodging",
        "commune_id": personas.units.thanh_nhat.pk, "street": "Phố Thanh Nhật",
        "contact_phone": "0987111222",
    }
    vietnamese = api(personas.venue_owner).post("/", payload)
    english = api(personas.venue_owner, language="en").post("/", payload)

    assert vietnamese.status_code == english.status_code == 400
    assert vietnamese.json()["code"] == "otp_required"
    assert vietnamese.json()["error"] == "Cần xác thực số điện thoại liên hệ bằng mã OTP."
    assert english.json()["error"] == "The contact phone must be verified with an OTP code."
    assert Venue.objects.count() == 0


def test_the_api_refuses_unknown_fields_and_communes(api, personas) -> None:
    caller = api(personas.venue_owner)
    unknown_field = caller.post("/", {"name": "A", "venue_type": "shop", "street": "B",
                                      "contact_phone": "0912000005", "status": "active"})
    unknown_commune = caller.post("/", {"name": "A", "venue_type": "shop", "street": "B",
                                        "contact_phone": "0912000005", "commune_code": "99999"})

    assert unknown_field.status_code == 422
    assert unknown_commune.status_code == 400
    assert [e["field"] for e in unknown_commune.json()["errors"]] == ["commune_code"]
    assert Venue.objects.count() == 0


def test_anonymous_callers_cannot_register(api, units) -> None:
    assert api().post("/", {}).status_code == 401


def test_the_page_asks_for_the_code_then_registers(client: Client, personas) -> None:
    login(client, personas.venue_owner)
    form = {
        "name": "Quán cơm Bà Tư", "venue_type": "restaurant",
        "commune": personas.units.thanh_nhat.pk, "street": "Tổ 3",
        "contact_phone": "0987 111 222", "latitude": "", "longitude": "",
    }

    first = client.post("/venues/register/", form)

    assert first.status_code == 200
    page = first.content.decode()
    assert 'name="otp_code"' in page
    assert "0987***222" in page
    assert Venue.objects.count() == 0

    done = client.post("/venues/register/", form | {
        "otp_code": last_otp_sent_to(CONTACT), "needs_otp": "1"})

    venue = Venue.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"/venues/{venue.code}/"
    assert venue.contact_phone == CONTACT


def test_the_page_takes_a_commune_typed_without_javascript(client: Client, personas) -> None:
    login(client, personas.venue_owner)

    response = client.post("/venues/register/", {
        "name": "Tiệm sửa xe Hùng", "venue_type": "shop", "commune_q": "an lac",
        "street": "Thôn Nà Thắm", "contact_phone": "0912000005",
    })

    assert response.status_code == 302
    assert Venue.objects.get().commune == personas.units.an_lac


def test_the_page_shows_every_error_on_its_field(client: Client, personas) -> None:
    login(client, personas.venue_owner)

    response = client.post("/venues/register/", {
        "name": "", "venue_type": "", "street": "", "contact_phone": "123",
        "latitude": "95", "longitude": "106",
    })

    page = response.content.decode()
    assert response.status_code == 200
    for message in ("Vui lòng nhập tên địa điểm.", "Vui lòng chọn loại hình địa điểm.",
                    "Hãy chọn xã, phường hoặc thị trấn.", "Vĩ độ phải trong khoảng -90 đến 90."):
        assert message in page
    assert Venue.objects.count() == 0


def test_the_register_page_needs_a_login(client: Client, db) -> None:
    response = client.get("/venues/register/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
