"""The import of a vaccination site's list (.xlsx or .csv), all or nothing.

The columns sites keep (STT, Họ và tên, Ngày sinh, Giới tính, Số điện
thoại, Số CMND/CCCD, Số thẻ BHYT, Tỉnh, Huyện, Xã or one Địa chỉ, Tên vắc
xin, Số lô, Ngày tiêm, Mũi tiêm, Cơ sở tiêm, Ghi chú) are found with or
without diacritics, in any order, under common synonyms, below a few title
rows (``ALIASES``). The site is the one the import was started for; the
"Cơ sở tiêm" column is read but not used, and the BHYT number is not kept
(least data).

It runs in phases, each with bounded memory whatever the size of the file
(docs/decisions/0011):

1. **read**: the rows are streamed from the file (openpyxl read-only) into
   a staging table (``DoseImportRow``) in chunks, each chunk its own short
   transaction, with every cell checked on its own (dates, names, numbers,
   the vaccine's name as people write it);
2. **match**: for each distinct person of the file (by CCCD, else by phone,
   name and birth date), in chunks of keys: a known person, a new one, or a
   conflict reported on every row of that person;
3. **check**: each person's rows in date order against their doses already
   recorded and the rows before them, with the same rules as an entry
   (``rules.check_dose``); a row identical to a recorded dose is "already
   present" (so a second import adds nothing);
4. **save**, only when no row is bad: new people (without a login), the
   doses and the coverage rollups in ONE transaction; or **report**: an
   XLSX of the same rows with an error column, in Vietnamese, naming each
   bad cell, and nothing saved.

Progress is committed between chunks, so the page's progress bar moves
while the worker runs, on SQLite as on PostgreSQL; only the last phase
holds a write transaction, and it writes in bulk.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell

from truyvet.accounts.models import Person
from truyvet.core import spreadsheets
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.sheets import sheet_append, sheet_cells
from truyvet.core.text import fold, unsafe_characters
from truyvet.vaccination import parsing
from truyvet.vaccination.models import (
    Dose,
    DoseImport,
    DoseImportRow,
    DoseKind,
    DoseSource,
    ImportPhase,
    ImportStatus,
    RowOutcome,
)
from truyvet.vaccination.people import Identity, people_match
from truyvet.vaccination.permissions import can_import_doses, is_site
from truyvet.vaccination.rollups import CoverageRecount
from truyvet.vaccination.rules import MESSAGES, Catalogue, Finding, Shot, check_dose, message
from truyvet.venues.models import Venue, VenueStatus

MESSAGES.update({
    "reason_required": gettext_lazy("Mũi tiêm khác quy định (xem các lỗi khác của dòng): ghi lý "
                                    "do vào cột Ghi chú để vẫn lưu."),
    "too_many_rows": gettext_lazy("Tệp có hơn %(max)s dòng: hãy chia thành nhiều tệp."),
    "changed_meanwhile": gettext_lazy("Hồ sơ tiêm chủng của một số người đã thay đổi trong lúc "
                                      "nhập: hãy nhập lại tệp."),
    "server_error": gettext_lazy("Lỗi máy chủ khi nhập tệp. Vui lòng thử lại sau."),
})

# Column keys and the headers shown when one is missing.
REQUIRED = {
    "full_name": "Họ và tên",
    "birth": "Ngày sinh",
    "vaccine": "Tên vắc xin",
    "given_on": "Ngày tiêm",
}
ALIASES: dict[str, tuple[str, ...]] = {
    "stt": ("stt", "tt", "so thu tu", "no"),
    "full_name": ("ho va ten", "ho ten", "ten", "ho va ten nguoi duoc tiem", "ho ten nguoi tiem",
                  "ten nguoi duoc tiem", "full name", "name"),
    "birth": ("ngay sinh", "ngay thang nam sinh", "nam sinh", "ngay/thang/nam sinh",
              "ngay, thang, nam sinh", "date of birth", "dob", "birth date"),
    "sex": ("gioi tinh", "gioi", "nam/nu", "sex", "gender"),
    "phone": ("so dien thoai", "dien thoai", "sdt", "so dt", "dt", "so dien thoai lien he",
              "dien thoai lien he", "phone", "phone number"),
    "id_number": ("so cmnd/cccd", "cmnd/cccd", "so cccd/cmnd", "cccd/cmnd", "so cccd", "cccd",
                  "so cmnd", "cmnd", "so cmnd/cccd/ho chieu", "cmnd/cccd/ho chieu",
                  "so dinh danh", "so dinh danh ca nhan", "so giay to", "so giay to tuy than",
                  "id number", "id"),
    "insurance": ("so the bhyt", "the bhyt", "bhyt", "ma the bhyt", "so bhyt", "ma so bhxh"),
    "province": ("tinh", "tinh/thanh pho", "tinh/tp", "tinh thanh", "tinh/thanh", "province"),
    "district": ("huyen", "quan/huyen", "huyen/quan", "quan huyen", "huyen/thi xa/thanh pho",
                 "district"),
    "commune": ("xa", "xa/phuong", "xa/phuong/thi tran", "phuong/xa", "phuong/xa/thi tran",
                "commune", "ward"),
    "address": ("dia chi", "dia chi chi tiet", "so nha/thon", "thon/xom", "dia chi thuong tru",
                "dia chi noi o", "noi o hien tai", "address"),
    "vaccine": ("ten vac xin", "ten vacxin", "ten vaccine", "ten vaccin", "vac xin", "vacxin",
                "vaccine", "loai vac xin", "loai vaccine", "ten vac xin da tiem"),
    "lot": ("so lo", "lo", "so lo vac xin", "lo vac xin", "lot", "lot number"),
    "given_on": ("ngay tiem", "ngay tiem chung", "thoi gian tiem", "ngay thang tiem",
                 "vaccination date", "date"),
    "dose": ("mui tiem", "mui", "mui so", "mui thu", "mui tiem thu", "lan tiem", "dose",
             "dose number"),
    "site": ("co so tiem", "co so tiem chung", "diem tiem", "noi tiem", "dia diem tiem",
             "don vi tiem", "site"),
    "reason": ("ghi chu", "ly do", "note", "notes", "reason"),
}
# Where a finding about a field is shown: the column it came from.
FIELD_COLUMN = {
    "full_name": "full_name", "birth_date": "birth", "sex": "sex", "phone": "phone",
    "id_number": "id_number", "vaccine": "vaccine", "given_on": "given_on",
    "dose_number": "dose", "kind": "dose", "province": "province", "district": "district",
    "commune": "commune", "lot_number": "lot", "reason": "reason", "address": "address",
}
IMPORT_TASK = "truyvet.vaccination.tasks.dose_import_task"
CHUNK = 2000  # rows per staging write
KEYS_PER_STEP = 500  # people per matching or checking step
Progress = Callable[[str, int, int], None]  # (phase, done, total)


def imports_dir() -> Path:
    folder = Path(settings.VACCINATION_PRIVATE_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _max_inflated() -> int:
    # A real 100,000-row list inflates about 8 times; a zip bomb thousands.
    return 25 * settings.VACCINATION_IMPORT_MAX_BYTES


def _open(path: Path, filename: str) -> spreadsheets.Sheet:
    return spreadsheets.open_sheet(path=path, filename=filename,
                                   max_bytes=settings.VACCINATION_IMPORT_MAX_BYTES,
                                   max_inflated=_max_inflated())


# --- Start: in the request ---------------------------------------------------------------------


def import_start(*, actor: Any, site: Venue, upload: IO[bytes], filename: str,
                 queue: bool = False) -> DoseImport:
    """Stores the uploaded file outside the web root and checks, before
    queuing anything, that it is a spreadsheet of the right size with the
    needed columns, so a wrong file gets its message at once. With
    ``queue`` the import is handed to the worker once this commits (the
    page and the API); without, the caller runs ``import_run`` (the
    command line). ``actor`` None is the operator at the console."""
    if not is_site(site):
        raise ServiceError(_("Đây không phải là điểm tiêm chủng."), code="not_a_site")
    if actor is not None and not can_import_doses(actor, site):
        raise NotAllowed(_("Chỉ người quản lý điểm tiêm và cán bộ y tế được nhập danh sách."))
    if site.status != VenueStatus.ACTIVE:
        raise ServiceError(_("Điểm tiêm này đang tạm dừng hoặc đã đóng."), code="site_inactive")
    stored = f"{secrets.token_hex(16)}.upload"
    path = imports_dir() / stored
    try:
        size = spreadsheets.copy_upload(upload, path,
                                        max_bytes=settings.VACCINATION_IMPORT_MAX_BYTES)
        sheet = _open(path, filename)
        try:
            spreadsheets.find_header(sheet.rows(), aliases=ALIASES, required=REQUIRED)
        finally:
            sheet.close()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        batch = DoseImport.objects.create(
            site=site, filename=Path(filename or "danh-sach.xlsx").name[:200],
            stored_name=stored, size=size,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None)
        if queue:
            transaction.on_commit(lambda: _enqueue(batch.pk))
    return batch


def _enqueue(batch_id: int) -> None:
    from django_q.tasks import async_task

    async_task(IMPORT_TASK, batch_id, task_name=f"vaccination: import {batch_id}")


# --- Run: in the worker (or the command line) ---------------------------------------------


def _save_progress(batch: DoseImport, phase: str, done: int, total: int,
                   progress: Progress | None) -> None:
    batch.phase, batch.phase_done, batch.phase_total = phase, done, total
    DoseImport.objects.filter(pk=batch.pk).update(phase=phase, phase_done=done,
                                                  phase_total=total)
    if progress is not None:
        progress(phase, done, total)


def import_run(*, batch_id: int, progress: Progress | None = None) -> DoseImport:
    """Runs an import to its end: DONE, REJECTED (with the error report) or
    FAILED (a file-level problem). Safe to run again after a crash: it
    starts over from the stored file, and saving is one transaction."""
    batch = DoseImport.objects.select_related("site").get(pk=batch_id)
    if batch.finished:
        return batch
    DoseImportRow.objects.filter(batch=batch).delete()
    batch.status, batch.started_at = ImportStatus.RUNNING, timezone.now()
    batch.save(update_fields=["status", "started_at"])
    path = imports_dir() / batch.stored_name
    try:
        with translation.override("vi"):
            header = _read(batch, path, progress)
            _match(batch, progress)
            bad = _check(batch, progress)
            if bad:
                _report(batch, header, progress)
            else:
                _save(batch, progress)
    except ServiceError as error:
        _fail(batch, error.code, {"message": str(error.message)})
    except IntegrityError:
        _fail(batch, "changed_meanwhile", {})
    except Exception:
        _fail(batch, "server_error", {})
        raise
    finally:
        DoseImportRow.objects.filter(batch=batch).delete()
        path.unlink(missing_ok=True)
    batch.refresh_from_db()
    return batch


def _fail(batch: DoseImport, code: str, params: dict[str, Any]) -> None:
    text = params.get("message") or message(code, params)
    DoseImport.objects.filter(pk=batch.pk).update(
        status=ImportStatus.FAILED, error_code=code[:40], error_message=str(text)[:500],
        finished_at=timezone.now(), imported=0)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return {"$d": value.isoformat()}
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return spreadsheets.cell_text(value)


def _unjson(value: Any) -> Any:
    if isinstance(value, dict) and "$d" in value:
        text = value["$d"]
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    return value


@dataclass
class _Context:
    header: spreadsheets.Header
    places: parsing.Places
    catalogue: Catalogue
    today: date
    phones: parsing.PhoneReader


# The staging table's columns as ``_stage`` fills them, in order.
STAGED = ("batch_id", "row_number", "cells", "person_key", "phone_key", "full_name",
          "birth_date", "sex", "phone", "id_number", "id_kind", "commune_id", "street",
          "vaccine_code", "given_on", "dose_number", "kind", "lot_number", "reason", "errors",
          "outcome", "match_error", "person_id", "warnings")


def _stage(batch: DoseImport, number: int, cells: list[Any], context: _Context
           ) -> tuple[Any, ...]:
    """One row read and checked cell by cell, as the staging table's values
    (a tuple, not a model: 100,000 of them are written with executemany)."""
    values = {key: cells[index] if index < len(cells) else None
              for index, key in context.header.columns.items()}
    text = {key: spreadsheets.cell_text(value) for key, value in values.items()}
    findings: list[Finding] = []

    def keep(finding: Finding | None) -> None:
        if finding is not None:
            findings.append(finding)

    name, finding = parsing.parse_name(values.get("full_name"))
    keep(finding)
    birth_date, birth_year, finding = parsing.parse_birth(values.get("birth"),
                                                          today=context.today)
    keep(finding)
    sex, finding = parsing.parse_sex(values.get("sex"))
    keep(finding)
    phone, finding = context.phones.read(values.get("phone"))
    keep(finding)
    id_number, id_kind, finding = parsing.parse_id(values.get("id_number"),
                                                   birth_year=birth_year, sex=sex)
    keep(finding)
    if not id_number and not phone and not text.get("id_number") and not text.get("phone"):
        findings.append(Finding("no_identity", "id_number" if "id_number" in
                                context.header.labels else "phone"))
    commune, finding = context.places.commune(text.get("province", ""),
                                              text.get("district", ""),
                                              text.get("commune", ""))
    keep(finding)
    street = text.get("address", "")
    if commune is None and finding is None and street:
        commune = context.places.from_address(street)
    product, finding = context.catalogue.find(text.get("vaccine", ""))
    if not text.get("vaccine"):
        finding = Finding("required", "vaccine")
    keep(finding)
    given_on, finding = parsing.parse_day(values.get("given_on"), "given_on")
    keep(finding)
    dose_number, kind, finding = parsing.parse_dose(values.get("dose"))
    keep(finding)
    lot = " ".join(text.get("lot", "").split()).upper()
    if len(lot) > 40:
        findings.append(Finding("lot_too_long", "lot_number"))
    reason = text.get("reason", "")
    if len(reason) > 300:
        findings.append(Finding("reason_too_long", "reason"))
    # The text a row stores is held to the rule for typed text (core.text):
    # a control or bidi character would reach exports, PDFs and screens.
    for field, stored in (("full_name", name), ("address", street), ("lot_number", lot),
                          ("reason", reason)):
        if stored and not stored.isprintable() and unsafe_characters(stored, allow=""):
            findings.append(Finding("control_character", field))
    day = connection.ops.adapt_datefield_value
    return (
        batch.pk, number, json.dumps([_jsonable(c) for c in cells]),
        parsing.person_key(id_number=id_number, phone=phone, name=name,
                           birth_date=birth_date, birth_year=birth_year),
        parsing.phone_key(phone=phone, name=name, birth_date=birth_date,
                          birth_year=birth_year) if phone else "",
        name, day(birth_date), sex, phone, id_number, id_kind,
        commune.pk if commune else None, street[:200], product or "", day(given_on),
        dose_number, kind or "", lot[:40], reason[:300], _encode(findings),
        RowOutcome.BAD if findings else RowOutcome.PENDING, "", None, "",
    )


def _write_staged(rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in STAGED)
    marks = "(" + ", ".join(["%s"] * len(STAGED)) + ")"
    insert = f"INSERT INTO {_table()} ({columns}) VALUES "  # noqa: S608 - names from the models, values bound
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(insert + marks, rows)  # in-process: one row at a time is fast
            return
        _copy(cursor, _table(), STAGED, rows)


def _encode(findings: list[Finding]) -> str:
    if not findings:
        return ""
    return json.dumps([[FIELD_COLUMN.get(f.field, f.field), f.code, f.params] for f in findings],
                      ensure_ascii=False, default=str)


def _decode(text: str) -> list[list[Any]]:
    return json.loads(text) if text else []


def _read(batch: DoseImport, path: Path, progress: Progress | None) -> spreadsheets.Header:
    sheet = _open(path, batch.filename)
    try:
        rows = sheet.rows()
        header = spreadsheets.find_header(rows, aliases=ALIASES, required=REQUIRED)
        batch.layout = {
            "header_row": header.row,
            "header": [_jsonable(cell) for cell in header.cells],
            "titles": [[_jsonable(cell) for cell in row] for row in header.title_rows],
            "columns": {str(index): key for index, key in header.columns.items()},
            "labels": header.labels, "letters": header.letters,
        }
        batch.save(update_fields=["layout"])
        context = _Context(header=header, places=parsing.Places(),
                           catalogue=Catalogue.load(), today=timezone.localdate(),
                           phones=parsing.PhoneReader())
        estimate = max((sheet.estimated_rows or 0) - header.row, 0)
        limit = settings.VACCINATION_IMPORT_MAX_ROWS
        buffer: list[tuple[Any, ...]] = []
        count = 0
        _save_progress(batch, ImportPhase.READING, 0, estimate, progress)
        for number, cells in rows:
            if not any(spreadsheets.cell_text(cell) for cell in cells):
                continue
            count += 1
            if count > limit:
                raise spreadsheets.refuse(message("too_many_rows", {"max": f"{limit:,}"}),
                                          "too_many_rows")
            buffer.append(_stage(batch, number, cells, context))
            if len(buffer) >= CHUNK:
                _write_staged(buffer)
                buffer = []
                _save_progress(batch, ImportPhase.READING, count, max(estimate, count), progress)
        _write_staged(buffer)
        if count == 0:
            raise spreadsheets.refuse(_("Tệp không có dòng nào dưới dòng tiêu đề."), "no_rows")
        batch.rows = count
        DoseImport.objects.filter(pk=batch.pk).update(rows=count)
        if connection.vendor == "postgresql":
            # The staging table was empty when autovacuum last looked: without
            # statistics the planner scans and sorts it for every step below
            # instead of walking its (batch, person_key) index.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {_table()}", ())  # noqa: S608 - the model's table
        _save_progress(batch, ImportPhase.READING, count, count, progress)
        return header
    finally:
        sheet.close()


def _key_steps(batch: DoseImport, *, outcome: str | None = None) -> Iterator[list[str]]:
    """The file's distinct person keys, KEYS_PER_STEP at a time, in order
    (keyset pagination: no cursor stays open between steps)."""
    rows = DoseImportRow.objects.filter(batch=batch)
    if outcome is not None:
        rows = rows.filter(outcome=outcome)
    last = None
    while True:
        page = rows if last is None else rows.filter(person_key__gt=last)
        keys = list(page.order_by("person_key").values_list("person_key", flat=True)
                    .distinct()[:KEYS_PER_STEP])
        if not keys:
            return
        yield keys
        last = keys[-1]


def _executemany(sql: str, params: list[tuple[Any, ...]]) -> None:
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _table() -> str:
    return connection.ops.quote_name(DoseImportRow._meta.db_table)


def _update_rows(columns: tuple[str, ...], keys: tuple[str, ...],
                 rows: list[tuple[Any, ...]]) -> None:
    """Sets ``columns`` of the staged rows found by ``keys``; each row of
    ``rows`` gives the new values then the keys. SQLite runs one statement
    per row in-process (executemany); PostgreSQL gets one statement per
    2,000 rows, joined to a VALUES list, instead of a round trip each."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = _table()
    if connection.vendor != "postgresql":
        sets = ", ".join(f"{quote(c)} = %s" for c in columns)
        where = " AND ".join(f"{quote(k)} = %s" for k in keys)
        _executemany(f"UPDATE {table} SET {sets} WHERE {where}", rows)  # noqa: S608 - names from the models, values bound
        return
    fields = {f.column: f for f in DoseImportRow._meta.concrete_fields}
    names = (*columns, *keys)
    # COPY the new values into a temporary table, then one UPDATE joined to
    # it: no SQL text with thousands of placeholders for the driver to parse.
    scratch = quote(f"vaccination_update_{secrets.token_hex(4)}")
    positional = tuple(f"c{i}" for i in range(len(names)))
    definition = ", ".join(f"{name} {fields[column].db_type(connection)}"
                           for name, column in zip(positional, names, strict=True))
    sets = ", ".join(f"{quote(c)} = v.c{i}" for i, c in enumerate(columns))
    where = " AND ".join(f"{table}.{quote(k)} = v.c{len(columns) + i}"
                         for i, k in enumerate(keys))
    with transaction.atomic(), connection.cursor() as cursor:
        # DDL and a join take no values: names from the model and a random
        # hex suffix only.
        cursor.execute(f"CREATE TEMPORARY TABLE {scratch} ({definition}) ON COMMIT DROP", ())
        _copy(cursor, scratch, positional, rows)
        cursor.execute(f"UPDATE {table} SET {sets} FROM {scratch} AS v WHERE {where}",  # noqa: S608 - names from the models, values bound
                       ())


