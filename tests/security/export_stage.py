"""A stage for attacks through exports: two venues and three people whose
names anyone could have typed, and every PDF, XLSX and CSV file the product
makes, fetched over HTTP as each one's user would.

- ``idle``: a venue of Thị trấn Thanh Nhật without a scan, so it is listed
  (name, street, owner's name) in the inactive-venue tables of the
  commune, district and province reports;
- ``visited``: a venue the patient and a guest went to, so it is in the
  case timeline, the visitor log and the posters;
- ``patient``: a person without an account or a phone (a QR card is printed
  for them), with a confirmed case;
- the owner of both venues is the venue-owner persona;
- the guest checked in at ``visited`` through the guest form.

``rename`` writes names straight to the database, as values stored before
today's input rules would be, so that exports can be tried with characters
the services now refuse.
"""

from __future__ import annotations

import csv
import io
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from truyvet.testing import ApiClient

PDFTOTEXT = "/usr/bin/pdftotext"  # poppler-utils, as tests of the posters use it
XLSX = "xlsx"
CSV = "csv"
PDF = "pdf"


@dataclass
class Stage:
    personas: Any
    idle: Any
    visited: Any
    patient: Any
    guest: Any
    case: Any


@dataclass(frozen=True)
class Export:
    """One downloaded file: where it came from, its kind and its bytes."""

    label: str
    kind: str
    content: bytes


def build_stage(personas: Any, *, venue_name: str = "Quán Cơm Bình Dân",
                person_name: str = "Nguyễn Văn An", street: str = "Số 1 Phố Thanh Nhật",
                ) -> Stage:
    """The stage, built through the real services with names the services
    accept."""
    from truyvet.accounts.services import PersonInput, person_create
    from truyvet.checkins.services import checkin_guest, checkin_record
    from truyvet.tracing.services import CaseInput, case_register, trace_run
    from truyvet.venues.services import venue_register

    units = personas.units

    def venue(name: str) -> Any:
        return venue_register(
            actor=personas.district_officer, name=name, venue_type="restaurant",
            commune=units.thanh_nhat, street=street, contact_phone=personas.venue_owner.phone,
        )

    idle, visited = venue(venue_name), venue(venue_name + " 2")
    patient = person_create(data=PersonInput(full_name=person_name, commune=units.thanh_nhat))
    arrived = timezone.now() - timedelta(days=1)
    checkin_record(venue=visited, person=patient, arrived_at=arrived, method="manual")
    guest = checkin_guest(
        venue=visited, full_name=person_name, phone="0987654321",
        arrived_at=arrived + timedelta(minutes=5),
    ).checkin.person
    case = case_register(
        actor=personas.district_officer, person=patient,
        data=CaseInput(classification="confirmed", test_date=timezone.localdate(),
                       test_type="pcr"),
    )
    trace_run(actor=personas.district_officer, case=case)
    from truyvet.reports.rollups import rollups_fold

    rollups_fold()  # the worker's: reports count the visits (decision 0022)
    return Stage(personas=personas, idle=idle, visited=visited, patient=patient, guest=guest,
                 case=case)


def storable(text: str, limit: int) -> str:
    """``text`` as a database could have kept it: PostgreSQL refuses NUL in
    text (SQLite keeps it), and columns have a length."""
    if connection.vendor == "postgresql":
        text = text.replace("\x00", "")
    return text[:limit]


def rename(stage: Stage, *, venue_name: str, person_name: str, street: str) -> None:
    """Stores the names as they are, past every service (see the module)."""
    from truyvet.accounts.models import Person
    from truyvet.venues.models import Venue

    Venue.objects.filter(pk__in=[stage.idle.pk, stage.visited.pk]).update(
        name=storable(venue_name, 200), street=storable(street, 200))
    Person.objects.filter(
        pk__in=[stage.patient.pk, stage.guest.pk, stage.personas.venue_owner.person_id]
    ).update(full_name=storable(person_name, 120))


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _ok(response: Any, label: str) -> bytes:
    assert response.status_code == 200, f"{label}: {response.status_code}"
    return b"".join(response.streaming_content) if response.streaming else response.content


