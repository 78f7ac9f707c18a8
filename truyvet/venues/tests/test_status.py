"""Officers approve, suspend, close and reopen venues in their area; every
change is audited; revoking a QR bumps its version and is audited too."""

from __future__ import annotations

import pytest
from django.test import Client

from truyvet.core import sms
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.venues.models import Venue, VenueStatus
from truyvet.venues.services import venue_qr_revoke, venue_status_change
from truyvet.venues.tests.conftest import login


def status_events(venue: Venue) -> list[tuple[str, str]]:
    return [
        (event.detail.get("from"), event.detail.get("to"))
        for event in AuditEvent.objects.filter(
            action=AuditAction.STATUS_CHANGE, target=f"venue:{venue.code}"
        ).order_by("id")
        if "to" in event.detail
    ]


def test_a_commune_officer_suspends_and_reopens_a_venue_in_their_commune(
    personas, venues
) -> None:
    sms.outbox.clear()
    officer = personas.commune_officer

    venue_status_change(actor=officer, venue=venues.shop, status=VenueStatus.SUSPENDED,
                        reason="Không đeo khẩu trang, không quét mã")
    venues.shop.refresh_from_db()
    assert (venues.shop.status, venues.shop.accepts_checkins) == (VenueStatus.SUSPENDED, False)

    venue_status_change(actor=officer, venue=venues.shop, status=VenueStatus.ACTIVE)

    assert status_events(venues.shop) == [("active", "suspended"), ("suspended", "active")]
    event = AuditEvent.objects.filter(action=AuditAction.STATUS_CHANGE).order_by("id").first()
    assert event is not None
    assert (event.actor, event.unit) == (officer, personas.units.thanh_nhat)
    assert event.purpose == "Không đeo khẩu trang, không quét mã"
    assert [m.to for m in sms.outbox] == [venues.shop.contact_phone] * 2
    assert "Không đeo khẩu trang" in sms.outbox[0].body


def test_an_officer_approves_a_pending_venue(personas, settings) -> None:
    settings.VENUE_REQUIRE_APPROVAL = True
    from truyvet.venues.services import venue_register

    venue = venue_register(actor=personas.citizen, name="Nhà nghỉ Hoa Mai",
                           venue_type="lodging", commune=personas.units.thanh_nhat,
                           street="Tổ 4", contact_phone=personas.citizen.phone)

    venue_status_change(actor=personas.district_officer, venue=venue, status=VenueStatus.ACTIVE)

    assert Venue.objects.get(pk=venue.pk).status == VenueStatus.ACTIVE
    assert status_events(venue) == [("pending", "active")]


@pytest.mark.parametrize("actor", ["commune_officer", "neighbour_officer", "venue_owner",
                                   "controller", "health_worker", "citizen"])
def test_only_officers_over_the_commune_change_a_status(personas, venues, actor) -> None:
    """The school is in Xã An Lạc: outside the Thanh Nhật officer's commune."""
    with pytest.raises(NotAllowed):
        venue_status_change(actor=getattr(personas, actor), venue=venues.school,
                            status=VenueStatus.SUSPENDED, reason="Thử")
    assert Venue.objects.get(pk=venues.school.pk).status == VenueStatus.ACTIVE
    assert status_events(venues.school) == []


@pytest.mark.parametrize(
    ("status", "reason", "field", "code"),
    [
        (VenueStatus.SUSPENDED, "", "reason", "required"),
        (VenueStatus.CLOSED, " a ", "reason", "required"),
        (VenueStatus.ACTIVE, "", "status", "unchanged"),
        (VenueStatus.PENDING, "", "status", "not_allowed_move"),
        ("burnt", "", "status", "invalid"),
    ],
)
def test_a_bad_status_change_is_refused_and_not_audited(
    personas, venues, status, reason, field, code
) -> None:
    with pytest.raises(ServiceError) as refused:
        venue_status_change(actor=personas.district_officer, venue=venues.shop, status=status,
                            reason=reason)
    assert [(e.field, e.code) for e in refused.value.errors] == [(field, code)]
    assert status_events(venues.shop) == []


def test_revoking_the_qr_bumps_its_version_and_is_audited(personas, venues) -> None:
    venue_qr_revoke(actor=personas.venue_owner, venue=venues.shop)

    assert Venue.objects.get(pk=venues.shop.pk).qr_version == 2
    event = AuditEvent.objects.get(action=AuditAction.STATUS_CHANGE,
                                   target=f"venue:{venues.shop.code}")
    assert event.detail == {"event": "qr_revoke", "qr_version": 2}

    with pytest.raises(NotAllowed):
        venue_qr_revoke(actor=personas.controller, venue=venues.shop)
    with pytest.raises(NotAllowed):
        venue_qr_revoke(actor=personas.neighbour_officer, venue=venues.shop)
    assert Venue.objects.get(pk=venues.shop.pk).qr_version == 2


def test_the_api_changes_a_status_in_scope_and_hides_venues_out_of_it(
    api, personas, venues
) -> None:
    officer = api(personas.commune_officer)

    done = officer.post(f"/{venues.shop.code}/status",
                        {"status": "closed", "reason": "Ngừng kinh doanh"})
    elsewhere = officer.post(f"/{venues.school.code}/status",
                             {"status": "closed", "reason": "Ngừng kinh doanh"})
    by_owner = api(personas.venue_owner).post(f"/{venues.shop.code}/status",
                                              {"status": "active"})

    assert done.status_code == 200, done.content
    assert done.json()["status"] == "closed"
    assert elsewhere.status_code == 404
    assert by_owner.status_code == 403
    assert Venue.objects.get(pk=venues.school.pk).status == VenueStatus.ACTIVE


def test_the_api_revokes_a_qr(api, personas, venues) -> None:
    response = api(personas.venue_owner).post(f"/{venues.shop.code}/revoke-qr")

    assert response.status_code == 200
    assert response.json()["qr_version"] == 2
    assert api(personas.controller).post(f"/{venues.shop.code}/revoke-qr").status_code == 403


def test_the_officer_list_changes_a_status_and_comes_back(
    client: Client, personas, venues
) -> None:
    login(client, personas.district_officer)

    response = client.post(f"/venues/{venues.school.code}/status/", {
        "status": "suspended", "reason": "Chưa bố trí người kiểm soát",
        "next": "/venues/manage/?status=active",
    })

    assert response.status_code == 302
    assert response["Location"] == "/venues/manage/?status=active"
    assert Venue.objects.get(pk=venues.school.pk).status == VenueStatus.SUSPENDED


def test_the_page_refuses_a_status_change_without_a_reason(
    client: Client, personas, venues
) -> None:
    login(client, personas.district_officer)

    page = client.post(f"/venues/{venues.school.code}/status/", {"status": "suspended"},
                       follow=True)

    assert "Hãy ghi lý do tạm dừng hoặc đóng địa điểm." in page.content.decode()
    assert Venue.objects.get(pk=venues.school.pk).status == VenueStatus.ACTIVE


def test_a_venue_owner_cannot_change_the_status_on_the_page(
    client: Client, personas, venues
) -> None:
    login(client, personas.venue_owner)
    response = client.post(f"/venues/{venues.shop.code}/status/",
                           {"status": "closed", "reason": "Tự đóng"})
    assert response.status_code == 403