def _match(batch: DoseImport, progress: Progress | None) -> None:
    """Decides who each person of the file is (see ``people.people_match``)."""
    people = DoseImportRow.objects.filter(batch=batch).values("person_key").distinct().count()
    done = 0
    _save_progress(batch, ImportPhase.MATCHING, 0, people, progress)
    by_key = ("batch_id", "person_key")
    for keys in _key_steps(batch):
        firsts: dict[str, Any] = {}
        for row in (DoseImportRow.objects.filter(batch=batch, person_key__in=keys)
                    .order_by("person_key", "row_number")
                    .values("person_key", "full_name", "birth_date", "phone", "id_number",
                            "sex")):
            firsts.setdefault(row["person_key"], row)
        wanted = [key for key in keys if key]
        identities = [Identity(full_name=firsts[k]["full_name"], birth_date=firsts[k]["birth_date"],
                               birth_year=_year_of(k, firsts[k]), phone=firsts[k]["phone"],
                               id_number=firsts[k]["id_number"]) for k in wanted]
        persons, errors, renames = [], [], []
        with transaction.atomic():
            for key, match in zip(wanted, people_match(identities), strict=True):
                if match.finding is not None:
                    errors.append((json.dumps([FIELD_COLUMN.get(match.finding.field, "id_number"),
                                               match.finding.code, match.finding.params],
                                              ensure_ascii=False), batch.pk, key))
                elif match.person is not None:
                    persons.append((match.person.pk, batch.pk, key))
                elif key.startswith("ph:"):
                    twin = _same_person_with_document(batch, key)
                    if twin == "ambiguous":
                        errors.append((json.dumps(["phone", "ambiguous_in_file", {}]),
                                       batch.pk, key))
                    elif twin:
                        renames.append((twin, batch.pk, key))
            _update_rows(("person_id",), by_key, persons)
            _update_rows(("match_error",), by_key, errors)
            for twin, batch_pk, key in renames:
                # The rows join their twin's person: same person_id, same error.
                found = (DoseImportRow.objects.filter(batch=batch, person_key=twin)
                         .values("person_id", "match_error").first())
                DoseImportRow.objects.filter(batch_id=batch_pk, person_key=key).update(
                    person_id=found["person_id"] if found else None,
                    match_error=found["match_error"] if found else "")
            _update_rows(("person_key",), by_key, renames)
        done += len(keys)
        _save_progress(batch, ImportPhase.MATCHING, done, people, progress)


