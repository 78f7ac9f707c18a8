"""Plausible late-2021 vaccination histories, for the demo, the benchmarks
and ``truyvet synth --doses N``.

A Cao Bằng resident's history as the campaign ran it (context/vietnam.md
§6): a few priority workers had AstraZeneca from March to June 2021 and a
Pfizer or Moderna booster six months later; most adults had a first dose
between August and November 2021 (AstraZeneca from COVAX, Vero Cell from
China, some Pfizer and Moderna) and the second after the product's interval
(AstraZeneca 8 to 12 weeks, Vero Cell and Pfizer 3 to 5, Moderna 4 to 6),
unless it fell after the end of the year; children of 12 to 17 had Pfizer
from November. Under-12s had nothing in 2021.

``list_rows`` turns such histories into the rows of a site's list (for the
import benchmark); ``doses_synth`` writes them straight into the dose table
for people already in the database (COPY on PostgreSQL), then rebuilds the
coverage rollups, as a bulk load must.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from django.db import connection, transaction
from django.utils import timezone

from truyvet.accounts.identity import cccd_century_digit
from truyvet.accounts.models import Person, Sex
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.vaccination.models import Dose, DoseKind, DoseSource
from truyvet.vaccination.rollups import coverage_rebuild
from truyvet.venues.models import Venue, VenueStatus, VenueType
from truyvet.venues.services import new_venue_codes

END_OF_2021 = date(2021, 12, 31)
# Adults' first products in late 2021 (weights).
_FIRST = (("astrazeneca", 45), ("vero_cell", 38), ("pfizer", 10), ("moderna", 7))
_SECOND_GAP = {"astrazeneca": (56, 84), "vero_cell": (21, 35), "pfizer": (21, 35),
               "moderna": (28, 42)}
_NAMES = {"astrazeneca": "AstraZeneca", "vero_cell": "Vero Cell", "pfizer": "Pfizer",
          "moderna": "Moderna"}
_SURNAMES = ("Hoàng", "Nông", "Nguyễn", "Lương", "Bế", "Triệu", "Đàm", "Lục", "Hà", "Lý",
             "Ma", "Trần", "Vi", "La", "Lăng", "Mông", "Chu")
_MALE = ("Văn Hùng", "Văn Dũng", "Văn Tuấn", "Đức Minh", "Văn Sơn", "Văn Hải", "Văn Cường",
         "Văn Thắng", "Văn Long", "Quang Bình", "Văn Tùng", "Văn Khánh", "Văn Nam", "Văn Trung")
_FEMALE = ("Thị Lan", "Thị Hoa", "Thị Mai", "Thị Hương", "Thị Hằng", "Thị Nhung", "Thu Trang",
           "Thị Thảo", "Thị Huyền", "Ngọc Ánh", "Thị Yến", "Thị Vân", "Thị Hạnh", "Thị Nga")
_PREFIXES = ("86", "96", "97", "98", "32", "33", "34", "35", "36", "37", "38", "39", "91",
             "94", "88", "83", "84", "85", "81", "82")


@dataclass(frozen=True)
class Planned:
    number: int
    kind: str
    product: str
    given_on: date


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def history(rng: random.Random, *, age: int, until: date = END_OF_2021) -> list[Planned]:
    """The doses a person of ``age`` (in 2021) had by ``until``."""
    if age < 12:
        return []
    if age < 18:
        if rng.random() > 0.8:
            return []
        first = _day(rng, date(2021, 11, 10), date(2021, 12, 10))
        doses = [Planned(1, DoseKind.PRIMARY, "pfizer", first)]
        second = first + timedelta(days=rng.randint(21, 28))
        if second <= until and rng.random() < 0.9:
            doses.append(Planned(2, DoseKind.PRIMARY, "pfizer", second))
        return doses
    if rng.random() < 0.03:  # priority workers, spring 2021
        first = _day(rng, date(2021, 3, 8), date(2021, 4, 30))
        second = first + timedelta(days=rng.randint(56, 84))
        doses = [Planned(1, DoseKind.PRIMARY, "astrazeneca", first),
                 Planned(2, DoseKind.PRIMARY, "astrazeneca", second)]
        booster = second + timedelta(days=rng.randint(180, 200))
        if booster <= until:
            doses.append(Planned(3, DoseKind.BOOSTER, rng.choice(("pfizer", "moderna")),
                                 booster))
        return doses
    if rng.random() > 0.88:
        return []
    product = rng.choices([p for p, _w in _FIRST], weights=[w for _p, w in _FIRST])[0]
    # Later months had more vaccine: October and November were the peak.
    first = rng.choice((_day(rng, date(2021, 8, 1), date(2021, 9, 15)),
                        _day(rng, date(2021, 9, 16), date(2021, 11, 30)),
                        _day(rng, date(2021, 10, 1), date(2021, 11, 30))))
    doses = [Planned(1, DoseKind.PRIMARY, product, first)]
    low, high = _SECOND_GAP[product]
    second = first + timedelta(days=rng.randint(low, high))
    if second <= until and rng.random() < 0.93:
        doses.append(Planned(2, DoseKind.PRIMARY, product, second))
    return doses


def _lot(rng: random.Random, product: str) -> str:
    prefix = {"astrazeneca": "AB", "vero_cell": "2021", "pfizer": "FF", "moderna": "30"}
    return f"{prefix.get(product, 'L')}{rng.randrange(1000, 9999)}"


# --- A site's list, for the import benchmark ------------------------------------------------

LIST_HEADERS = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số điện thoại",
                "Số CMND/CCCD", "Số thẻ BHYT", "Tỉnh", "Huyện", "Xã", "Tên vắc xin", "Số lô",
                "Ngày tiêm", "Mũi tiêm", "Cơ sở tiêm"]


def list_rows(count: int, *, seed: int = 2021, communes: Sequence[str] = ("Thanh Nhật",),
              province: str = "Cao Bằng", district: str = "Hạ Lang",
              site: str = "TTYT huyện Hạ Lang") -> Iterator[list[Any]]:
    """``count`` rows of a site's list: people (adults, every one with a
    valid CCCD and a phone) with their doses of late 2021, one row a dose,
    person after person. Deterministic for a seed."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, reproducible by seed
    written = 0
    serial = 0
    while written < count:
        serial += 1
        male = rng.random() < 0.5
        year = rng.randint(1950, 2003)
        birth = date(year, rng.randint(1, 12), rng.randint(1, 28))
        sex = Sex.MALE if male else Sex.FEMALE
        digit = cccd_century_digit(birth_year=year, sex=sex)
        # Unique per row stream: the serial number makes the last six digits.
        number = f"004{digit}{year % 100:02d}{(seed * 7919 + serial) % 1_000_000:06d}"
        phone = f"0{rng.choice(_PREFIXES)}{rng.randrange(10_000_000):07d}"
        name = f"{rng.choice(_SURNAMES)} {rng.choice(_MALE if male else _FEMALE)}"
        doses = history(rng, age=2021 - year) or [
            Planned(1, DoseKind.PRIMARY, "vero_cell", _day(rng, date(2021, 9, 1),
                                                           date(2021, 11, 30)))]
        commune = rng.choice(communes)
        for dose in doses:
            if written >= count:
                return
            written += 1
            yield [written, name, birth, "Nam" if male else "Nữ", phone, number, "",
                   province, district, commune, _NAMES.get(dose.product, dose.product),
                   _lot(rng, dose.product), dose.given_on,
                   "Nhắc lại" if dose.kind == DoseKind.BOOSTER else dose.number, site]


