"""The offline queue: each item applied on its own, retries harmless, and
each rejection with its own reason."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.venues.qr import venue_qr_payload
from truyvet.venues.services import venue_qr_revoke

from .conftest import post_json

CCCD = "004301234567||Hoàng Thị Lan|09092001|Nữ|Xã An Lạc, Hạ Lang, Cao Bằng|01012022"
URL = "/api/v1/checkins/batch"


def item(kind: str, venue: str, minutes_ago: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "kind": kind, "venue": venue,
        "scanned_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(), **fields,
    }


@pytest.mark.django_db
class TestBatch:
    def test_a_batch_posted_twice_gives_its_rows_once(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        items = [
            item("staff_scan", restaurant.code, 90, payload=CCCD),
            item("staff_scan", restaurant.code, 80,
                 payload=personal_qr_token(personas.citizen.person)),
            item("manual", restaurant.code, 70, full_name="Nông Văn Bảy", phone="0987111222"),
            # The same card again 5 minutes later: one visit, merged.
            item("staff_scan", restaurant.code, 85, payload=CCCD),
        ]
        first = post_json(client, URL, {"items": items}).json()
        rows = set(CheckIn.objects.values_list("pk", flat=True))
        second = post_json(client, URL, {"items": items}).json()
        assert len(rows) == 3
        assert set(CheckIn.objects.values_list("pk", flat=True)) == rows
        assert [r["outcome"] for r in first["results"]] == [
            "created", "created", "created", "merged"
        ]
        assert [(r["id"], r["ok"], r["outcome"], r["checkin_id"]) for r in first["results"]] == [
            (r["id"], r["ok"], r["outcome"], r["checkin_id"]) for r in second["results"]
        ]
        assert not any(r["duplicate"] for r in first["results"])
        assert all(r["duplicate"] for r in second["results"])
        assert first["accepted"] == second["accepted"] == 4

    def test_each_rejection_has_its_own_reason_and_the_rest_is_recorded(
        self, client: Client, personas: Any, restaurant: Any, market: Any
    ) -> None:
        client.force_login(personas.controller)
        poster = venue_qr_payload(restaurant)
        prefix, _slash, token = poster.rpartition("/")
        code, version, signature = token.split(".")
        forged = f"{prefix}/{code}.{version}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
        venue_qr_revoke(actor=personas.venue_owner, venue=restaurant)
        items = [
            item("staff_scan", restaurant.code, 60 * 24 * 22, payload=CCCD),
            item("staff_scan", restaurant.code, -10, payload=CCCD),
            item("staff_scan", poster, 30, payload=CCCD),
            item("staff_scan", forged, 30, payload=CCCD),
            item("staff_scan", market.code, 30, payload=CCCD),
            item("staff_scan", restaurant.code, 30, payload="004301234567||Lan|99999999"),
            item("staff_scan", restaurant.code, 20, payload=CCCD),
        ]
        body = post_json(client, URL, {"items": items}).json()
        codes = [r["code"] for r in body["results"]]
        assert codes == [
            "checkin_too_old", "checkin_in_future", "qr_revoked", "qr_forged",
            "venue_unknown", "cccd_malformed", "",
        ]
        assert all(r["error"] for r in body["results"][:-1])
        assert (body["accepted"], body["rejected"]) == (1, 6)
        assert CheckIn.objects.count() == 1

    def test_a_citizen_uploads_venue_scans_made_offline(
        self, client: Client, personas: Any, restaurant: Any, market: Any
    ) -> None:
        client.force_login(personas.citizen)
        items = [
            item("citizen_scan", venue_qr_payload(restaurant), 120),
            item("citizen_scan", venue_qr_payload(market), 60),
            item("citizen_scan", market.code, 30),  # a typed code proves nothing
        ]
        body = post_json(client, URL, {"items": items}).json()
        assert [r["code"] for r in body["results"]] == ["", "", "qr_malformed"]
        assert CheckIn.objects.filter(person=personas.citizen.person).count() == 2

    def test_a_citizen_cannot_upload_staff_scans(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.citizen)
        body = post_json(client, URL, {"items": [
            item("staff_scan", restaurant.code, 5, payload=CCCD)
        ]}).json()
        # The same answer as an unknown code (issue 12: no existence oracle).
        assert body["results"][0]["code"] == "venue_unknown"

    def test_an_unknown_kind_is_refused_alone(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        body = post_json(client, URL, {"items": [
            item("teleport", restaurant.code, 5), item("staff_scan", restaurant.code, 5,
                                                       payload=CCCD),
        ]}).json()
        assert [r["ok"] for r in body["results"]] == [False, True]
        assert body["results"][0]["code"] == "invalid_kind"

    def test_a_time_without_a_zone_is_refused_alone(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        naive = item("staff_scan", restaurant.code, 5, payload=CCCD)
        naive["scanned_at"] = "2021-10-01T08:30:00"
        body = post_json(client, URL, {"items": [naive]}).json()
        assert body["results"][0]["code"] == "time_without_zone"

    def test_a_batch_needs_a_login(self, client: Client, restaurant: Any) -> None:
        response = post_json(client, URL, {"items": []})
        assert response.status_code == 401