def _year_of(key: str, row: dict[str, Any]) -> int | None:
    if row["birth_date"] is not None:
        return int(row["birth_date"].year)
    born = key.rsplit("|", 1)[-1] if key.startswith("ph:") else ""
    return int(born) if born.isdigit() else None


def _same_person_with_document(batch: DoseImport, key: str) -> str:
    """The person key with a document number that rows of this file give
    for the same phone, name and birth date: "" when none, "ambiguous"
    when several."""
    twins = set(DoseImportRow.objects.filter(batch=batch, phone_key=key)
                .exclude(person_key=key).values_list("person_key", flat=True)[:3])
    if len(twins) > 1:
        return "ambiguous"
    return twins.pop() if twins else ""


_SUPPRESSED_AFTER_BAD = frozenset({"skipped", "before_previous", "course_incomplete"})


def _check(batch: DoseImport, progress: Progress | None) -> int:
    """Checks every row's dose against the person's history; returns how
    many rows are bad."""
    catalogue = Catalogue.load()
    today = timezone.localdate()
    total = batch.rows
    done = 0
    _save_progress(batch, ImportPhase.CHECKING, 0, total, progress)
    fields = ("id", "person_key", "person_id", "match_error", "errors", "outcome",
              "vaccine_code", "given_on", "dose_number", "kind", "reason", "birth_date",
              "row_number", "full_name", "phone")
    for keys in _key_steps(batch):
        rows = list(DoseImportRow.objects.filter(batch=batch, person_key__in=keys)
                    .order_by("person_key", "row_number").values(*fields))
        person_ids = sorted({row["person_id"] for row in rows if row["person_id"]})
        history: dict[int, list[Shot]] = {pk: [] for pk in person_ids}
        births: dict[int, tuple[date | None, int | None]] = {}
        for start in range(0, len(person_ids), 500):
            chunk = person_ids[start:start + 500]
            for pk, number, kind, product, day in Dose.objects.filter(
                    person_id__in=chunk).values_list("person_id", "dose_number", "kind",
                                                     "vaccine_id", "given_on"):
                history[pk].append(Shot(number=number, kind=kind, product=product,
                                        given_on=day))
            births.update((pk, (bd, by)) for pk, bd, by in Person.objects.filter(
                pk__in=chunk).values_list("pk", "birth_date", "birth_year"))
        updates = []
        for key, group in groupby(rows, key=lambda row: row["person_key"]):
            updates += _check_person(list(group), key, history, births, catalogue, today)
        with transaction.atomic():
            _update_rows(("outcome", "errors", "dose_number", "kind", "warnings"), ("id",),
                         updates)
        done += len(rows)
        _save_progress(batch, ImportPhase.CHECKING, done, total, progress)
    return DoseImportRow.objects.filter(batch=batch, outcome=RowOutcome.BAD).count()


