"""Inactive venues with their owners' contacts, and SMS reminders to them
through the outbox, counted per venue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.core.models import AuditAction, AuditEvent, OutboxMessage
from truyvet.core.outbox import outbox_deliver_due
from truyvet.core.sms import outbox as sms_sent
from truyvet.reports.models import VenueReminder
from truyvet.reports.selectors import Scope, inactive_venues_for
from truyvet.reports.services import venue_reminders_send
from truyvet.reports.tests.conftest import Place, visit
from truyvet.venues.models import VenueStatus
from truyvet.venues.services import venue_status_change


@pytest.fixture
def quiet(places: Place) -> Place:
    """The market scanned today; the shop never; the clinic 10 days ago."""
    now = timezone.now()
    visit(places["market"], places.people[0], now - timedelta(hours=1))
    visit(places["clinic"], places.people[1], now - timedelta(days=10))
    return places


def test_the_inactive_list_shows_owners_phones_and_audits_the_view(
    personas: Any, quiet: Place
) -> None:
    page = inactive_venues_for(viewer=personas.district_officer,
                               scope=Scope(unit=personas.units.ha_lang))
    listed = {entry.venue.code: entry for entry in page.venues}
    assert set(listed) == {quiet["shop"].code, quiet["clinic"].code}
    assert listed[quiet["clinic"].code].last_scan_at is not None
    assert listed[quiet["shop"].code].last_scan_at is None
    assert "+84912345002" in [owner.phone for owner in listed[quiet["shop"].code].owners]
    event = AuditEvent.objects.get(action=AuditAction.PERSON_READ,
                                   target=f"reports:inactive:{personas.units.ha_lang.pk}")
    assert event.actor == personas.district_officer and event.detail["shown"] == 2


def test_a_commune_officer_lists_only_their_communes_inactive_venues(
    personas: Any, quiet: Place
) -> None:
    page = inactive_venues_for(viewer=personas.commune_officer,
                               scope=Scope(unit=personas.units.thanh_nhat))
    assert [entry.venue.code for entry in page.venues] == [quiet["shop"].code]
    with pytest.raises(NotAllowed):
        inactive_venues_for(viewer=personas.commune_officer,
                            scope=Scope(unit=personas.units.ha_lang))


def test_a_reminder_goes_by_sms_through_the_outbox_once_a_day(
    personas: Any, quiet: Place
) -> None:
    shop = quiet["shop"]
    outcomes = venue_reminders_send(actor=personas.commune_officer, venue_codes=[shop.code])
    assert [(o.sent, o.reminders) for o in outcomes] == [(True, 1)]
    again = venue_reminders_send(actor=personas.commune_officer, venue_codes=[shop.code])
    assert [(o.sent, o.reason) for o in again] == [(False, "already_today")]

    messages = OutboxMessage.objects.filter(kind="reports.reminder")
    assert [m.phone for m in messages] == ["+84912345002"]
    outbox_deliver_due()
    assert [m.to for m in sms_sent if "chưa có lượt quét" in m.body] == ["+84912345002"]
    assert shop.code in sms_sent[-1].body and "Nhắc lần 1" in sms_sent[-1].body


def test_the_list_counts_reminders_since_the_last_scan_and_flags_the_hanoi_rule(
    settings: Any, personas: Any, quiet: Place
) -> None:
    settings.REPORTS_REMINDERS_BEFORE_SUSPENSION = 3
    shop, clinic = quiet["shop"], quiet["clinic"]
    today = timezone.localdate()
    for days in (3, 2, 1):  # earlier reminders, as the daily click would have made them
        VenueReminder.objects.create(venue=shop, day=today - timedelta(days=days),
                                     sent_at=timezone.now() - timedelta(days=days))
    VenueReminder.objects.create(venue=clinic, day=today - timedelta(days=12),
                                 sent_at=timezone.now() - timedelta(days=12))  # before its scan
    outcomes = venue_reminders_send(actor=personas.district_officer,
                                    venue_codes=[shop.code, clinic.code])
    assert [(o.code, o.reminders) for o in outcomes] == [(shop.code, 4), (clinic.code, 1)]

    page = inactive_venues_for(viewer=personas.district_officer,
                               scope=Scope(unit=personas.units.ha_lang))
    entries = {entry.venue.code: entry for entry in page.venues}
    assert (entries[shop.code].reminders, entries[shop.code].suggest_suspension) == (4, True)
    assert (entries[clinic.code].reminders, entries[clinic.code].suggest_suspension) == (1, False)
    assert entries[shop.code].last_reminded_on == today


def test_venues_with_scans_or_not_active_are_skipped_with_a_reason(
    personas: Any, quiet: Place
) -> None:
    venue_status_change(actor=personas.district_officer, venue=quiet["clinic"],
                        status=VenueStatus.SUSPENDED, reason="Ngừng hoạt động tạm thời")
    outcomes = venue_reminders_send(actor=personas.district_officer,
                                    venue_codes=[quiet["market"].code, quiet["clinic"].code])
    assert [(o.sent, o.reason) for o in outcomes] == [(False, "has_scans"), (False, "not_active")]
    assert not OutboxMessage.objects.filter(kind="reports.reminder").exists()


def test_venues_outside_the_officers_scope_are_not_found_and_nothing_is_sent(
    personas: Any, quiet: Place
) -> None:
    with pytest.raises(NotFound):
        venue_reminders_send(actor=personas.commune_officer,
                             venue_codes=[quiet["shop"].code, quiet["pharmacy"].code])
    with pytest.raises(NotFound):
        venue_reminders_send(actor=personas.district_officer, venue_codes=["KHONGCO"])
    assert not VenueReminder.objects.exists()
    with pytest.raises(ServiceError) as empty:
        venue_reminders_send(actor=personas.district_officer, venue_codes=[" "])
    assert empty.value.errors[0].field == "venue_codes"


def test_the_page_lists_and_reminds(client: Client, personas: Any, quiet: Place) -> None:
    client.force_login(personas.district_officer)
    url = f"/reports/{personas.units.ha_lang.pk}/inactive/"
    body = client.get(url).content.decode()
    assert quiet["shop"].name in body and "+84912345002" in body
    assert quiet["market"].name not in body
    response = client.post(url, {"venue": [quiet["shop"].code]}, follow=True)
    assert "Đã gửi tin nhắn nhắc 1 địa điểm." in response.content.decode()
    assert VenueReminder.objects.filter(venue=quiet["shop"]).count() == 1


def test_the_api_lists_and_reminds(client: Client, personas: Any, quiet: Place) -> None:
    client.force_login(personas.district_officer)
    listed = client.get(f"/api/v1/reports/{personas.units.ha_lang.pk}/inactive").json()
    assert listed["total"] == 2
    shop = next(row for row in listed["venues"] if row["code"] == quiet["shop"].code)
    assert (shop["name"], shop["venue_type"], shop["commune"], shop["street"], shop["status"]) == (
        quiet["shop"].name, quiet["shop"].venue_type, quiet["shop"].commune.name,
        quiet["shop"].street, quiet["shop"].status)
    sent = client.post("/api/v1/reports/reminders", {"venue_codes": [quiet["shop"].code]},
                       content_type="application/json")
    assert sent.status_code == 200 and sent.json()[0]["sent"] is True
    refused = client.post("/api/v1/reports/reminders",
                          {"venue_codes": [quiet["pharmacy"].code]},
                          content_type="application/json")
    assert refused.status_code == 404
