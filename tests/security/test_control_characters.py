"""Control and text-direction characters are refused in names and stripped
from exports (issue 12, item 3 and the low item "NUL and right-to-left
override characters are accepted in names").

Before the fix a NUL or a right-to-left override (U+202E, which shows
"Quán ‮moc‬" as "Quán com") was stored in a person's or a venue's name, and
a control character in a venue name made the report's export.xlsx a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.security.export_stage import (
    CSV,
    PDF,
    XLSX,
    build_stage,
    csv_rows,
    every_export,
    pdf_text,
    rename,
    xlsx_cells,
)
from truyvet.accounts.services import PersonInput, person_create
from truyvet.core.errors import ServiceError

UNSAFE = {
    "NUL": "\x00", "bell": "\x07", "escape": "\x1b", "unit separator": "\x1f", "DEL": "\x7f",
    "C1 NEL": "\x85", "C1 CSI": "\x9b", "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a", "right-to-left isolate": "\u2067",
    "right-to-left mark": "\u200f", "noncharacter": "\ufffe",
}


def _codes(exc: pytest.ExceptionInfo[ServiceError]) -> dict[str, str]:
    return {error.field: error.code for error in exc.value.errors}


@pytest.mark.parametrize("character", UNSAFE.values(), ids=UNSAFE.keys())
def test_a_venue_name_or_street_with_a_control_character_is_refused(
    personas: Any, character: str,
) -> None:
    from truyvet.venues.services import venue_register

    with pytest.raises(ServiceError) as refused:
        venue_register(
            actor=personas.district_officer, name=f"Quán {character}moc", venue_type="restaurant",
            commune=personas.units.thanh_nhat, street=f"Tổ 1{character}",
            contact_phone=personas.venue_owner.phone,
        )

    assert _codes(refused) == {"name": "control_character", "street": "control_character"}


@pytest.mark.parametrize("character", UNSAFE.values(), ids=UNSAFE.keys())
def test_a_person_with_a_control_character_in_the_name_is_refused(
    personas: Any, character: str,
) -> None:
    with pytest.raises(ServiceError) as refused:
        person_create(data=PersonInput(full_name=f"Nguyễn{character} Văn An",
                                       commune=personas.units.thanh_nhat,
                                       street=f"Tổ {character}2"))

    assert _codes(refused) == {"full_name": "control_character", "street": "control_character"}


def test_registering_an_account_with_a_right_to_left_override_is_refused(units: Any) -> None:
    from truyvet.testing import register_user

    with pytest.raises(ServiceError) as refused:
        register_user(phone="0912777001", full_name="Trần \u202eTuấn", commune=units.thanh_nhat)

    assert _codes(refused) == {"full_name": "control_character"}


def test_a_guest_or_a_manual_entry_with_a_nul_in_the_name_is_refused(personas: Any) -> None:
    from truyvet.checkins.services import checkin_guest, checkin_manual

    stage = build_stage(personas)
    with pytest.raises(ServiceError) as guest:
        checkin_guest(venue=stage.visited, full_name="Khách\x00 Lạ", phone="0987000222")
    with pytest.raises(ServiceError) as manual:
        checkin_manual(controller=personas.venue_owner, venue=stage.visited,
                       full_name="Khách \u202eLạ", phone="0987000333")

    assert _codes(guest) == {"full_name": "control_character"}
    assert _codes(manual) == {"full_name": "control_character"}


def test_a_scanned_card_with_a_control_character_in_the_name_is_refused() -> None:
    from truyvet.checkins.parsers import parse_cccd_qr

    with pytest.raises(ServiceError) as refused:
        parse_cccd_qr("001090123456|012345678|Nguyễn Văn\x1b A|01011990|Nam|Hà Nội|15042021")

    assert _codes(refused)["full_name"] == "control_character"


def test_an_imported_venue_with_a_control_character_is_refused_on_its_row(
    personas: Any,
) -> None:
    import io

    from truyvet.venues.services import venue_import

    content = ("Tên địa điểm,Loại hình,Mã xã,Địa chỉ (số nhà/thôn),SĐT liên hệ\n"
               f"Quán \u202eAn,Nhà hàng,{personas.units.thanh_nhat.code},Tổ 1,0912345678\n")

    report = venue_import(actor=personas.district_officer,
                          file=io.BytesIO(content.encode()), filename="dia-diem.csv")

    assert [(issue.row, issue.code) for issue in report.errors] == [(2, "control_character")]
    assert report.created == 0


def test_tabs_and_line_breaks_in_a_name_are_only_spaces(personas: Any) -> None:
    person = person_create(data=PersonInput(full_name="Nguyễn\tVăn\r\nAn ",
                                            commune=personas.units.thanh_nhat))

    assert person.full_name == "Nguyễn Văn An"


def test_vietnamese_names_and_punctuation_are_welcome(personas: Any) -> None:
    name = "Đặng Thị Ngọc Hương (Bé) - O'Brien & Co. <3"
    person = person_create(data=PersonInput(full_name=name, commune=personas.units.thanh_nhat))

    assert person.full_name == name


# --- Stored before the rule: stripped on the way out -------------------------------------------


def test_control_characters_stored_before_the_rule_are_stripped_from_every_export(
    personas: Any,
) -> None:
    stage = build_stage(personas)
    nul = "" if connection.vendor == "postgresql" else "\x00"  # PostgreSQL never stored one
    rename(stage, venue_name=f"Quán\x01 Cơm\x1b[31m{nul} \u202eĐêm",
           person_name="Lò\x0b Văn\x85Tủa\u2066", street="Tổ\x7f 3\ufffe")

    exports = every_export(stage, import_value="Nhà\x02hàng")  # every answer a 200

    for export in exports:
        if export.kind == XLSX:
            text = " ".join(str(c.value) for c in xlsx_cells(export.content) if c.value)
        elif export.kind == CSV:
            text = " ".join(cell for row in csv_rows(export.content) for cell in row)
        else:
            assert export.kind == PDF
            text = pdf_text(export.content)
        leftovers = {ch for ch in text if ch in UNSAFE.values() or ch in "\x01\x02\x0b"}
        assert leftovers == set(), export.label
    workbook = next(e for e in exports if e.label == "report district xlsx")
    assert "Quán Cơm[31m Đêm" in [c.value for c in xlsx_cells(workbook.content)]
    timeline = next(e for e in exports if e.label == "timeline pdf")
    assert "Lò Văn Tủa" in pdf_text(timeline.content)