def list_xlsx(path: Path, count: int, *, seed: int = 2021,
              spoil: dict[int, tuple[int, Any]] | None = None, **where: Any) -> Path:
    """Writes ``list_rows`` as a site's .xlsx (a title, a blank row, the
    header, the rows), streaming. ``spoil`` maps a data row (1-based) to
    (column index, bad value) to plant bad cells."""
    from openpyxl import Workbook

    spoil = spoil or {}
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Danh sách")
    sheet.append(["DANH SÁCH ĐỐI TƯỢNG TIÊM VẮC XIN PHÒNG COVID-19"])
    sheet.append([])
    sheet.append(LIST_HEADERS)
    for index, values in enumerate(list_rows(count, seed=seed, **where), start=1):
        if index in spoil:
            column, value = spoil[index]
            values[column] = value
        sheet.append(values)
    book.save(path)
    _add_dimension(path, f"A1:{chr(64 + len(LIST_HEADERS))}{count + 3}")
    return path


def _add_dimension(path: Path, reference: str) -> None:
    """Writes the sheet's ``<dimension>`` as Excel does (openpyxl's
    write-only mode leaves it out, which makes a reader scan the whole sheet
    once more just to size it)."""
    import zipfile

    name = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            if info.filename == name and b"<dimension" not in data:
                data = data.replace(b"<sheetViews>", f'<dimension ref="{reference}"/>'
                                    .encode() + b"<sheetViews>", 1)
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


# --- Straight into the database ---------------------------------------------------------------


