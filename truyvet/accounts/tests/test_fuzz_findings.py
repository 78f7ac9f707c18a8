"""Inputs the API fuzzer (tests/fuzz_api.py) found to cause server errors."""

from __future__ import annotations

from typing import Any

import pytest

from truyvet.core.services import audit_record


@pytest.mark.parametrize("since", [
    "2026-11-20T08:00:00-21:38",  # an offset PostgreSQL refuses (beyond ±15:59)
    "0001-01-01T00:00:00+05:00",  # falls before year 1 in UTC
    "9999-12-31T23:00:00-05:00",  # falls after year 9999 in UTC
])
def test_the_audit_log_accepts_any_valid_iso_time_as_since(
    personas: Any, api: Any, since: str
) -> None:
    audit_record(actor=personas.admin, action="person.read", purpose="Kiểm tra",
                 subject_person=personas.citizen.person)

    response = api(personas.admin).get("/audit", since=since)

    assert response.status_code == 200
    if since.startswith("9999"):
        assert response.json() == []
    else:
        assert "Kiểm tra" in [event["purpose"] for event in response.json()]


def test_the_audit_log_survives_an_offset_too_large_for_the_database(
    personas: Any, api: Any
) -> None:
    response = api(personas.admin).get("/audit", offset=2**70)

    assert response.status_code == 200
    assert response.json() == []
