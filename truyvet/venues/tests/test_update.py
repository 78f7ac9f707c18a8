"""Changing a venue's details: by its owner, admins and officers over it; a
new contact phone is proved like at registration."""

from __future__ import annotations

import pytest

from truyvet.accounts.models import OtpPurpose
from truyvet.accounts.services import otp_request
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.testing import last_otp_sent_to
from truyvet.venues.models import Venue
from truyvet.venues.services import venue_update


def test_the_owner_renames_and_locates_the_venue_and_the_look_alike_flag_follows(
    personas, venues
) -> None:
    updated = venue_update(actor=personas.venue_owner, venue=venues.shop,
                           name="Trường Tiểu học An Lạc", street="Thôn Bản Thẳm",
                           commune=personas.units.an_lac, latitude="22.71", longitude="106.69")

    assert (updated.name_folded, updated.commune) == ("truong tieu hoc an lac",
                                                      personas.units.an_lac)
    assert updated.possible_duplicate_of == venues.school
    assert str(updated.latitude) == "22.710000"

    cleared = venue_update(actor=personas.venue_owner, venue=updated, latitude=None,
                           longitude=None, dwell_minutes=45)
    assert (cleared.latitude, cleared.effective_dwell_minutes) == (None, 45)


def test_a_new_contact_phone_needs_its_code_from_the_owner_but_not_from_an_officer(
    personas, venues
) -> None:
    with pytest.raises(ServiceError) as missing:
        venue_update(actor=personas.venue_owner, venue=venues.shop, contact_phone="0987555666")
    assert missing.value.code == "otp_required"
    assert Venue.objects.get(pk=venues.shop.pk).contact_phone == personas.venue_owner.phone

    otp_request(phone="0987555666", purpose=OtpPurpose.VERIFY_PHONE)
    proved = venue_update(actor=personas.venue_owner, venue=venues.shop,
                          contact_phone="0987555666",
                          otp_code=last_otp_sent_to("+84987555666"))
    assert proved.contact_phone == "+84987555666"
    assert proved.contact_phone_verified_at is not None

    vouched = venue_update(actor=personas.commune_officer, venue=proved,
                           contact_phone="0987555777")
    assert (vouched.contact_phone, vouched.contact_phone_verified_at) == ("+84987555777", None)


def test_an_officer_cannot_move_a_venue_out_of_their_area_nor_can_a_controller_edit(
    personas, venues
) -> None:
    with pytest.raises(NotAllowed):
        venue_update(actor=personas.commune_officer, venue=venues.shop,
                     commune=personas.units.an_lac)
    with pytest.raises(NotAllowed):
        venue_update(actor=personas.controller, venue=venues.shop, name="Của tôi")
    assert Venue.objects.get(pk=venues.shop.pk).commune == personas.units.thanh_nhat


@pytest.mark.parametrize(
    ("change", "field"),
    [({"name": ""}, "name"), ({"dwell_minutes": 0}, "dwell_minutes"),
     ({"latitude": "91", "longitude": "106"}, "latitude"), ({"venue_type": "bar"}, "venue_type")],
)
def test_a_bad_change_is_refused_and_nothing_changes(personas, venues, change, field) -> None:
    with pytest.raises(ServiceError) as refused:
        venue_update(actor=personas.venue_owner, venue=venues.shop, **change)
    assert [e.field for e in refused.value.errors] == [field]
    fresh = Venue.objects.get(pk=venues.shop.pk)
    assert (fresh.name, fresh.dwell_minutes, fresh.latitude) == (
        "Cửa hàng tạp hoá Sơn Hà", None, None)


def test_the_edit_page_saves_changes(client, personas, venues) -> None:
    from truyvet.venues.tests.conftest import login

    login(client, personas.venue_owner)
    response = client.post(f"/venues/{venues.shop.code}/edit/", {
        "name": "Cửa hàng Sơn Hà", "venue_type": "shop", "commune": personas.units.thanh_nhat.pk,
        "street": "Tổ dân phố 2", "contact_phone": "0912 000 005", "dwell_minutes": "20",
    })

    assert response.status_code == 302
    fresh = Venue.objects.get(pk=venues.shop.pk)
    assert (fresh.name, fresh.dwell_minutes) == ("Cửa hàng Sơn Hà", 20)
