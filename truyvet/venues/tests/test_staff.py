"""Venue staff: added by phone number with the right role, invited by SMS
when they have no account, linked when they register, and gone at once when
removed."""

from __future__ import annotations

import pytest
from django.test import Client

from truyvet.core import sms
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.testing import register_user
from truyvet.venues import permissions
from truyvet.venues.models import StaffRole, VenueStaff
from truyvet.venues.selectors import venues_for_scanning
from truyvet.venues.services import (
    venue_staff_accept,
    venue_staff_add,
    venue_staff_claim,
    venue_staff_remove,
)
from truyvet.venues.tests.conftest import login

NEWCOMER = "+84987333444"


def test_the_owner_adds_an_existing_account_as_controller_and_it_is_audited(
    personas, venues
) -> None:
    staff = venues.shop_controller

    assert (staff.user, staff.role) == (personas.controller, StaffRole.CONTROLLER)
    assert permissions.can_scan_at_venue(personas.controller, venues.shop)
    assert list(venues_for_scanning(personas.controller)) == [venues.shop]
    event = AuditEvent.objects.filter(action=AuditAction.ROLE_GRANT,
                                      target=f"venue:{venues.shop.code}").get()
    assert event.actor == personas.venue_owner
    assert event.subject_person == personas.controller.person
    assert any(m.to == personas.controller.phone and "Người kiểm soát".lower() in m.body
               for m in sms.outbox)


def test_a_number_without_an_account_is_invited_by_sms_and_linked_when_it_registers(
    personas, venues
) -> None:
    sms.outbox.clear()
    invited = venue_staff_add(actor=personas.venue_owner, venue=venues.shop,
                              phone="0987 333 444", role=StaffRole.ADMIN)

    assert (invited.phone, invited.user) == (NEWCOMER, None)
    [message] = sms.outbox
    assert message.to == NEWCOMER
    assert "Cửa hàng tạp hoá Sơn Hà" in message.body
    assert "/accounts/register/" in message.body

    newcomer = register_user(phone="0987333444", full_name="Lâm Thị Hạnh")

    invited.refresh_from_db()
    assert invited.user == newcomer
    # Changed with issue 12: an owner's invitation counts once it is accepted.
    assert not permissions.can_view_visitor_log(newcomer, venues.shop)
    venue_staff_accept(user=newcomer, staff=invited)
    assert permissions.can_view_visitor_log(newcomer, venues.shop)


def test_claiming_links_only_waiting_invitations_for_that_number(personas, venues) -> None:
    venue_staff_add(actor=personas.venue_owner, venue=venues.shop, phone="0987333444",
                    role=StaffRole.CONTROLLER)

    assert venue_staff_claim(user=personas.citizen) == 0
    assert VenueStaff.objects.filter(phone=NEWCOMER, user__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("adder", "role", "allowed"),
    [
        ("venue_owner", StaffRole.ADMIN, True),
        ("venue_owner", StaffRole.CONTROLLER, True),
        ("venue_owner", StaffRole.OWNER, False),
        ("shop_admin", StaffRole.CONTROLLER, True),
        ("shop_admin", StaffRole.ADMIN, False),
        ("controller", StaffRole.CONTROLLER, False),
        ("commune_officer", StaffRole.OWNER, True),
        ("neighbour_officer", StaffRole.CONTROLLER, False),
        ("citizen", StaffRole.CONTROLLER, False),
    ],
)
def test_who_may_add_whom(personas, venues, adder, role, allowed) -> None:
    shop_admin = venue_staff_add(actor=personas.venue_owner, venue=venues.shop,
                                 phone=personas.other_citizen.phone, role=StaffRole.ADMIN)
    venue_staff_accept(user=personas.other_citizen, staff=shop_admin)
    actor = personas.other_citizen if adder == "shop_admin" else getattr(personas, adder)
    before = VenueStaff.objects.count()

    if allowed:
        venue_staff_add(actor=actor, venue=venues.shop, phone="0987333444", role=role)
        assert VenueStaff.objects.count() == before + 1
    else:
        with pytest.raises(NotAllowed):
            venue_staff_add(actor=actor, venue=venues.shop, phone="0987333444", role=role)
        assert VenueStaff.objects.count() == before


