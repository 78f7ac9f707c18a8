"""The commune picker ranks what the user most likely means first: a name
exactly as typed, diacritics included, and then the user's own area, before
a name that only matches once diacritics are folded away."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from truyvet.places.models import AdministrativeUnit
from truyvet.places.services import divisions_load


@pytest.fixture
def dak_lak(personas: Any) -> None:
    """Đắk Lắk too, where Buôn Ma Thuột has a Phường Thành Nhất."""
    divisions_load(province_codes=["66"])
    assert AdministrativeUnit.objects.filter(name="Phường Thành Nhất").exists()


def _options(client: Client, typed: str) -> list[str]:
    page = client.get("/accounts/communes/", {"q": typed}).content.decode()
    return [re.sub(r"\s+", " ", text).strip()
            for text in re.findall(r"<option[^>]*value=\"\d+\"[^>]*>([^<]+)</option>", page)]


@pytest.mark.django_db
def test_thanh_nhat_with_its_diacritics_finds_the_ha_lang_township_first(
    client: Client, dak_lak: None
) -> None:
    found = _options(client, "Thanh Nhật")

    assert found[0].startswith("Thị trấn Thanh Nhật")
    assert any(option.startswith("Phường Thành Nhất") for option in found[1:])


@pytest.mark.django_db
def test_a_ha_lang_officer_typing_without_diacritics_gets_their_own_area_first(
    client: Client, personas: Any, dak_lak: None
) -> None:
    anonymous = _options(client, "thanh nhat")
    client.force_login(personas.district_officer)
    officer = _options(client, "thanh nhat")

    assert anonymous[0].startswith("Phường Thành Nhất")  # the shorter name, nothing else known
    assert officer[0].startswith("Thị trấn Thanh Nhật")


@pytest.mark.django_db
def test_the_exact_name_typed_with_diacritics_wins_over_the_users_own_area(
    client: Client, personas: Any, dak_lak: None
) -> None:
    client.force_login(personas.district_officer)

    assert _options(client, "Thành Nhất")[0].startswith("Phường Thành Nhất")