def _check_person(rows: list[dict[str, Any]], key: str, history: dict[int, list[Shot]],
                  births: dict[int, tuple[date | None, int | None]], catalogue: Catalogue,
                  today: date) -> list[tuple[Any, ...]]:
    person_id = rows[0]["person_id"]
    shots = list(history.get(person_id, [])) if person_id else []
    birth_date, birth_year = births.get(person_id, (None, None)) if person_id else (None, None)
    if person_id is None:
        birth_date = rows[0]["birth_date"]
        birth_year = birth_date.year if birth_date else _year_of(key, rows[0])
    # In the order of their dose numbers when the list gives them all (a
    # wrong date must not reorder the doses), else by date.
    if all(row["dose_number"] for row in rows):
        rows.sort(key=lambda row: (row["dose_number"], row["row_number"]))
    else:
        rows.sort(key=lambda row: (row["given_on"] or date.max, row["dose_number"] or 99,
                                   row["row_number"]))
    # A row already bad (a cell it could not read, a person it could not
    # match, a date out of sequence) would make the person's later rows
    # look out of sequence too; those consequences are not reported, only
    # the bad row itself.
    tainted = any(row["errors"] or row["match_error"] for row in rows)
    updates = []
    for row in rows:
        findings = [list(item) for item in _decode(row["errors"])]
        if row["match_error"]:
            findings.append(json.loads(row["match_error"]))
        product, given_on = row["vaccine_code"], row["given_on"]
        number, kind, warnings, outcome = row["dose_number"], row["kind"], "", RowOutcome.BAD
        if product and given_on is not None:
            same = next((shot for shot in shots if shot.given_on == given_on
                         and shot.product == product), None)
            if same is not None and (number is None or number == same.number):
                number, kind = same.number, same.kind
                outcome = RowOutcome.BAD if findings else RowOutcome.SKIP
            else:
                verdict = check_dose(shot_number=number, kind=kind or None, product=product,
                                     given_on=given_on, history=shots, birth_date=birth_date,
                                     birth_year=birth_year, today=today, catalogue=catalogue)
                for finding in verdict.errors:
                    if not (tainted and finding.code in _SUPPRESSED_AFTER_BAD):
                        findings.append([FIELD_COLUMN.get(finding.field, finding.field),
                                         finding.code, finding.params])
                if verdict.warnings and not row["reason"]:
                    findings += [[FIELD_COLUMN.get(f.field, f.field), f.code, f.params]
                                 for f in verdict.warnings]
                    findings.append(["reason", "reason_required", {}])
                number, kind, warnings = verdict.number, verdict.kind, verdict.warning_codes
                if not any(code == "repeated" for _column, code, _p in findings):
                    shots.append(Shot(number=number, kind=kind, product=product,
                                      given_on=given_on))
                outcome = RowOutcome.BAD if findings else RowOutcome.NEW
        if outcome == RowOutcome.BAD:
            tainted = True
        updates.append((outcome, json.dumps(findings, ensure_ascii=False, default=str)
                        if findings else "", number, kind or "", warnings, row["id"]))
    return updates


