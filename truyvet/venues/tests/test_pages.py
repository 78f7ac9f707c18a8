"""The venue pages render for the people they are for, in both languages."""

from __future__ import annotations

from django.test import Client

from truyvet.venues.tests.conftest import login


def test_the_owner_pages_render(client: Client, personas, venues) -> None:
    login(client, personas.venue_owner)
    code = venues.shop.code

    register = client.get("/venues/register/").content.decode()
    assert "Dùng vị trí hiện tại của tôi" in register and 'name="commune_q"' in register
    assert 'name="otp_code"' not in register  # asked for only when needed
    detail = client.get(f"/venues/{code}/").content.decode()
    for text in ("Áp phích PDF", "Mã QR (PNG)", "Mã QR (SVG)", "Xem nhật ký khách",
                 "Thêm người quản trị hoặc kiểm soát", "Thu hồi mã QR cũ"):
        assert text in detail
    assert "Trạng thái (cán bộ quản lý)" not in detail
    edit = client.get(f"/venues/{code}/edit/").content.decode()
    assert 'value="Cửa hàng tạp hoá Sơn Hà"' in edit and "Thị trấn Thanh Nhật" in edit
    assert client.get("/venues/import/").status_code == 403
    home = client.get("/").content.decode()
    assert 'href="/venues/"' in home and 'href="/venues/manage/"' not in home


def test_the_officer_pages_render(client: Client, personas, venues) -> None:
    login(client, personas.district_officer)

    manage = client.get("/venues/manage/").content.decode()
    assert "Trường Tiểu học An Lạc" in manage and "Tạm dừng" in manage
    partial = client.get("/venues/manage/", {"q": "an lac"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert "Trường Tiểu học An Lạc" in partial.content.decode()
    assert "Tệp mẫu Excel (.xlsx)" in client.get("/venues/import/").content.decode()
    assert "Xã An Lạc" in client.get("/venues/posters/").content.decode()
    detail = client.get(f"/venues/{venues.school.code}/").content.decode()
    assert "Trạng thái (cán bộ quản lý)" in detail and "Xem nhật ký khách" not in detail
    home = client.get("/").content.decode()
    for link in ("/venues/manage/", "/venues/import/", "/venues/posters/"):
        assert f'href="{link}"' in home


def test_the_pages_speak_english(client: Client, personas, venues) -> None:
    login(client, personas.venue_owner)
    english = {"Accept-Language": "en"}

    register = client.get("/venues/register/", headers=english).content.decode()
    detail = client.get(f"/venues/{venues.shop.code}/", headers=english).content.decode()
    assert "Use my current location" in register
    assert "Poster (PDF)" in detail
