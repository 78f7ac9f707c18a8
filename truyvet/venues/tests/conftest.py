"""Shared state for the venue tests: venues registered through the real
services by the named personas, an API client speaking as a persona, and
helpers that write import files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from truyvet.accounts.models import User
from truyvet.testing import ApiClient
from truyvet.venues.models import Venue, VenueStaff, VenueType
from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add


class Api(ApiClient):
    """Calls /api/v1/venues as ``user`` (anonymous when None) in ``language``."""

    prefix = "/api/v1/venues"


@pytest.fixture
def api() -> type[Api]:
    return Api


@dataclass
class Venues:
    """Venues of Hạ Lang and its neighbour, registered through the services.

    shop       Triệu Văn Sơn's shop in Thị trấn Thanh Nhật (self-registered);
               the controller persona is its controller
    school     a school in Xã An Lạc, registered by the district officer
    neighbour  a shop in Quảng Hòa, registered by that district's officer
    """

    shop: Venue
    school: Venue
    neighbour: Venue
    shop_controller: VenueStaff


@pytest.fixture
def venues(personas: Any) -> Venues:
    units = personas.units
    shop = venue_register(
        actor=personas.venue_owner, name="Cửa hàng tạp hoá Sơn Hà", venue_type=VenueType.SHOP,
        commune=units.thanh_nhat, street="Tổ dân phố 2", contact_phone=personas.venue_owner.phone,
    )
    school = venue_register(
        actor=personas.district_officer, name="Trường Tiểu học An Lạc",
        venue_type=VenueType.SCHOOL, commune=units.an_lac, street="Thôn Bản Thẳm",
        contact_phone="0912999101",
    )
    neighbour = venue_register(
        actor=personas.neighbour_officer, name="Quán ăn Quảng Hòa",
        venue_type=VenueType.RESTAURANT, commune=units.quang_hoa_commune, street="Phố Chợ",
        contact_phone="0912999102",
    )
    controller = venue_staff_add(
        actor=personas.venue_owner, venue=shop, phone=personas.controller.phone,
        role="controller",
    )
    controller = venue_staff_accept(user=personas.controller, staff=controller)
    return Venues(shop=shop, school=school, neighbour=neighbour, shop_controller=controller)


def login(client: Client, user: User) -> Client:
    client.force_login(user, backend="truyvet.accounts.backends.PhoneBackend")
    return client


HEADERS = ["Tên địa điểm", "Loại hình", "Mã xã", "Địa chỉ (số nhà/thôn)", "SĐT liên hệ",
           "Vĩ độ", "Kinh độ"]
HA_LANG_COMMUNES = ["01534", "01537", "01540", "01543", "01546", "01549", "01552", "01555",
                    "01558", "01561", "01564", "01567", "01573"]
TYPES = ["Chợ", "Siêu thị/cửa hàng", "Nhà hàng/quán ăn", "Trường học", "Cơ quan nhà nước",
         "restaurant", "Trạm y tế", "Khác"]


def venue_rows(count: int, *, prefix: str = "Cửa hàng") -> list[list[Any]]:
    """``count`` valid rows across Hạ Lang's 13 communes, all different."""
    rows = []
    for index in range(count):
        rows.append([
            f"{prefix} số {index + 1}",
            TYPES[index % len(TYPES)],
            HA_LANG_COMMUNES[index % len(HA_LANG_COMMUNES)],
            f"Xóm {index // 13 + 1}",
            f"097{index:07d}",
            22.70 + (index % 100) / 10000 if index % 3 else None,
            106.68 + (index % 100) / 10000 if index % 3 else None,
        ])
    return rows


def xlsx_bytes(rows: list[list[Any]], headers: list[str] | None = None) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Địa điểm")
    sheet.append(headers or HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], *, delimiter: str = ",", bom: bool = True,
              headers: list[str] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers or HEADERS)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")