_SAVED = ("person_key", "person_id", "full_name", "birth_date", "sex", "phone", "id_number",
          "id_kind", "commune_id", "street", "vaccine_code", "given_on", "dose_number",
          "kind", "lot_number", "reason", "warnings")
_DOSE_COLUMNS = ("person_id", "dose_number", "kind", "vaccine_id", "given_on", "site_id",
                 "site_name", "lot_number", "source", "recorded_by_id", "recorded_at",
                 "import_batch_id", "warnings", "deviation_reason", "updated_at")


def _new_person(row: dict[str, Any]) -> Person:
    birth = row["birth_date"]
    return Person(
        full_name=row["full_name"], name_folded=fold(row["full_name"]), birth_date=birth,
        birth_year=birth.year if birth else _year_of(row["person_key"], {"birth_date": None}),
        sex=row["sex"], id_kind=row["id_kind"] if row["id_number"] else "",
        id_number=row["id_number"] or None, phone=row["phone"], commune_id=row["commune_id"],
        street=row["street"],
    )


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
          ) -> None:
    """PostgreSQL's COPY: the rows streamed in one command, no SQL to parse."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert_doses(rows: list[tuple[Any, ...]]) -> None:
    """Doses as plain rows, no model objects: COPY on PostgreSQL, multi-row
    INSERTs of 1,000 on SQLite."""
    quote = connection.ops.quote_name
    table = quote(Dose._meta.db_table)
    columns = ", ".join(quote(name) for name in _DOSE_COLUMNS)
    marks = "(" + ", ".join(["%s"] * len(_DOSE_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, table, _DOSE_COLUMNS, rows)
            return
        for start in range(0, len(rows), 1000):
            chunk = rows[start:start + 1000]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([marks] * len(chunk))}",  # noqa: S608 - names from the models, values bound
                [value for row in chunk for value in row])


def _save(batch: DoseImport, progress: Progress | None) -> None:
    """Writes the new people and doses, and the rollups, in one transaction."""
    total = DoseImportRow.objects.filter(batch=batch, outcome=RowOutcome.NEW).count()
    skipped = DoseImportRow.objects.filter(batch=batch, outcome=RowOutcome.SKIP).count()
    _save_progress(batch, ImportPhase.SAVING, 0, total, progress)
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    done = created = 0
    with transaction.atomic():
        recount = CoverageRecount()
        for keys in _key_steps(batch, outcome=RowOutcome.NEW):
            rows = list(DoseImportRow.objects.filter(batch=batch, outcome=RowOutcome.NEW,
                                                     person_key__in=keys)
                        .order_by("person_key", "dose_number").values(*_SAVED))
            firsts: dict[str, dict[str, Any]] = {}
            for row in rows:
                firsts.setdefault(row["person_key"], row)
            new = [row for row in firsts.values() if row["person_id"] is None]
            people = Person.objects.bulk_create([_new_person(row) for row in new],
                                                batch_size=1000)
            ids = {row["person_key"]: person.pk for row, person in zip(new, people, strict=True)}
            created += len(people)
            doses = [(
                row["person_id"] or ids[row["person_key"]], row["dose_number"] or 1,
                row["kind"] or DoseKind.PRIMARY, row["vaccine_code"],
                ops.adapt_datefield_value(row["given_on"]), batch.site_id, "",
                row["lot_number"], DoseSource.IMPORTED, batch.uploaded_by_id, now, batch.pk,
                row["warnings"], row["reason"] if row["warnings"] else "", now,
            ) for row in rows]
            _insert_doses(doses)
            recount.add(dose[0] for dose in doses)
            done += len(rows)
            if progress is not None:
                progress(ImportPhase.SAVING, done, total)
        recount.apply()
        DoseImport.objects.filter(pk=batch.pk).update(
            status=ImportStatus.DONE, imported=done, skipped=skipped, rejected=0,
            people_created=created, finished_at=timezone.now(), phase_done=done,
            phase_total=total)


def _report(batch: DoseImport, header: spreadsheets.Header, progress: Progress | None) -> None:
    """Writes the error report: the file's rows as they were, each bad cell
    shaded, and an error column naming every bad cell, in Vietnamese."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    counts = dict(DoseImportRow.objects.filter(batch=batch).values_list("outcome")
                  .annotate(n=Count("id")).order_by())
    total = batch.rows
    _save_progress(batch, ImportPhase.REPORTING, 0, total, progress)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Danh sách lỗi"))
    bad_fill = PatternFill("solid", fgColor="F8D7DA")
    bold = Font(bold=True)
    index_of = {key: index for index, key in header.columns.items()}
    width = max(len(header.cells), max(index_of.values(), default=0) + 1)
    # The file's own text goes back to whoever opens the report: every row
    # through core.sheets, so a formula typed into the list stays text.
    for title in header.title_rows:
        sheet_append(sheet, [_unjson(_jsonable(cell)) for cell in title])
    head = [_styleable(sheet, cell) for cell in sheet_cells(
        sheet, [*[_unjson(_jsonable(cell)) for cell in header.cells],
                *[None] * (width - len(header.cells)), _("Lỗi")])]
    for cell in head:
        cell.font = bold
    sheet.append(head)
    written = header.row
    last = 0
    done = 0
    sample: list[list[Any]] = []
    while True:
        rows = list(DoseImportRow.objects.filter(batch=batch, row_number__gt=last)
                    .order_by("row_number").values_list("row_number", "cells", "errors")[:CHUNK])
        if not rows:
            break
        for number, cells_json, errors_json in rows:
            while written + 1 < number:  # blank rows of the file stay blank
                sheet_append(sheet, [])
                written += 1
            values = [_unjson(value) for value in json.loads(cells_json)]
            values += [None] * (width - len(values))
            findings = _decode(errors_json)
            if not findings:
                # Plain values for the good rows: styled cells cost ten times more.
                sheet_append(sheet, values)
                written = number
                continue
            bad_columns = {index_of[column] for column, _code, _params in findings
                           if column in index_of}
            cells = [_styleable(sheet, cell) for cell in sheet_cells(sheet, values)]
            for index, (value, cell) in enumerate(zip(values, cells, strict=True)):
                if isinstance(value, datetime | date):
                    cell.number_format = "DD/MM/YYYY"
                if index in bad_columns:
                    cell.fill = bad_fill
            sheet.append([*cells, *sheet_cells(sheet, [_row_errors(findings, header) or None])])
            if findings and len(sample) < SAMPLE_ROWS:
                sample.append([number, findings])
            written = number
        last = rows[-1][0]
        done += len(rows)
        _save_progress(batch, ImportPhase.REPORTING, done, total, progress)
    name = f"{secrets.token_hex(16)}.xlsx"
    workbook.save(imports_dir() / name)
    DoseImport.objects.filter(pk=batch.pk).update(
        status=ImportStatus.REJECTED, error_file=name, imported=0, error_sample=sample,
        skipped=counts.get(RowOutcome.SKIP, 0), rejected=counts.get(RowOutcome.BAD, 0),
        finished_at=timezone.now())