def _sites_for(area: AdministrativeUnit) -> dict[int, int]:
    """One vaccination site per district of the area (its health centre),
    created when missing; district id -> venue id."""
    districts = list(AdministrativeUnit.objects.filter(
        path__startswith=area.path, level=Level.DISTRICT).order_by("path"))
    if area.level == Level.DISTRICT:
        districts = [area]
    found: dict[int, int] = {}
    for district in districts:
        existing = Venue.objects.filter(venue_type=VenueType.VACCINATION,
                                        commune__parent=district).order_by("pk").first()
        if existing is not None:
            found[district.pk] = existing.pk
    missing = [d for d in districts if d.pk not in found]
    for district, code in zip(missing, new_venue_codes(len(missing)), strict=True):
        seat = district.children.order_by("code").first()
        if seat is None:
            continue
        venue = Venue.objects.create(
            code=code, name=f"Trung tâm Y tế {district.name}",
            venue_type=VenueType.VACCINATION, commune=seat, street="Trung tâm huyện",
            contact_phone="0912000999", status=VenueStatus.ACTIVE)
        found[district.pk] = venue.pk
    return found


@dataclass
class DosesResult:
    people: int = 0
    doses: int = 0
    seconds: float = 0.0


def doses_synth(*, area: AdministrativeUnit, doses: int, seed: int = 2021,
                stream: TextIO | None = None,
                sites_by_commune: dict[int, int] | None = None) -> DosesResult:
    """Adds about ``doses`` dose records for residents of ``area`` who have
    none yet, with the late-2021 histories of ``history``, then rebuilds the
    coverage rollups. Residents come from ``truyvet synth`` (or the demo);
    run that first with enough people (about two doses per adult). Doses
    are given at ``sites_by_commune`` (commune id -> site id; 0 for the
    rest), else at each district's health centre (created when missing)."""
    import time

    started = time.perf_counter()
    sites = {} if sites_by_commune else _sites_for(area)
    by_commune = sites_by_commune or {}
    rng = random.Random(f"{seed}:doses:{area.path}")  # noqa: S311 - made-up data
    people = (Person.objects.filter(commune__path__startswith=area.path, doses__isnull=True)
              .order_by("pk").values_list("pk", "birth_year", "commune_id",
                                          "commune__parent_id"))
    result = DosesResult()
    batch: list[tuple[int, int, str, str, date, int, str]] = []
    now = timezone.now()
    for person_id, year, commune, district in people.iterator(chunk_size=10_000):
        if result.doses >= doses:
            break
        age = 2021 - (year or 1985)
        planned = history(rng, age=age)
        if not planned:
            continue
        result.people += 1
        site = (by_commune.get(commune or 0) or by_commune.get(0, 0) if by_commune
                else sites.get(district or 0) or next(iter(sites.values())))
        for dose in planned:
            batch.append((person_id, dose.number, dose.kind, dose.product, dose.given_on, site,
                          _lot(rng, dose.product)))
        result.doses += len(planned)
        if len(batch) >= 50_000:
            _write(batch, now)
            batch = []
            if stream is not None:
                stream.write(f"doses    {result.doses:,}/{doses:,}\n")
                stream.flush()
    _write(batch, now)
    if stream is not None:
        stream.write("rebuilding the coverage rollups ...\n")
        stream.flush()
    if connection.vendor == "postgresql":
        # Statistics from before the load make the planner scan the whole
        # dose table for each chunk of people the rebuild reads: measured at
        # 8.7 M doses, about 1,000 people/s instead of a minute or two.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE vaccination_dose")
    coverage_rebuild()
    result.seconds = time.perf_counter() - started
    return result


def _write(rows: list[tuple[int, int, str, str, date, int, str]], now: Any) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(Dose._meta.db_table)
    columns = ("person_id", "dose_number", "kind", "vaccine_id", "given_on", "site_id",
               "lot_number", "site_name", "source", "recorded_at", "warnings",
               "deviation_reason", "updated_at")
    quoted = ", ".join(connection.ops.quote_name(name) for name in columns)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            for person, number, kind, product, day, site, lot in rows:
                buffer.write(f"{person}\t{number}\t{kind}\t{product}\t{day.isoformat()}\t{site}"
                             f"\t{lot}\t\t{DoseSource.IMPORTED}\t{stamp}\t\t\t{stamp}\n")
            with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({quoted}) VALUES ({marks})",  # noqa: S608 - names from the models, values bound
                [(person, number, kind, product, day.isoformat(), site, lot, "",
                  DoseSource.IMPORTED, stamp, "", "", stamp)
                 for person, number, kind, product, day, site, lot in rows])
