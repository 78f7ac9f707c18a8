"""The check-in endpoints as a mobile app or the door page calls them."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
import segno
from django.test import Client
from django.utils import timezone

from tests.test_error_shape import assert_error_shape
from truyvet.checkins.models import CheckIn, DepartureKind
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.services import checkin_record
from truyvet.venues.qr import venue_qr_payload

from .conftest import post_json

CCCD = "004301234567||Hoàng Thị Lan|09092001|Nữ|Xã An Lạc, Hạ Lang, Cao Bằng|01012022"


@pytest.mark.django_db
class TestCitizenEndpoints:
    def test_a_citizen_checks_in_by_posting_the_scanned_poster(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.citizen)
        poster = {"venue": venue_qr_payload(restaurant)}
        response = post_json(client, "/api/v1/checkins/scan", poster)
        assert response.status_code == 201
        body = response.json()
        assert body["outcome"] == "created" and body["duplicate"] is False
        assert body["checkin"]["venue"]["code"] == restaurant.code
        assert "Thanh Nhật" in body["checkin"]["venue"]["commune"]
        again = post_json(client, "/api/v1/checkins/scan", poster)
        assert again.status_code == 200 and again.json()["outcome"] == "merged"

    def test_a_forged_poster_is_refused_in_the_error_shape(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.citizen)
        forged = venue_qr_payload(restaurant)[:-1] + "A"
        if forged == venue_qr_payload(restaurant):
            forged = forged[:-1] + "B"
        body = assert_error_shape(post_json(client, "/api/v1/checkins/scan", {"venue": forged}),
                                  400)
        assert body["code"] == "qr_forged"
        assert not CheckIn.objects.exists()

    def test_scanning_needs_a_login(self, client: Client, restaurant: Any) -> None:
        assert_error_shape(
            post_json(client, "/api/v1/checkins/scan", {"venue": venue_qr_payload(restaurant)}),
            401,
        )

    def test_a_guest_checks_in_and_leaves_with_the_returned_token(
        self, client: Client, restaurant: Any
    ) -> None:
        response = post_json(client, "/api/v1/checkins/guest", {
            "venue": venue_qr_payload(restaurant), "full_name": "Phạm Văn Khách",
            "phone": "0977123456",
        })
        assert response.status_code == 201
        body = response.json()
        checkin_id = body["checkin"]["id"]
        wrong = post_json(client, f"/api/v1/checkins/{checkin_id}/checkout",
                          {"guest_token": "nonsense"})
        assert_error_shape(wrong, 404)
        left = post_json(client, f"/api/v1/checkins/{checkin_id}/checkout",
                         {"guest_token": body["checkout_token"]})
        assert left.status_code == 200
        assert left.json()["departure_kind"] == DepartureKind.CITIZEN

    def test_a_guest_form_with_bad_fields_names_each(self, client: Client, restaurant: Any) -> None:
        body = assert_error_shape(post_json(client, "/api/v1/checkins/guest", {
            "venue": venue_qr_payload(restaurant), "full_name": "", "phone": "123",
        }), 400)
        assert {e["field"] for e in body["errors"]} == {"full_name", "phone"}

    def test_mine_lists_only_my_own_visits_of_the_last_21_days(
        self, client: Client, personas: Any, restaurant: Any, market: Any
    ) -> None:
        now = timezone.now()
        for person, venue, ago in [
            (personas.citizen.person, restaurant, timedelta(hours=1)),
            (personas.citizen.person, market, timedelta(days=20)),
            (personas.other_citizen.person, market, timedelta(hours=2)),
        ]:
            checkin_record(venue=venue, person=person, arrived_at=now - ago, method="citizen_scan")
        CheckIn.objects.filter(venue=market, person=personas.citizen.person).update(
            arrived_at=now - timedelta(days=22), ends_at=now - timedelta(days=22)
        )
        client.force_login(personas.citizen)
        body = client.get("/api/v1/checkins/mine").json()
        assert [item["venue"]["code"] for item in body] == [restaurant.code]
        assert body[0]["epidemic_level"] is None

    def test_a_citizen_leaves_through_the_api_and_nobody_else_can(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        visit = checkin_record(venue=restaurant, person=personas.citizen.person,
                               arrived_at=timezone.now(), method="citizen_scan").checkin
        client.force_login(personas.other_citizen)
        assert_error_shape(post_json(client, f"/api/v1/checkins/{visit.pk}/checkout", {}), 404)
        client.force_login(personas.citizen)
        assert post_json(client, f"/api/v1/checkins/{visit.pk}/checkout", {}).status_code == 200


@pytest.mark.django_db
class TestControllerEndpoints:
    def test_a_staff_scan_returns_the_door_display(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        scan_id = str(uuid.uuid4())
        body = {"venue": restaurant.code, "payload": CCCD, "id": scan_id}
        response = post_json(client, "/api/v1/checkins/staff-scan", body)
        assert response.status_code == 201
        data = response.json()
        assert data["display"] == {
            "name": "H. T. Lan", "birth_year": 2001, "card_colour": "red",
            "method": "cccd_qr", "method_label": "Quét mã QR trên CCCD",
            "outcome": "created", "outcome_label": "Đã ghi nhận lượt đến", "lines": [],
        }
        assert data["kind"] == "checkin" and data["checkin_id"] == scan_id
        retry = post_json(client, "/api/v1/checkins/staff-scan", body)
        assert retry.status_code == 200 and retry.json()["duplicate"] is True
        assert CheckIn.objects.count() == 1

    def test_a_malformed_card_is_a_400_naming_the_problem(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        client.force_login(personas.controller)
        body = assert_error_shape(post_json(client, "/api/v1/checkins/staff-scan", {
            "venue": restaurant.code, "payload": CCCD.replace("09092001", "31092001"),
        }), 400)
        assert body["code"] == "cccd_malformed"
        assert [e["field"] for e in body["errors"]] == ["birth_date"]

    def test_a_controller_of_another_venue_gets_the_answer_of_an_unknown_code(
        self, client: Client, personas: Any, market: Any
    ) -> None:
        # Issue 12: a 403 here told anyone which codes are venues.
        client.force_login(personas.controller)
        body = assert_error_shape(post_json(client, "/api/v1/checkins/staff-scan", {
            "venue": market.code, "payload": CCCD}), 404)
        unknown = assert_error_shape(post_json(client, "/api/v1/checkins/staff-scan", {
            "venue": "XXXXXXXX", "payload": CCCD}), 404)
        assert body == unknown
        assert body["code"] == "venue_unknown"

    def test_manual_entry_and_lookup(self, client: Client, personas: Any, restaurant: Any) -> None:
        client.force_login(personas.controller)
        found = client.get("/api/v1/checkins/people-lookup",
                           {"venue": restaurant.code, "q": "0912000007"}).json()
        assert found == [{
            "id": personas.citizen.person_id, "name": "N. T. Hoa", "birth_year": 1990,
            "masked_phone": "0912***007", "masked_id": "*********456",
        }]
        # She has an account, so picking her needs her birth date (issue 12).
        response = post_json(client, "/api/v1/checkins/manual", {
            "venue": restaurant.code, "person_id": found[0]["id"], "phone": "0912000007",
            "birth_date": "1990-05-17"})
        assert response.status_code == 201
        assert CheckIn.objects.get().person_id == personas.citizen.person_id

    def test_the_lookup_is_refused_to_other_venues_controllers(
        self, client: Client, personas: Any, market: Any
    ) -> None:
        client.force_login(personas.controller)
        assert_error_shape(client.get("/api/v1/checkins/people-lookup",
                                      {"venue": market.code, "q": "0912000007"}), 404)

    def test_a_camera_frame_is_decoded_on_the_server(
        self, client: Client, personas: Any
    ) -> None:
        token = personal_qr_token(personas.citizen.person)
        frame = io.BytesIO()
        segno.make(token, error="m").save(frame, kind="png", scale=6, border=6)
        client.force_login(personas.controller)
        frame.seek(0)
        frame.name = "frame.png"
        response = client.post("/api/v1/checkins/decode", {"image": frame})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["found"] is True
        assert body["results"][0]["text"] == token
        assert body["results"][0]["kind"] == "personal_qr"

    def test_a_non_image_or_oversized_frame_is_refused(
        self, client: Client, personas: Any, settings: Any
    ) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        client.force_login(personas.controller)
        fake = SimpleUploadedFile("frame.png", b"not an image", content_type="image/png")
        body = assert_error_shape(client.post("/api/v1/checkins/decode", {"image": fake}), 400)
        assert body["code"] == "frame_invalid"
        settings.CHECKIN_DECODE_MAX_BYTES = 10 * 1024
        big = SimpleUploadedFile("frame.png", b"\x89PNG" + b"0" * 20000,
                                 content_type="image/png")
        assert_error_shape(client.post("/api/v1/checkins/decode", {"image": big}), 400)
        text = SimpleUploadedFile("frame.txt", b"hello", content_type="text/plain")
        assert_error_shape(client.post("/api/v1/checkins/decode", {"image": text}), 400)


@pytest.mark.django_db
class TestRateLimits:
    def test_a_person_scanning_too_fast_gets_429_with_retry_after(
        self, client: Client, personas: Any, restaurant: Any, settings: Any
    ) -> None:
        settings.CHECKIN_RATELIMIT_USER_PER_MINUTE = 2
        client.force_login(personas.citizen)
        payload = {"venue": venue_qr_payload(restaurant)}
        for _attempt in range(2):
            assert post_json(client, "/api/v1/checkins/scan", payload).status_code in (200, 201)
        response = post_json(client, "/api/v1/checkins/scan", payload)
        assert_error_shape(response, 429)
        assert int(response["Retry-After"]) > 0

    def test_guest_check_ins_are_limited_per_address(
        self, client: Client, restaurant: Any, settings: Any
    ) -> None:
        settings.CHECKIN_RATELIMIT_IP_PER_MINUTE = 1
        form = {"venue": venue_qr_payload(restaurant), "full_name": "Phạm Văn Khách",
                "phone": "0977123456"}
        assert post_json(client, "/api/v1/checkins/guest", form,
                         REMOTE_ADDR="10.9.8.7").status_code == 201
        blocked = post_json(client, "/api/v1/checkins/guest", form, REMOTE_ADDR="10.9.8.7")
        assert_error_shape(blocked, 429)
        assert post_json(client, "/api/v1/checkins/guest", form,
                         REMOTE_ADDR="10.9.8.8").status_code == 200

    def test_staff_scans_are_limited_per_controller(
        self, client: Client, personas: Any, restaurant: Any, settings: Any
    ) -> None:
        settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE = 1
        client.force_login(personas.controller)
        body = {"venue": restaurant.code, "payload": CCCD}
        assert post_json(client, "/api/v1/checkins/staff-scan", body).status_code == 201
        assert_error_shape(post_json(client, "/api/v1/checkins/staff-scan", body), 429)


@pytest.mark.django_db
class TestNoMovementListing:
    def test_no_endpoint_takes_a_person_and_returns_their_visits(self, client: Client) -> None:
        """Officials reach visits only through a case (tracing): no check-in
        endpoint takes a person, phone or ID number to list someone's visits."""
        schema = client.get("/api/v1/openapi.json").json()
        checked = 0
        for path, operations in schema["paths"].items():
            if not path.startswith("/api/v1/checkins/"):
                continue
            checked += 1
            for method, operation in operations.items():
                names = {p["name"] for p in operation.get("parameters", [])}
                assert not names & {"person", "person_id", "phone", "id_number", "user"}, (
                    method, path)
                if method == "get":
                    # guest-visits: the caller's own, recorded without an account
                    # under their phone and name, waiting for them to adopt them.
                    assert path in {
                        "/api/v1/checkins/mine", "/api/v1/checkins/people-lookup",
                        "/api/v1/checkins/personal-qr", "/api/v1/checkins/personal-qr/public-key",
                        "/api/v1/checkins/guest-visits",
                    }, path
        assert checked >= 10

    def test_an_official_calling_mine_sees_only_their_own_visits(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        checkin_record(venue=restaurant, person=personas.citizen.person,
                       arrived_at=timezone.now(), method="citizen_scan")
        for official in (personas.district_officer, personas.admin, personas.health_worker):
            client.force_login(official)
            assert client.get("/api/v1/checkins/mine").json() == []

    def test_the_lookup_returns_no_visits(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        checkin_record(venue=restaurant, person=personas.citizen.person,
                       arrived_at=timezone.now(), method="citizen_scan")
        client.force_login(personas.controller)
        found = client.get("/api/v1/checkins/people-lookup",
                           {"venue": restaurant.code, "q": "0912000007"}).json()
        assert set(found[0]) == {"id", "name", "birth_year", "masked_phone", "masked_id"}
