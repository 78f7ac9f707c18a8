"""Bulk import by officers from .xlsx and .csv: every row checked first,
all-or-nothing by default, a row-by-row report, and 5,000 rows at a time."""

from __future__ import annotations

import io
import sys
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from openpyxl import load_workbook

from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus
from truyvet.venues.services import ImportReport, venue_import, venue_register
from truyvet.venues.tests.conftest import HEADERS, csv_bytes, login, venue_rows, xlsx_bytes


def run_import(actor: Any, content: bytes, name: str, **options: Any) -> ImportReport:
    return venue_import(actor=actor, file=io.BytesIO(content), filename=name, **options)


def problems(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(issue.row, issue.column, issue.code) for issue in report.errors]


def spoil(rows: list[list[Any]], at: tuple[int, int, int] = (101, 2002, 4500)
          ) -> list[list[Any]]:
    """Three bad rows: a wrong phone, an unknown type and a commune of
    another district, at spreadsheet rows ``at`` (the header is row 1)."""
    rows = [list(row) for row in rows]
    phone, kind, commune = (row - 2 for row in at)
    rows[phone][4] = "091234"
    rows[kind][1] = "Sòng bạc"
    rows[commune][2] = "01576"  # Thị trấn Quảng Uyên, in Quảng Hòa
    return rows


SMALL = (11, 22, 45)  # where spoil() puts the bad rows of a 50-row file


def to_cp1258(text: str) -> bytes:
    """As Excel's plain "CSV" on a Vietnamese Windows writes it: letters such
    as "ê" precomposed, tone marks as separate combining characters."""
    import unicodedata

    letter_marks = {"\u0302", "\u0306", "\u031b"}  # â ê ô, ă, ơ ư
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[0], decomposed[1:]
        head = unicodedata.normalize("NFC", base + "".join(m for m in marks if m in letter_marks))
        tones = "".join(m for m in marks if m not in letter_marks)
        out += head.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def report_time(label: str, seconds: float) -> None:
    sys.stdout.write(f"\n[import timing] {label} on {connection.vendor}: {seconds:.2f} s\n")


def test_5000_rows_with_3_bad_ones_import_nothing_and_report_exactly_those_rows(
    personas, django_assert_max_num_queries
) -> None:
    content = xlsx_bytes(spoil(venue_rows(5000)))

    with django_assert_max_num_queries(10):
        report = run_import(personas.district_officer, content, "dia-diem.xlsx")

    assert report.rows == 5000
    assert report.created == 0
    assert problems(report) == [
        (101, "SĐT liên hệ", "invalid"),
        (2002, "Loại hình", "invalid_type"),
        (4500, "Mã xã", "commune_out_of_scope"),
    ]
    assert "01576" in str(report.errors[2].message)
    assert Venue.objects.count() == 0
    assert VenueStaff.objects.count() == 0


def test_the_fixed_5000_rows_import_every_venue(
    personas, django_assert_max_num_queries
) -> None:
    content = xlsx_bytes(venue_rows(5000))

    started = time.perf_counter()
    # Never one query per row: SQLite takes at most 999 parameters a statement,
    # so its INSERTs carry about 66 venues each (about 110 statements in all);
    # PostgreSQL needs far fewer.
    with django_assert_max_num_queries(200):
        report = run_import(personas.district_officer, content, "dia-diem.xlsx")
    report_time("5,000 rows .xlsx", time.perf_counter() - started)

    assert (report.ok, report.created, report.errors) == (True, 5000, [])
    assert Venue.objects.count() == 5000
    assert Venue.objects.filter(status=VenueStatus.ACTIVE).count() == 5000
    assert Venue.objects.values("code").distinct().count() == 5000
    assert VenueStaff.objects.filter(role=StaffRole.OWNER).count() == 5000
    venue = Venue.objects.select_related("commune").get(name="Cửa hàng số 14")
    assert (venue.commune.code, venue.street, venue.contact_phone) == (
        "01534", "Xóm 2", "+84970000013")
    assert venue.name_folded == "cua hang so 14"
    assert venue.latitude is not None and venue.created_by == personas.district_officer


def test_5000_csv_rows_import_too_and_a_bad_row_stops_them(personas) -> None:
    bad = run_import(personas.district_officer, csv_bytes(spoil(venue_rows(5000))), "a.csv")
    assert [row for row, _column, _code in problems(bad)] == [101, 2002, 4500]
    assert Venue.objects.count() == 0

    started = time.perf_counter()
    good = run_import(personas.district_officer, csv_bytes(venue_rows(5000)), "a.csv")
    report_time("5,000 rows .csv", time.perf_counter() - started)
    assert good.created == 5000
    assert Venue.objects.count() == 5000