def import_report_row(value: str, commune_code: str) -> bytes:
    """An import file whose one row has ``value`` as its venue type: the
    error report repeats it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Tên địa điểm", "Loại hình", "Mã xã", "Địa chỉ (số nhà/thôn)",
                     "SĐT liên hệ"])
    writer.writerow(["Quán A", value, commune_code, "Tổ 1", "0912345678"])
    return buffer.getvalue().encode("utf-8")


def every_export(stage: Stage, *, import_value: str = "", scopes: tuple[str, ...] = (
        "commune", "district", "province"), tables: tuple[str, ...] | None = None,
        api_too: bool = True) -> list[Export]:
    """Every PDF, XLSX and CSV file of the product, downloaded over HTTP:
    the reports of each of ``scopes`` (their CSV for each of ``tables``, all
    by default) and, with ``api_too``, the same files from the API as well.
    Each answer must be a 200 (a 500 fails here)."""
    personas, units = stage.personas, stage.personas.units
    exports: list[Export] = []

    def add(label: str, kind: str, response: Any) -> None:
        exports.append(Export(label, kind, _ok(response, label)))

    # Reports: the dashboard's files, for each level of officer.
    officers = {"commune": (personas.commune_officer, units.thanh_nhat),
                "district": (personas.district_officer, units.ha_lang),
                "province": (personas.province_officer, units.cao_bang)}
    from truyvet.reports.exports import TABLES

    for level in scopes:
        officer, unit = officers[level]
        client = _client(officer)
        base = f"/reports/{unit.pk}/export"
        add(f"report {level} xlsx", XLSX, client.get(f"{base}.xlsx"))
        add(f"report {level} pdf", PDF, client.get(f"{base}.pdf"))
        for table in tables or TABLES:
            add(f"report {level} csv {table}", CSV, client.get(f"{base}.csv", {"table": table}))
    api = ApiClient(personas.district_officer)
    if api_too:
        add("report api xlsx", XLSX, api.get(f"/reports/{units.ha_lang.pk}/export.xlsx"))

    # Tracing: the case timeline, as a page's download and from the API.
    officer = _client(personas.district_officer)
    for fmt in (PDF, XLSX):
        add(f"timeline {fmt}", fmt,
            officer.get(f"/tracing/cases/{stage.case.pk}/timeline.{fmt}"))
        if api_too:
            add(f"timeline api {fmt}", fmt,
                api.get(f"/tracing/cases/{stage.case.pk}/timeline.{fmt}"))

    # Venues: the owner's visitor log, posters, the import template and report.
    owner = _client(personas.venue_owner)
    code = stage.visited.code
    for fmt in (CSV, XLSX):
        add(f"visitor log {fmt}", fmt, owner.get(f"/venues/{code}/visitors.{fmt}"))
        if api_too:
            add(f"visitor log api {fmt}", fmt,
                ApiClient(personas.venue_owner).get(f"/venues/{code}/visitors.{fmt}"))
    add("poster", PDF, owner.get(f"/venues/{code}/poster.pdf"))
    if api_too:
        add("poster api", PDF,
            ApiClient(personas.venue_owner).get(f"/venues/{code}/poster.pdf"))
    add("posters of a commune", PDF,
        officer.get("/venues/posters/", {"unit": units.thanh_nhat.code}))
    for fmt in (XLSX, CSV):
        add(f"import template {fmt}", fmt, officer.get(f"/venues/import/template.{fmt}"))
    upload = io.BytesIO(import_report_row(import_value or "không rõ", units.thanh_nhat.code))
    upload.name = "dia-diem.csv"
    officer.post("/venues/import/", {"file": upload})
    for fmt in (XLSX, CSV):
        add(f"import report {fmt}", fmt, officer.get(f"/venues/import/report.{fmt}"))

    # Check-ins: the personal QR card an official prints for the patient.
    add("personal QR card", PDF, officer.post(
        f"/checkins/cards/{stage.patient.pk}/", {"purpose": "Người không có điện thoại"}))
    return exports


# --- Reading the files back ------------------------------------------------------------


def pdf_text(content: bytes) -> str:
    """The text of a PDF in drawing order (``pdftotext -raw``), so a wrapped
    table cell's lines stay together."""
    assert content.startswith(b"%PDF"), "not a PDF"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.pdf"
        path.write_bytes(content)
        done = subprocess.run(  # noqa: S603 - a fixed program on a file we wrote
            [PDFTOTEXT, "-raw", "-enc", "UTF-8", str(path), "-"],
            capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")


def xlsx_cells(content: bytes) -> list[Any]:
    """Every cell of every sheet of a workbook (it must open)."""
    book = load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode()), "no byte-order mark"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
