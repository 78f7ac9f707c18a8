"""Inputs the API fuzzer (tests/fuzz_api.py) found to cause server errors."""

from __future__ import annotations

from typing import Any

from truyvet.tracing.tests.conftest import f0


def test_expanding_from_a_contact_id_too_large_for_the_database_is_a_422(
    personas: Any, api: Any
) -> None:
    case = f0(personas)

    response = api(personas.health_worker).post(
        f"/tracing/cases/{case.pk}/expand", {"contact_ids": [2**80], "depth": 2}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
