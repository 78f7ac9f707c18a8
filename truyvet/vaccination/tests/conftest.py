"""Set-up for the vaccination tests: Hạ Lang's two vaccination sites,
registered through the venues service with their staff, and helpers that
build lists the way sites keep them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from truyvet.venues.models import Venue, VenueType
from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add

HEADERS = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số điện thoại", "Số CMND/CCCD",
           "Số thẻ BHYT", "Tỉnh", "Huyện", "Xã", "Tên vắc xin", "Số lô", "Ngày tiêm",
           "Mũi tiêm", "Cơ sở tiêm"]


@dataclass
class Sites:
    centre: Venue  # Trung tâm Y tế huyện Hạ Lang, Thị trấn Thanh Nhật
    station: Venue  # Trạm Y tế xã An Lạc
    elsewhere: Venue  # Trung tâm Y tế huyện Quảng Hòa


@pytest.fixture
def sites(personas: Any) -> Sites:
    """The venue owner runs the district health centre's site (the
    controller works its door); the Quảng Hòa centre is another district's."""
    units = personas.units
    centre = venue_register(
        actor=personas.district_officer, name="Trung tâm Y tế huyện Hạ Lang",
        venue_type=VenueType.VACCINATION, commune=units.thanh_nhat, street="Phố Thanh Nhật",
        contact_phone=personas.venue_owner.phone)
    invited = venue_staff_add(actor=personas.venue_owner, venue=centre,
                              phone=personas.controller.phone, role="controller", notify=False)
    # An owner's invitation grants nothing until its holder accepts it.
    venue_staff_accept(user=personas.controller, staff=invited)
    station = venue_register(
        actor=personas.district_officer, name="Trạm Y tế xã An Lạc",
        venue_type=VenueType.VACCINATION, commune=units.an_lac, street="Xóm Bản Thẳm",
        contact_phone="0912555001")
    elsewhere = venue_register(
        actor=personas.neighbour_officer, name="Trung tâm Y tế huyện Quảng Hòa",
        venue_type=VenueType.VACCINATION, commune=units.quang_hoa_commune, street="Tổ 1",
        contact_phone="0912555002")
    return Sites(centre=centre, station=station, elsewhere=elsewhere)


def row(number: int, name: str, birth: Any, *, sex: str = "Nam", phone: str = "",
        id_number: str = "", vaccine: str = "AstraZeneca", lot: str = "NT0021",
        given: Any = date(2021, 10, 4), dose: Any = 1, province: str = "Cao Bằng",
        district: str = "Hạ Lang", commune: str = "Thanh Nhật", site: str = "TTYT Hạ Lang"
        ) -> list[Any]:
    return [number, name, birth, sex, phone, id_number, "", province, district, commune,
            vaccine, lot, given, dose, site]


def workbook(rows: list[list[Any]], *, headers: list[str] | None = None,
             titles: list[list[Any]] | None = None) -> bytes:
    """An .xlsx as sites print them: a title or two, the header, the rows."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for title in titles if titles is not None else [["DANH SÁCH NGƯỜI ĐƯỢC TIÊM VẮC XIN "
                                                      "COVID-19"], []]:
        sheet.append(title)
    sheet.append(headers or HEADERS)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
