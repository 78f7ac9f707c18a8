"""Backdating door scans (issue 12, item 2): a scan's time comes from the
device, so a controller could date a visit weeks back and plant it in
anyone's history. A door scan may be as old as the offline queue needs
(CHECKIN_OFFLINE_WINDOW_HOURS) while the venue or the controller is new,
and never older than the venue's approval or the controller's joining."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.venues.models import StaffRole
from truyvet.venues.services import venue_staff_accept, venue_staff_add

from .door_world import door, establish

pytestmark = pytest.mark.django_db


def upload(client: Client, venue: Any, payload: str, *, days_ago: float) -> dict[str, Any]:
    at = timezone.now() - timedelta(days=days_ago)
    body = client.post("/api/v1/checkins/batch", {"items": [{
        "id": "6b1f3c2a-0000-4000-8000-0000000000aa", "kind": "staff_scan",
        "venue": venue.code, "payload": payload, "scanned_at": at.isoformat(),
    }]}, content_type="application/json").json()
    return dict(body["results"][0])


def test_a_new_venue_cannot_date_a_visit_ten_days_back(personas: Any, client: Client) -> None:
    venue = door(personas, established=False)  # approved and staffed today
    client.force_login(personas.controller)

    result = upload(client, venue, personal_qr_token(personas.citizen.person), days_ago=10)

    assert result["code"] == "checkin_backdated"
    assert not CheckIn.objects.filter(person_id=personas.citizen.person_id).exists()


def test_a_new_controller_cannot_date_a_visit_before_they_joined(
    personas: Any, client: Client,
) -> None:
    venue = door(personas)  # a venue with a month behind it
    invited = venue_staff_add(actor=personas.venue_owner, venue=venue,
                              phone=personas.other_citizen.phone, role=StaffRole.CONTROLLER,
                              notify=False)
    venue_staff_accept(user=personas.other_citizen, staff=invited)
    client.force_login(personas.other_citizen)

    result = upload(client, venue, personal_qr_token(personas.citizen.person), days_ago=0.5)

    assert result["code"] == "checkin_backdated"
    assert not CheckIn.objects.filter(person_id=personas.citizen.person_id).exists()


def test_within_the_offline_window_a_new_door_s_queue_is_taken(
    personas: Any, client: Client, settings: Any,
) -> None:
    venue = door(personas, established=False)
    establish(venue, days=2)  # approved and staffed two days ago
    client.force_login(personas.controller)

    result = upload(client, venue, personal_qr_token(personas.citizen.person), days_ago=1)

    assert settings.CHECKIN_OFFLINE_WINDOW_HOURS >= 24
    assert result["ok"] is True


def test_a_door_with_a_track_record_keeps_the_retention_period(
    personas: Any, client: Client,
) -> None:
    venue = door(personas)  # approved and staffed a month ago
    client.force_login(personas.controller)

    result = upload(client, venue, personal_qr_token(personas.citizen.person), days_ago=10)

    assert result["ok"] is True