def _styleable(sheet: Any, cell: Any) -> Any:
    """A cell from ``core.sheets.sheet_cells`` that can take a style: its
    text cells already are; other values are wrapped."""
    if isinstance(cell, Cell):
        return cell
    return WriteOnlyCell(sheet, value=cell)


def _row_errors(findings: list[list[Any]], header: spreadsheets.Header) -> str:
    parts = []
    for column, code, params in findings:
        label = header.labels.get(column)
        text = message(code, params)
        if label:
            parts.append(_("%(column)s (cột %(letter)s): %(message)s") % {
                "column": label, "letter": header.letters.get(column, "?"), "message": text})
        else:
            parts.append(text)
    return "; ".join(parts)


SAMPLE_ROWS = 50


def row_errors_for(batch: DoseImport) -> list[tuple[int, str]]:
    """The first bad rows of a rejected import with their messages in the
    active language, for the page (the report file is in Vietnamese)."""
    labels = batch.layout.get("labels", {})
    letters = batch.layout.get("letters", {})
    shown = []
    for number, findings in batch.error_sample:
        parts = []
        for column, code, params in findings:
            text = message(code, params)
            parts.append(_("%(column)s (cột %(letter)s): %(message)s") % {
                "column": labels[column], "letter": letters.get(column, "?"), "message": text}
                if column in labels else text)
        shown.append((number, "; ".join(parts)))
    return shown


def error_file_path(batch: DoseImport) -> Path | None:
    if not batch.error_file:
        return None
    path = imports_dir() / Path(batch.error_file).name
    return path if path.exists() else None
