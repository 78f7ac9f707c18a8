"""Page parameters from anyone are bounded (issue 12, low item "offset=
99999999999999999999999 gives a 500 on 8 endpoints, including the anonymous
/places/units").

An offset past 64 bits cannot be sent to the database (SQLite: OverflowError,
PostgreSQL: out of range). Every list now answers with an empty page.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.security.export_stage import build_stage
from truyvet.testing import ApiClient

HUGE = "99999999999999999999999"


@pytest.fixture
def stage(personas: Any) -> Any:
    return build_stage(personas)


def _lists(stage: Any) -> list[tuple[str, Any, str]]:
    """(who, as which user, path) of every list endpoint with an offset."""
    personas = stage.personas
    ha_lang = personas.units.ha_lang.pk
    return [
        ("anyone", None, "/places/units"),
        ("officer", personas.district_officer, "/tracing/cases"),
        ("officer", personas.district_officer, f"/tracing/cases/{stage.case.pk}/contacts"),
        ("officer", personas.district_officer, "/tracing/tasks"),
        ("officer", personas.district_officer, f"/reports/{ha_lang}/inactive"),
        ("officer", personas.district_officer, f"/reports/{ha_lang}/files"),
        ("officer", personas.district_officer, "/venues/"),
        ("owner", personas.venue_owner, f"/venues/{stage.visited.code}/visitors"),
        ("officer", personas.district_officer, "/audit"),
        ("citizen", personas.citizen, "/inbox"),
    ]


def test_an_offset_past_64_bits_gives_an_empty_page_on_every_list(stage: Any) -> None:
    for _who, user, path in _lists(stage):
        response = ApiClient(user).get(path, offset=HUGE, limit=HUGE)

        assert response.status_code == 200, (path, response.status_code)
        body = response.json()
        items = body if isinstance(body, list) else next(
            value for key, value in body.items() if key in ("items", "venues", "messages"))
        assert items == [], path


def test_a_negative_offset_and_limit_still_give_the_first_page(stage: Any) -> None:
    first = ApiClient(stage.personas.district_officer).get("/venues/", offset=-5, limit=-5)

    assert first.status_code == 200
    assert len(first.json()["items"]) == 1


@pytest.mark.parametrize("page", [HUGE, "9" * 5000, "²", "-3", "abc"])
def test_page_numbers_of_html_lists_are_bounded(stage: Any, page: str) -> None:
    personas = stage.personas
    officer, owner = Client(), Client()
    officer.force_login(personas.district_officer)
    owner.force_login(personas.venue_owner)

    for client, path in ((officer, f"/reports/{personas.units.ha_lang.pk}/inactive/"),
                         (owner, f"/venues/{stage.visited.code}/visitors/"),
                         (officer, "/tracing/"), (officer, "/venues/manage/")):
        assert client.get(path, {"page": page}).status_code == 200, (path, page)