def test_bad_numbers_roles_and_repeats_are_refused(personas, venues) -> None:
    with pytest.raises(ServiceError) as bad:
        venue_staff_add(actor=personas.venue_owner, venue=venues.shop, phone="123",
                        role="boss")
    assert {e.field for e in bad.value.errors} == {"phone", "role"}

    with pytest.raises(ServiceError) as again:
        venue_staff_add(actor=personas.venue_owner, venue=venues.shop,
                        phone="0912 000 006", role=StaffRole.ADMIN)
    assert [(e.field, e.code) for e in again.value.errors] == [("phone", "duplicate")]


def test_removing_a_controller_takes_effect_at_once(api, personas, venues) -> None:
    controller_api = api(personas.controller)
    assert controller_api.get(f"/{venues.shop.code}").status_code == 200
    assert permissions.can_scan_at_venue(personas.controller, venues.shop)

    venue_staff_remove(actor=personas.venue_owner, venue=venues.shop,
                       staff=venues.shop_controller)

    # The same user object, as a long-lived request or token would hold it.
    assert not permissions.can_scan_at_venue(personas.controller, venues.shop)
    assert list(venues_for_scanning(personas.controller)) == []
    assert controller_api.get(f"/{venues.shop.code}").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.ROLE_REVOKE).count() == 1


def test_an_admin_cannot_remove_the_owner_and_the_last_owner_stays(personas, venues) -> None:
    admin = venue_staff_add(actor=personas.venue_owner, venue=venues.shop,
                            phone=personas.citizen.phone, role=StaffRole.ADMIN)
    owner = venues.shop.staff.get(role=StaffRole.OWNER)

    with pytest.raises(NotAllowed):
        venue_staff_remove(actor=personas.citizen, venue=venues.shop, staff=owner)
    with pytest.raises(ServiceError) as last:
        venue_staff_remove(actor=personas.venue_owner, venue=venues.shop, staff=owner)
    assert last.value.code == "last_owner"

    # Anyone may leave by themselves.
    venue_staff_remove(actor=personas.citizen, venue=venues.shop, staff=admin)
    assert not VenueStaff.objects.filter(pk=admin.pk).exists()


def test_staff_are_managed_through_the_api(api, personas, venues) -> None:
    owner = api(personas.venue_owner)
    code = venues.shop.code

    added = owner.post(f"/{code}/staff", {"phone": "0987333444", "role": "controller"})
    listed = owner.get(f"/{code}/staff")

    assert added.status_code == 201, added.content
    assert added.json()["has_account"] is False
    assert added.json()["phone"] == "0987***444"
    assert [(s["role"], s["phone"]) for s in listed.json()] == [
        ("owner", "0912***005"), ("controller", "0912***006"), ("controller", "0987***444"),
    ]
    assert api(personas.controller).get(f"/{code}/staff").status_code == 403
    assert api(personas.controller).post(
        f"/{code}/staff", {"phone": "0987333445", "role": "controller"}).status_code == 403

    removed = owner.delete(f"/{code}/staff/{added.json()['id']}")
    assert removed.status_code == 204
    assert owner.delete(f"/{code}/staff/{added.json()['id']}").status_code == 404


def test_staff_are_managed_on_the_venue_page(client: Client, personas, venues) -> None:
    login(client, personas.venue_owner)
    page = client.get(f"/venues/{venues.shop.code}/").content.decode()
    assert "Hà Thị Mai" in page and "0912***006" in page

    client.post(f"/venues/{venues.shop.code}/staff/",
                {"phone": "0987333444", "role": "admin"}, follow=True)
    added = VenueStaff.objects.get(phone=NEWCOMER)
    assert added.role == StaffRole.ADMIN

    client.post(f"/venues/{venues.shop.code}/staff/{added.pk}/remove/")
    assert not VenueStaff.objects.filter(phone=NEWCOMER).exists()


def test_a_controller_cannot_add_staff_on_the_page(client: Client, personas, venues) -> None:
    login(client, personas.controller)
    response = client.post(f"/venues/{venues.shop.code}/staff/",
                           {"phone": "0987333444", "role": "controller"})
    assert response.status_code == 403
    assert not VenueStaff.objects.filter(phone=NEWCOMER).exists()
