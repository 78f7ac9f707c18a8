from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from truyvet.places.tests.conftest import CAO_BANG, HA_LANG, THANH_NHAT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cao_bang")]


def test_the_search_page_lists_provinces_before_anything_is_typed(client: Client) -> None:
    response = client.get(reverse("places:search"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert 'hx-get="/places/"' in html
    assert reverse("places:detail", args=[CAO_BANG]) in html


def test_the_search_page_finds_ha_lang_without_diacritics(client: Client) -> None:
    response = client.get(reverse("places:search"), {"q": "ha lang"})

    html = response.content.decode()
    assert "Huyện Hạ Lang" in html
    assert 'value="ha lang"' in html


def test_htmx_gets_only_the_results(client: Client) -> None:
    response = client.get(
        reverse("places:search"), {"q": "thanh nhat"}, headers={"hx-request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Thị trấn Thanh Nhật" in html
    assert reverse("places:detail", args=[THANH_NHAT]) in html
    assert "HX-Request" in response["Vary"]


def test_htmx_restoring_history_gets_the_whole_page(client: Client) -> None:
    response = client.get(
        reverse("places:search"),
        {"q": "thanh nhat"},
        headers={"hx-request": "true", "hx-history-restore-request": "true"},
    )

    assert "<html" in response.content.decode()


def test_it_says_when_nothing_matches(client: Client) -> None:
    response = client.get(
        reverse("places:search"), {"q": "zzz"}, headers={"hx-request": "true"}
    )

    assert "Không tìm thấy đơn vị hành chính nào khớp với “zzz”." in response.content.decode()


def test_it_searches_within_a_parent(client: Client) -> None:
    response = client.get(reverse("places:search"), {"q": "thanh", "parent": HA_LANG})

    html = response.content.decode()
    assert "Chỉ tìm trong Huyện Hạ Lang, Tỉnh Cao Bằng" in html
    assert "Thị trấn Thanh Nhật" in html
    assert "Phường Sông Bằng" not in html


def test_the_detail_page_lists_the_communes_of_ha_lang(client: Client) -> None:
    response = client.get(reverse("places:detail", args=[HA_LANG]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Huyện Hạ Lang</h1>" in html
    assert "13 đơn vị trực thuộc" in html
    assert reverse("places:detail", args=[THANH_NHAT]) in html
    assert reverse("places:detail", args=[CAO_BANG]) in html  # in the breadcrumbs


def test_the_detail_page_speaks_english_when_asked(client: Client) -> None:
    client.cookies["django_language"] = "en"

    html = client.get(reverse("places:detail", args=[HA_LANG])).content.decode()

    assert "13 units below" in html
    assert "Rural district" in html


def test_an_unknown_unit_page_is_a_404(client: Client) -> None:
    assert client.get(reverse("places:detail", args=["99999"])).status_code == 404
    assert client.get(reverse("places:search"), {"parent": "99999"}).status_code == 404
