"""Importing a site's list: headers as sites write them, all or nothing with
an error report naming each bad cell, idempotent, people matched by CCCD
then phone, name and birth date, and bad files refused with a message."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from truyvet.accounts.models import Person, User
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.vaccination.importing import error_file_path, import_run, import_start
from truyvet.vaccination.models import Dose, DoseImport, DoseImportRow, DoseSource, ImportStatus
from truyvet.vaccination.people import identity_clean, person_for_dose
from truyvet.vaccination.tests.conftest import HEADERS, row, workbook

pytestmark = pytest.mark.django_db


def run(personas: Any, site: Any, content: bytes, name: str = "danh-sach.xlsx") -> DoseImport:
    batch = import_start(actor=personas.venue_owner, site=site, upload=io.BytesIO(content),
                         filename=name)
    return import_run(batch_id=batch.pk)


def three_people() -> list[list[Any]]:
    return [
        row(1, "Nông Văn Thắng", date(1980, 3, 2), phone="0912600001",
            id_number="004080123456", vaccine="Astra", given=date(2021, 8, 2), dose=1),
        row(2, "Nông Văn Thắng", "02/03/1980", phone="0912600001", id_number="004080123456",
            vaccine="AZ", given="25/10/2021", dose="Mũi 2"),
        row(3, "Lục Thị Hiền", "1995", sex="Nữ", phone="0912600002", vaccine="Vero cell",
            given="04/10/2021", dose="1"),
        row(4, "Bế Văn Tùng", "15/07/2001", phone="0912600003", vaccine="Pfizer",
            given=date(2021, 11, 2), dose=""),
    ]


def test_a_list_with_title_rows_imports_every_dose_and_creates_people_without_a_login(
        personas: Any, sites: Any) -> None:
    batch = run(personas, sites.centre, workbook(three_people()))
    assert batch.status == ImportStatus.DONE, batch.error_message
    assert (batch.imported, batch.skipped, batch.rejected, batch.people_created) == (4, 0, 0, 3)
    thang = Person.objects.get(id_number="004080123456")
    assert list(thang.doses.values_list("dose_number", "vaccine_id", "given_on")) == [
        (1, "astrazeneca", date(2021, 8, 2)), (2, "astrazeneca", date(2021, 10, 25))]
    assert thang.commune == personas.units.thanh_nhat and thang.phone == "+84912600001"
    hien = Person.objects.get(phone="+84912600002")
    assert hien.birth_year == 1995 and hien.birth_date is None and hien.sex == "female"
    assert not User.objects.filter(person__in=[thang, hien]).exists()
    assert set(Dose.objects.values_list("source", flat=True)) == {DoseSource.IMPORTED}
    assert set(Dose.objects.values_list("site", flat=True)) == {sites.centre.pk}
    assert not DoseImportRow.objects.exists()


def test_importing_the_same_file_twice_adds_nothing(personas: Any, sites: Any) -> None:
    content = workbook(three_people())
    run(personas, sites.centre, content)
    again = run(personas, sites.centre, content)
    assert (again.status, again.imported, again.skipped, again.rejected) == (
        ImportStatus.DONE, 0, 4, 0)
    assert Dose.objects.count() == 4
    assert Person.objects.filter(phone__startswith="+849126").count() == 3


def test_headers_match_without_diacritics_in_any_order_with_synonyms(
        personas: Any, sites: Any) -> None:
    headers = ["Ngay tiem", "Vac xin", "HO TEN", "SDT", "nam sinh", "CCCD", "Mui", "So lo"]
    rows = [[date(2021, 10, 1), "Pfizer", "Hà Thị Vân", "0912600010", "1988",
             "", "1", "FF1234"]]
    batch = run(personas, sites.centre, workbook(rows, headers=headers, titles=[]))
    assert batch.status == ImportStatus.DONE and batch.imported == 1
    assert Dose.objects.get().lot_number == "FF1234"


def test_a_csv_list_in_windows_1258_imports_too(personas: Any, sites: Any) -> None:
    text = "Họ và tên;Ngày sinh;Số điện thoại;Tên vắc xin;Ngày tiêm;Mũi tiêm\n" \
           "Hà Thị Vân;1988;0912600010;Sinopharm (Vero Cell);01/10/2021;1\n"
    batch = run(personas, sites.centre, text.encode("utf-8-sig"), "danh-sach.csv")
    assert batch.status == ImportStatus.DONE and Dose.objects.get().vaccine_id == "vero_cell"


def test_a_file_with_bad_rows_imports_nothing_and_the_report_names_each_bad_cell(
        personas: Any, sites: Any) -> None:
    rows = three_people()
    rows[1][12] = "25/10/2031"  # row 5 of the sheet: a date in the future
    rows[2][10] = "Vắc xin lạ"  # row 6: an unknown vaccine
    rows[3][4] = "12345"  # row 7: not a phone number
    batch = run(personas, sites.centre, workbook(rows))
    assert batch.status == ImportStatus.REJECTED
    assert (batch.imported, batch.rejected) == (0, 3)
    assert not Dose.objects.exists() and not Person.objects.filter(phone__startswith="+849126")
    report = load_workbook(error_file_path(batch), read_only=True)
    sheet = list(report.worksheets[0].iter_rows(values_only=True))
    assert sheet[2][:3] == ("STT", "Họ và tên", "Ngày sinh") and sheet[2][-1] == "Lỗi"
    column = sheet[2].index("Lỗi")
    errors = {number: values[column] for number, values in enumerate(sheet, start=1)
              if number > 3 and len(values) > column and values[column]}
    assert set(errors) == {5, 6, 7}, errors
    assert errors[5].startswith("Ngày tiêm (cột M)") and "tương lai" in errors[5]
    assert errors[6].startswith("Tên vắc xin (cột K)") and "Vắc xin lạ" in errors[6]
    assert errors[7].startswith("Số điện thoại (cột E)")
    assert sheet[3][1] == "Nông Văn Thắng"  # the rows are the file's rows


def test_a_row_matching_two_records_is_reported_never_merged(personas: Any, sites: Any) -> None:
    for _copy in range(2):
        Person.objects.create(full_name="Lục Thị Hiền", birth_year=1995, phone="+84912600002")
    batch = run(personas, sites.centre, workbook(three_people()[2:3]))
    assert batch.status == ImportStatus.REJECTED
    assert "2 người trùng" in batch.error_sample[0][1][0][1] or any(
        code == "ambiguous_person" for _c, code, _p in batch.error_sample[0][1])


def test_a_cccd_held_by_someone_else_is_reported(personas: Any, sites: Any) -> None:
    rows = [row(1, "Người Khác", "17/05/1990", sex="Nữ", id_number="004190123456",
                vaccine="Pfizer", given="01/10/2021")]
    batch = run(personas, sites.centre, workbook(rows))
    assert batch.status == ImportStatus.REJECTED
    assert [code for _c, code, _p in batch.error_sample[0][1]] == ["id_conflict"]


def test_people_are_matched_by_cccd_then_by_phone_name_and_birth_date(
        personas: Any, sites: Any) -> None:
    hoa = personas.citizen.person  # CCCD 004190123456, born 17/05/1990
    known = person_for_dose(identity=identity_clean(
        full_name="Lục Thị Hiền", birth="1995", sex="Nữ", phone="0912600002")[0])
    rows = [row(1, "NGUYEN THI HOA", "17/05/1990", sex="Nữ", id_number="004190123456",
                vaccine="Pfizer", given="01/10/2021"),
            row(2, "Lục Thị Hiền", "1995", sex="Nữ", phone="0912 600 002", vaccine="Vero Cell",
                given="02/10/2021")]
    batch = run(personas, sites.centre, workbook(rows))
    assert batch.status == ImportStatus.DONE and batch.people_created == 0
    assert Dose.objects.get(vaccine_id="pfizer").person == hoa
    assert Dose.objects.get(vaccine_id="vero_cell").person == known


def test_a_deviation_needs_a_reason_in_the_notes_column(personas: Any, sites: Any) -> None:
    headers = [*HEADERS, "Ghi chú"]
    rows = [row(1, "Bế Văn Tùng", "15/07/2001", phone="0912600003", vaccine="AZ",
                given="01/10/2021", dose=1),
            row(2, "Bế Văn Tùng", "15/07/2001", phone="0912600003", vaccine="AZ",
                given="10/10/2021", dose=2)]
    rejected = run(personas, sites.centre, workbook(rows, headers=headers))
    assert rejected.status == ImportStatus.REJECTED
    assert {code for _c, code, _p in rejected.error_sample[0][1]} == {
        "short_interval", "reason_required"}
    rows[1].append("Tiêm sớm theo chỉ định")
    done = run(personas, sites.centre, workbook(rows, headers=headers))
    assert done.status == ImportStatus.DONE
    assert Dose.objects.get(dose_number=2).deviation_reason == "Tiêm sớm theo chỉ định"


# --- Bad files -----------------------------------------------------------------------------------


def refused(personas: Any, sites: Any, content: bytes, name: str) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        import_start(actor=personas.venue_owner, site=sites.centre,
                     upload=io.BytesIO(content), filename=name)
    assert not DoseImport.objects.exists()
    return error.value


def test_a_pdf_renamed_xlsx_is_refused_saying_what_it_is(personas: Any, sites: Any) -> None:
    error = refused(personas, sites, b"%PDF-1.7\n...", "danh-sach.xlsx")
    assert error.code == "unsupported_file" and "PDF" in str(error.message)


def test_a_zip_bomb_renamed_xlsx_is_refused_unread(personas: Any, sites: Any) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (1100 * 1024 * 1024))
    error = refused(personas, sites, bomb.getvalue(), "danh-sach.xlsx")
    assert error.code == "zip_bomb" and "zip bomb" in str(error.message)


def test_a_polyglot_that_hides_a_workbook_behind_a_pdf_or_a_photo_is_refused(
        personas: Any, sites: Any) -> None:
    """A file that is a PDF (or a JPEG) at the front and a zip at the back
    opens in both programs; it is refused as what it starts as."""
    archive = workbook(three_people())
    for head, kind in ((b"%PDF-1.7\n%\xe2\xe3\n", "PDF"), (b"\xff\xd8\xff\xe0JFIF", "JPEG")):
        error = refused(personas, sites, head + archive, "danh-sach.xlsx")
        assert error.code == "unsupported_file" and kind in str(error.message)
    # A zip whose data is shifted (something glued in front) is no workbook.
    error = refused(personas, sites, b"GARBAGE" + archive, "danh-sach.xlsx")
    assert error.code == "invalid_file"


def test_a_list_longer_than_the_limit_fails_with_its_message(personas: Any, sites: Any) -> None:
    rows = [row(n, f"Người Thứ {n}", "1980", phone=f"09126{n:05d}", vaccine="Pfizer",
                given="01/10/2021") for n in range(1, 13)]
    with override_settings(VACCINATION_IMPORT_MAX_ROWS=10):
        batch = run(personas, sites.centre, workbook(rows))
    assert batch.status == ImportStatus.FAILED and batch.error_code == "too_many_rows"
    assert "10" in batch.error_message and not Dose.objects.exists()


def test_a_zip_that_is_not_a_workbook_is_refused(personas: Any, sites: Any) -> None:
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/document.xml", b"<w/>")
    assert refused(personas, sites, other.getvalue(), "danh-sach.xlsx").code == "invalid_file"


def test_a_file_too_large_is_refused(personas: Any, sites: Any) -> None:
    with override_settings(VACCINATION_IMPORT_MAX_BYTES=64 * 1024):
        error = refused(personas, sites, b"a;b\n" * 40_000, "danh-sach.csv")
    assert error.code == "file_too_large"


def test_a_list_without_the_needed_columns_is_refused(personas: Any, sites: Any) -> None:
    error = refused(personas, sites, workbook([], headers=["STT", "Họ và tên", "Ngày sinh"]),
                    "danh-sach.xlsx")
    assert error.code == "missing_columns" and "Tên vắc xin" in str(error.message)


def test_only_the_sites_managers_and_health_workers_import(personas: Any, sites: Any) -> None:
    for outsider in (personas.controller, personas.commune_officer, personas.neighbour_officer):
        with pytest.raises(NotAllowed):
            import_start(actor=outsider, site=sites.centre, upload=io.BytesIO(b""),
                         filename="x.xlsx")


# --- The command line ---------------------------------------------------------------------


def test_the_command_imports_and_its_last_line_gives_the_counts(
        personas: Any, sites: Any, tmp_path: Any) -> None:
    from django.core.management import call_command

    source = tmp_path / "danh-sach.xlsx"
    source.write_bytes(workbook(three_people()))
    out, err = io.StringIO(), io.StringIO()
    call_command("vaccination", "import", str(source), "--site", sites.centre.code,
                 stdout=out, stderr=err)
    assert out.getvalue().strip().splitlines()[-1] == (
        "Imported 4 rows, skipped 0 already present, rejected 0.")
    assert "reading" in err.getvalue() and "saving" in err.getvalue()
    out = io.StringIO()
    call_command("vaccination", "import", str(source), "--site", sites.centre.code,
                 stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip().splitlines()[-1] == (
        "Imported 0 rows, skipped 4 already present, rejected 0.")


def test_the_command_exits_1_with_the_error_file_when_rows_are_bad(
        personas: Any, sites: Any, tmp_path: Any) -> None:
    from django.core.management import call_command

    rows = three_people()
    rows[0][12] = "31/02/2021"
    source, report = tmp_path / "danh-sach.xlsx", tmp_path / "loi.xlsx"
    source.write_bytes(workbook(rows))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("vaccination", "import", str(source), "--site", sites.centre.code,
                     "--errors", str(report), stdout=out, stderr=io.StringIO())
    assert exit_status.value.code == 1
    assert out.getvalue().strip().splitlines()[-1] == (
        "Imported 0 rows, skipped 0 already present, rejected 1.")
    assert report.exists() and not Dose.objects.exists()


def test_the_command_exits_2_on_a_usage_error(personas: Any, sites: Any, tmp_path: Any) -> None:
    from django.core.management import CommandError, call_command

    source = tmp_path / "danh-sach.xlsx"
    source.write_bytes(workbook(three_people()))
    for arguments in ([str(source), "--site", "NOSUCH"], [str(tmp_path / "missing.xlsx"),
                                                          "--site", sites.centre.code]):
        with pytest.raises(CommandError) as error:
            call_command("vaccination", "import", *arguments, stdout=io.StringIO())
        assert error.value.returncode == 2


def test_the_installed_command_exits_2_without_its_arguments() -> None:
    import subprocess
    import sys
    from pathlib import Path

    truyvet = Path(sys.executable).with_name("truyvet")
    done = subprocess.run([str(truyvet), "vaccination", "import"], capture_output=True,  # noqa: S603
                          text=True, timeout=120, check=False)
    assert done.returncode == 2 and "--site" in done.stderr


def test_control_and_bidi_characters_in_a_list_are_bad_cells_and_nothing_is_imported(
        personas: Any, sites: Any) -> None:
    """A name that reverses the text after it (U+202E) or a lot number with a
    bell character would be stored and shown as is: each is a bad cell."""
    rows = three_people()
    rows[0][1] = "Nông Văn \u202eThắng"  # row 4: a bidi override in the name
    rows[2][11] = "NT\u009b0021"  # row 6: a C1 control (CSI) in the lot number
    batch = run(personas, sites.centre, workbook(rows))
    assert batch.status == ImportStatus.REJECTED
    assert (batch.imported, batch.rejected) == (0, 2)
    assert not Dose.objects.exists()
    report = load_workbook(error_file_path(batch), read_only=True)
    sheet = list(report.worksheets[0].iter_rows(values_only=True))
    column = sheet[2].index("Lỗi")
    errors = {number: values[column] for number, values in enumerate(sheet, start=1)
              if number > 3 and len(values) > column and values[column]}
    assert set(errors) == {4, 6}, errors
    assert errors[4].startswith("Họ và tên (cột B)") and "ký tự điều khiển" in errors[4]
    assert errors[6].startswith("Số lô (cột L)") and "ký tự điều khiển" in errors[6]


def test_a_csv_list_with_a_control_character_in_a_name_is_refused(
        personas: Any, sites: Any) -> None:
    text = "Họ và tên;Ngày sinh;Số điện thoại;Tên vắc xin;Ngày tiêm;Mũi tiêm\n" \
           "Hà Thị\x07 Vân;1988;0912600010;Pfizer;01/10/2021;1\n"
    batch = run(personas, sites.centre, text.encode("utf-8"), "danh-sach.csv")
    assert batch.status == ImportStatus.REJECTED and batch.rejected == 1
    assert not Person.objects.filter(phone="+84912600010").exists()