@pytest.mark.parametrize(
    ("delimiter", "bom", "encoding"),
    [(",", True, "utf-8"), (";", False, "utf-8"), ("\t", True, "utf-16"), (",", False, "cp1258")],
)
def test_csv_as_excel_writes_it_is_read(personas, delimiter, bom, encoding) -> None:
    text = csv_bytes(venue_rows(3), delimiter=delimiter, bom=bom).decode("utf-8")
    if encoding == "utf-16":
        content = text.lstrip("\ufeff").encode("utf-16")
    elif encoding == "cp1258":
        content = to_cp1258(text)
    else:
        content = text.encode("utf-8")

    report = run_import(personas.district_officer, content, "dia-diem.CSV")

    assert report.created == 3, report.errors
    assert Venue.objects.filter(name="Cửa hàng số 1").exists()


def test_every_kind_of_bad_cell_is_reported_with_its_row_and_column(personas) -> None:
    rows: list[list[Any]] = [
        ["", "Chợ", "01558", "Tổ 1", "0970000001", None, None],
        ["Chợ A", "", "01558", "Tổ 1", "0970000002", None, None],
        ["Chợ B", "Chợ", "", "Tổ 1", "0970000003", None, None],
        ["Chợ C", "Chợ", "99999", "Tổ 1", "0970000004", None, None],
        ["Chợ D", "Chợ", "Xã Không Có", "Tổ 1", "0970000005", None, None],
        ["Chợ E", "Chợ", "01558", "", "0970000006", None, None],
        ["Chợ F", "Chợ", "01558", "Tổ 1", "", None, None],
        ["Chợ G", "Chợ", "01558", "Tổ 1", "0970000008", "x", 106],
        ["Chợ H", "Chợ", "01558", "Tổ 1", "0970000009", 22.7, None],
        ["Chợ I", "Chợ", "01558", "Tổ 1", "0970000010", 106.7, 22.7],
        ["Chợ J", "Chợ", "01558", "Tổ 1", "0970000011", 22.7, 190],
    ]

    report = run_import(personas.district_officer, xlsx_bytes(rows), "a.xlsx")

    assert problems(report) == [
        (2, "Tên địa điểm", "required"),
        (3, "Loại hình", "required"),
        (4, "Mã xã", "required"),
        (5, "Mã xã", "unknown_commune"),
        (6, "Mã xã", "unknown_commune"),
        (7, "Địa chỉ (số nhà/thôn)", "required"),
        (8, "SĐT liên hệ", "invalid"),
        (9, "Vĩ độ", "not_a_number"),
        (10, "Kinh độ", "incomplete"),
        (11, "Vĩ độ", "out_of_range"),
        (12, "Kinh độ", "out_of_range"),
    ]
    assert Venue.objects.count() == 0


def test_messages_follow_the_users_language(personas) -> None:
    from django.utils import translation

    rows = [["Chợ", "Sòng bạc", "01558", "Tổ 1", "0970000001", None, None]]
    with translation.override("en"):
        report = run_import(personas.district_officer, xlsx_bytes(rows), "a.xlsx")
        message = str(report.errors[0].message)
    assert message.startswith("The type “Sòng bạc” is not in the list")


def test_communes_may_be_named_and_types_given_by_label_key_or_half_label(personas) -> None:
    rows: list[list[Any]] = [
        ["Trạm Y tế xã An Lạc", "Trạm y tế", "An Lạc", "Thôn Bản Thẳm", "0970000001", "", ""],
        ["Nhà khách UBND", "lodging", "xa an lac, huyen ha lang", "Thôn Nà Thắm", "970000002",
         "", ""],
        ["Quán Cơm Mai", "NHA HANG", "Thị trấn Thanh Nhật", "Tổ 5", 970000003, 22.7, 106.7],
        ["Cửa hàng Tùng", "Shop", 1558, "Tổ 6", "+84970000004", "22,7", "106,7"],
    ]

    report = run_import(personas.district_officer, xlsx_bytes(rows), "a.xlsx")

    assert report.errors == []
    kinds = dict(Venue.objects.values_list("name", "venue_type"))
    assert kinds == {"Trạm Y tế xã An Lạc": "health", "Nhà khách UBND": "lodging",
                     "Quán Cơm Mai": "restaurant", "Cửa hàng Tùng": "shop"}
    assert Venue.objects.filter(commune=personas.units.an_lac).count() == 2
    assert set(Venue.objects.values_list("contact_phone", flat=True)) == {
        "+84970000001", "+84970000002", "+84970000003", "+84970000004"}


