"""The public page a poster's QR opens (/v/<token>), the resolve endpoint,
and the poster and QR downloads of the venue pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import zxingcpp
from django.test import Client
from PIL import Image

from truyvet.venues import qr
from truyvet.venues.models import Venue, VenueStatus
from truyvet.venues.services import venue_qr_revoke, venue_status_change
from truyvet.venues.tests.conftest import login


def path_of(venue: Venue) -> str:
    return urlsplit(qr.venue_qr_payload(venue)).path


def forged(path: str) -> str:
    """The same path with the last character of the signature changed."""
    last = path[-1]
    return path[:-1] + ("A" if last != "A" else "C")


def test_the_qr_in_the_png_opens_the_page_of_its_venue(client: Client, personas, venues) -> None:
    login(client, personas.venue_owner)
    png = client.get(f"/venues/{venues.shop.code}/qr.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"

    import io

    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    client.logout()
    page = client.get(urlsplit(found.text).path)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Cửa hàng tạp hoá Sơn Hà" in html
    assert "Tổ dân phố 2, Thị trấn Thanh Nhật, Huyện Hạ Lang, Tỉnh Cao Bằng" in html
    assert 'id="checkin"' in html  # the block the check-in page fills in


@pytest.mark.parametrize(
    ("case", "status", "title"),
    [
        ("forged", 400, "Mã QR giả hoặc đã bị sửa"),
        ("revoked", 410, "Mã QR đã bị thu hồi"),
        ("unknown", 404, "Không có địa điểm với mã QR này"),
        ("malformed", 400, "Mã QR không đúng định dạng"),
    ],
)
def test_a_bad_code_gets_its_own_clear_message(
    client: Client, personas, venues, case, status, title
) -> None:
    path = path_of(venues.shop)
    if case == "forged":
        path = forged(path)
    elif case == "revoked":
        venue_qr_revoke(actor=personas.venue_owner, venue=venues.shop)
    elif case == "unknown":
        path = path_of(Venue(code="HK7M3QWX", qr_version=1))
    else:
        path = "/v/hello-world"

    page = client.get(path)

    assert page.status_code == status
    html = page.content.decode()
    assert title in html
    assert "Cửa hàng tạp hoá Sơn Hà" not in html
    assert 'id="checkin"' not in html


def test_a_suspended_venue_is_named_but_takes_no_check_ins(
    client: Client, personas, venues
) -> None:
    venue_status_change(actor=personas.commune_officer, venue=venues.shop,
                        status=VenueStatus.SUSPENDED, reason="Vi phạm quy định")

    page = client.get(path_of(venues.shop))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Cửa hàng tạp hoá Sơn Hà" in html and "Địa điểm đang tạm dừng" in html
    assert 'id="checkin"' not in html


def test_the_scan_page_speaks_english_on_request(client: Client, personas, venues) -> None:
    old_poster = path_of(venues.shop)
    venue_qr_revoke(actor=personas.venue_owner, venue=venues.shop)
    page = client.get(old_poster, headers={"Accept-Language": "en"})
    assert page.status_code == 410
    assert "This QR code was revoked" in page.content.decode()


def test_the_resolve_endpoint_gives_distinct_codes(api, personas, venues) -> None:
    anonymous = api()
    payload = qr.venue_qr_payload(venues.shop)

    ok = anonymous.post("/resolve", {"payload": payload})
    assert ok.status_code == 200
    assert ok.json()["code"] == venues.shop.code
    assert ok.json()["accepts_checkins"] is True
    assert ok.json()["address"].startswith("Tổ dân phố 2, Thị trấn Thanh Nhật")
    assert "contact_phone" not in ok.json()

    answers = {
        "forged": anonymous.post("/resolve", {"payload": forged(payload)}),
        "unknown": anonymous.post("/resolve", {
            "payload": qr.venue_qr_payload(Venue(code="HK7M3QWX", qr_version=1))}),
        "malformed": anonymous.post("/resolve", {"payload": "xin chào"}),
    }
    venue_qr_revoke(actor=personas.venue_owner, venue=venues.shop)
    answers["revoked"] = anonymous.post("/resolve", {"payload": payload})

    assert {case: (r.status_code, r.json()["code"]) for case, r in answers.items()} == {
        "forged": (400, "qr_forged"), "unknown": (404, "qr_unknown"),
        "malformed": (400, "qr_malformed"), "revoked": (410, "qr_revoked"),
    }
    assert len({r.json()["error"] for r in answers.values()}) == 4


def test_managers_download_the_poster_and_qr_files(api, client: Client, personas, venues) -> None:
    owner = api(personas.venue_owner)
    code = venues.shop.code

    pdf = owner.get(f"/{code}/poster.pdf")
    svg = owner.get(f"/{code}/qr.svg")
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content

    login(client, personas.commune_officer)
    page_pdf = client.get(f"/venues/{code}/poster.pdf")
    assert page_pdf.status_code == 200 and page_pdf.content.startswith(b"%PDF")


def test_officers_download_every_poster_of_their_commune(
    api, client: Client, personas, venues
) -> None:
    as_api = api(personas.district_officer).get("/posters.pdf", unit="01558")
    assert (as_api.status_code, as_api["Content-Type"]) == (200, "application/pdf")

    login(client, personas.district_officer)
    form = client.get("/venues/posters/")
    assert "Thị trấn Thanh Nhật" in form.content.decode()
    pdf = client.get("/venues/posters/", {"unit": "01555", "english": "0"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    empty = client.get("/venues/posters/", {"unit": "01573"})
    assert "chưa có địa điểm nào đang hoạt động" in empty.content.decode()
    assert api(personas.venue_owner).get("/posters.pdf", unit="01558").status_code == 403
