"""Population per commune: loaded from .xlsx or .csv by officers for their
area, all or nothing, every import kept; read by the coverage pages."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from truyvet.core.errors import NotAllowed
from truyvet.places.models import Population, PopulationFigure, PopulationImport
from truyvet.places.population import population_import, population_of

pytestmark = pytest.mark.django_db


def csv(*rows: str, header: str = "Mã xã,Dân số,Dân số từ 18 tuổi") -> io.BytesIO:
    return io.BytesIO("\n".join([header, *rows]).encode("utf-8-sig"))


def test_an_officer_loads_figures_and_the_district_sums_its_communes(personas: Any) -> None:
    units = personas.units
    report = population_import(actor=personas.district_officer, filename="ha-lang.csv",
                               file=csv(f"{units.thanh_nhat.code},4200,3100",
                                        f"{units.an_lac.code},2500,1800"))
    assert report.ok and report.batch is not None and report.batch.communes == 2
    found = population_of([units.ha_lang, units.thanh_nhat, units.cao_bang])
    assert (found[units.ha_lang.pk].total, found[units.ha_lang.pk].adults) == (6700, 4900)
    assert found[units.thanh_nhat.pk].total == 4200 and found[units.cao_bang.pk].total == 6700


def test_a_later_import_replaces_the_figure_and_the_history_keeps_both(personas: Any) -> None:
    code = personas.units.thanh_nhat.code
    population_import(actor=None, filename="2019.csv", file=csv(f"{code},4000,2900"))
    population_import(actor=personas.commune_officer, filename="2021.csv",
                      file=csv(f"{code},4200,3100"))
    assert Population.objects.get(commune=personas.units.thanh_nhat).total == 4200
    assert PopulationImport.objects.count() == 2
    assert sorted(PopulationFigure.objects.values_list("total", flat=True)) == [4000, 4200]


def test_a_file_with_a_bad_row_loads_nothing_and_names_each_problem(personas: Any) -> None:
    units = personas.units
    report = population_import(
        actor=personas.district_officer, filename="x.xlsx.csv",
        file=csv(f"{units.thanh_nhat.code},4200,5000", "99999,10,5",
                 f"{units.quang_hoa_commune.code},100,90", f"{units.an_lac.code},abc,1"))
    assert not report.ok and not Population.objects.exists()
    assert {(issue.row, issue.code) for issue in report.errors} == {
        (2, "adults_over_total"), (3, "unknown_commune"), (4, "commune_out_of_scope"),
        (5, "invalid")}


def test_headers_may_be_written_differently_and_follow_title_rows(personas: Any) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["DÂN SỐ CÁC XÃ HUYỆN HẠ LANG NĂM 2021"])
    sheet.append(["Tên xã", "Ma xa", "Tong dan so", "Dan so tu 18 tuoi tro len"])
    sheet.append(["Thị trấn Thanh Nhật", personas.units.thanh_nhat.code, 4200, 3100])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    assert population_import(actor=personas.district_officer, file=buffer,
                             filename="dan-so.xlsx").ok


def test_only_officers_load_figures(personas: Any) -> None:
    for user in (personas.health_worker, personas.citizen, personas.venue_owner):
        with pytest.raises(NotAllowed):
            population_import(actor=user, file=csv(), filename="x.csv")


def test_the_page_loads_a_file_and_lists_the_figures(personas: Any) -> None:
    client = Client()
    client.force_login(personas.district_officer)
    upload = csv(f"{personas.units.an_lac.code},2500,1800")
    upload.name = "dan-so.csv"
    assert client.post("/places/population/", {"file": upload}).status_code == 302
    page = client.get("/places/population/").content.decode()
    # 2500 people, grouped the Vietnamese way (core.formats).
    assert "Xã An Lạc" in page and "2.500" in page and "dan-so.csv" in page


def test_the_command_loads_a_file(personas: Any, tmp_path: Any) -> None:
    source = tmp_path / "dan-so.csv"
    source.write_bytes(csv(f"{personas.units.an_lac.code},2500,1800").getvalue())
    out = io.StringIO()
    call_command("load_population", str(source), stdout=out)
    assert "Loaded 1 communes" in out.getvalue()
    source.write_bytes(csv("99999,1,1").getvalue())
    with pytest.raises(CommandError) as error:
        call_command("load_population", str(source), stdout=io.StringIO(),
                     stderr=io.StringIO())
    assert error.value.returncode == 1