def test_look_alikes_in_the_file_and_in_the_database_are_flagged_not_refused(personas) -> None:
    existing = venue_register(actor=personas.district_officer, name="Chợ Thanh Nhật",
                              venue_type="market", commune=personas.units.thanh_nhat,
                              street="Phố Chợ", contact_phone="0970000099")
    rows = [
        ["Chợ  thanh nhat", "Chợ", "01558", "Phố chợ", "0970000001", None, None],
        ["Quán Bún Hoa", "Nhà hàng/quán ăn", "01558", "Tổ 1", "0970000002", None, None],
        ["Quan bun hoa", "Nhà hàng/quán ăn", "01558", "to 1", "0970000003", None, None],
        ["Quán Bún Hoa", "Nhà hàng/quán ăn", "01555", "Tổ 1", "0970000004", None, None],
    ]

    report = run_import(personas.district_officer, xlsx_bytes(rows), "a.xlsx")

    assert report.created == 4
    assert [(issue.row, issue.code) for issue in report.duplicates] == [
        (2, "possible_duplicate"), (4, "possible_duplicate")]
    assert existing.code in str(report.duplicates[0].message)
    assert "dòng 3" in str(report.duplicates[1].message)
    assert Venue.objects.get(contact_phone="+84970000001").possible_duplicate_of == existing
    assert (Venue.objects.get(contact_phone="+84970000003").possible_duplicate_of
            == Venue.objects.get(contact_phone="+84970000002"))
    assert Venue.objects.get(contact_phone="+84970000004").possible_duplicate_of is None


def test_with_skip_invalid_the_valid_rows_are_imported(personas) -> None:
    report = run_import(personas.district_officer, xlsx_bytes(spoil(venue_rows(50), SMALL)),
                        "a.xlsx", skip_invalid=True)

    assert report.created == 47
    assert report.skipped_rows == [11, 22, 45]
    assert Venue.objects.count() == 47


def test_a_commune_officer_imports_into_their_commune_only(personas) -> None:
    rows = [
        ["Quán 1", "Khác", "01558", "Tổ 1", "0970000001", None, None],
        ["Quán 2", "Khác", "01555", "Thôn 1", "0970000002", None, None],
    ]
    report = run_import(personas.commune_officer, xlsx_bytes(rows), "a.xlsx")

    assert problems(report) == [(3, "Mã xã", "commune_out_of_scope")]
    assert Venue.objects.count() == 0


@pytest.mark.parametrize("who", ["venue_owner", "controller", "citizen", "health_worker"])
def test_only_officers_import(personas, who) -> None:
    with pytest.raises(NotAllowed):
        run_import(getattr(personas, who), xlsx_bytes(venue_rows(1)), "a.xlsx")


