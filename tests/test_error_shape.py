"""Every JSON error has one shape, whatever raised it (STYLE §6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

SHAPE_KEYS = {"ok", "status", "error", "code", "errors"}


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == SHAPE_KEYS
    assert body["ok"] is False
    assert body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["errors"], list)
    for item in body["errors"]:
        assert {"field", "message", "code"} <= set(item)
    return body


@pytest.mark.django_db
class TestErrorShape:
    def test_an_unknown_api_path_is_a_shaped_404(self, client: Client) -> None:
        assert_error_shape(client.get("/api/v1/no-such-thing"), 404)

    def test_an_unknown_unit_is_a_shaped_404(self, client: Client, units: Any) -> None:
        assert_error_shape(client.get("/api/v1/places/units/99999"), 404)

    def test_an_anonymous_call_to_a_private_endpoint_is_a_shaped_401(self, client: Client) -> None:
        assert_error_shape(client.get("/api/v1/me"), 401)

    def test_a_malformed_body_is_a_shaped_422_naming_the_field(self, client: Client) -> None:
        body = assert_error_shape(
            client.post("/api/v1/auth/otp", data={"purpose": "register"},
                        content_type="application/json"),
            422,
        )
        assert any(item["field"] == "phone" for item in body["errors"])

    def test_a_service_validation_error_is_a_shaped_400_naming_the_field(
        self, client: Client
    ) -> None:
        body = assert_error_shape(
            client.post("/api/v1/auth/otp", data={"phone": "12345", "purpose": "register"},
                        content_type="application/json"),
            400,
        )
        assert [item["field"] for item in body["errors"]] == ["phone"]

    def test_a_throttled_request_is_a_shaped_429_with_retry_after(self, client: Client) -> None:
        payload = {"phone": "0912 345 678", "purpose": "register"}
        first = client.post("/api/v1/auth/otp", data=payload, content_type="application/json")
        assert first.status_code == 202
        again = client.post("/api/v1/auth/otp", data=payload, content_type="application/json")
        assert_error_shape(again, 429)
        assert int(again["Retry-After"]) > 0