def test_contact_phones_become_owners_linked_to_existing_accounts(personas) -> None:
    rows = [["Quán Sơn", "Khác", "01558", "Tổ 1", "0912000005", None, None],
            ["Quán Mới", "Khác", "01558", "Tổ 2", "0970000002", None, None]]

    run_import(personas.district_officer, xlsx_bytes(rows), "a.xlsx")

    linked, waiting = (VenueStaff.objects.get(venue__name=name) for name in ("Quán Sơn",
                                                                            "Quán Mới"))
    assert (linked.user, linked.role) == (personas.venue_owner, StaffRole.OWNER)
    assert (waiting.user, waiting.role) == (None, StaffRole.OWNER)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("venues.xls", b"\xd0\xcf\x11\xe0", "unsupported_file"),
        ("venues.pdf", b"%PDF-1.4", "unsupported_file"),
        ("venues.xlsx", b"Ten,Loai\n", "invalid_file"),
        ("venues.xlsx", b"PK\x03\x04broken", "invalid_file"),
        ("venues.csv", b"", "empty_file"),
        ("venues.csv", "Tên địa điểm,Loại hình\nA,B\n".encode(), "missing_columns"),
        ("venues.csv", ",".join(HEADERS).encode() + b"\n", "no_rows"),
        ("venues.csv", b"\x00\x01\x02\xff\xfe\x00", "invalid_file"),
    ],
)
def test_a_file_that_is_not_a_venue_list_is_refused_whole(personas, name, content, code) -> None:
    with pytest.raises(ServiceError) as refused:
        run_import(personas.district_officer, content, name)
    assert refused.value.code == code
    assert Venue.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused_with_the_limit(personas, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    with pytest.raises(ServiceError) as refused:
        run_import(personas.district_officer, csv_bytes(venue_rows(200)), "a.csv")
    assert refused.value.code == "file_too_large"
    assert "tối đa 0" in str(refused.value.message)


def test_the_template_round_trips(client: Client, personas) -> None:
    """Download the template, fill two rows below the example, upload it."""
    login(client, personas.district_officer)
    template = client.get("/venues/import/template.xlsx")
    assert template.status_code == 200
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")

    workbook = load_workbook(io.BytesIO(template.content))
    assert workbook.sheetnames == ["Địa điểm", "Loại hình", "Mã xã", "Hướng dẫn"]
    sheet = workbook["Địa điểm"]
    assert [cell.value for cell in sheet[1]][:3] == ["Tên địa điểm *", "Loại hình *", "Mã xã *"]
    assert str(sheet["A2"].value).startswith("(Ví dụ)")
    communes = [row[0] for row in workbook["Mã xã"].iter_rows(min_row=2, values_only=True)]
    assert len(communes) == 13 and "01558" in communes
    types = [row[0] for row in workbook["Loại hình"].iter_rows(min_row=2, values_only=True)]
    sheet["A3"], sheet["B3"], sheet["C3"] = "Trường Mầm non Thanh Nhật", types[1], "01558"
    sheet["D3"], sheet["E3"] = "Tổ dân phố 3", "0970000001"
    sheet["A4"], sheet["B4"], sheet["C4"] = "Chợ Lý Vạn", types[3], communes[0]
    sheet["D4"], sheet["E4"], sheet["F4"], sheet["G4"] = "Bản Lý Vạn", "0970000002", 22.78, 106.8
    filled = io.BytesIO()
    workbook.save(filled)
    filled.seek(0)
    filled.name = "da-dien.xlsx"

    response = client.post("/venues/import/", {"file": filled})

    assert response.status_code == 200
    assert "đã nhập 2 địa điểm" in response.content.decode()
    assert set(Venue.objects.values_list("name", "venue_type")) == {
        ("Trường Mầm non Thanh Nhật", "school"), ("Chợ Lý Vạn", "market")}


def test_the_csv_template_round_trips(api, personas) -> None:
    caller = api(personas.district_officer)
    template = caller.get("/import/template.csv").content.decode("utf-8-sig")
    filled = template + "Bưu điện Thanh Nhật,Cơ quan nhà nước,01558,Tổ 1,0970000001,,\n"

    response = caller.upload("/import", "mau.csv", filled.encode("utf-8"))

    assert response.status_code == 201, response.content
    assert (response.json()["created"], response.json()["rows"]) == (1, 1)


def test_the_import_page_shows_the_report_and_offers_it_for_download(
    client: Client, personas
) -> None:
    login(client, personas.district_officer)
    upload = io.BytesIO(xlsx_bytes(spoil(venue_rows(50), SMALL)))
    upload.name = "dia-diem.xlsx"

    page = client.post("/venues/import/", {"file": upload})

    html = page.content.decode()
    assert page.status_code == 400
    assert "Có lỗi ở 3 dòng; chưa địa điểm nào được lưu." in html
    for row in ("11", "22", "45"):
        assert f"<td>{row}</td>" in html
    report = client.get("/venues/import/report.xlsx")
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[:2] for row in rows] == [("Dòng", "Cột"), (11, "SĐT liên hệ"),
                                         (22, "Loại hình"), (45, "Mã xã")]
    as_csv = client.get("/venues/import/report.csv").content.decode("utf-8-sig")
    # Strings are quoted (core.sheets), the row number is not.
    assert as_csv.splitlines()[1].startswith('11,"SĐT liên hệ",')
    assert Venue.objects.count() == 0


def test_the_api_answers_a_bad_file_in_the_error_shape_with_rows(api, personas) -> None:
    response = api(personas.district_officer).upload(
        "/import", "a.xlsx", xlsx_bytes(spoil(venue_rows(50), SMALL)))

    body = response.json()
    assert response.status_code == 400
    assert set(body) == {"ok", "status", "error", "code", "errors"}
    assert body["code"] == "import_invalid"
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (11, "SĐT liên hệ"), (22, "Loại hình"), (45, "Mã xã")]


def test_the_api_refuses_other_files_and_non_officers(api, personas) -> None:
    officer = api(personas.district_officer)
    wrong_type = officer.upload("/import", "a.txt", b"hello")
    owner = api(personas.venue_owner).upload("/import", "a.xlsx", xlsx_bytes(venue_rows(1)))

    assert (wrong_type.status_code, wrong_type.json()["code"]) == (400, "unsupported_file")
    assert owner.status_code == 403
    assert api(personas.venue_owner).get("/import/template.xlsx").status_code == 403
