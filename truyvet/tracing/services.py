"""Writes for tracing: cases and their windows, trace runs, alerts, exposure
sites and contact tasks.

Every function takes keyword arguments, checks all of its input and the
caller's scope first, then writes in one transaction together with its
audit row and any outgoing messages (the outbox), so a refused or failed
call changes nothing and sends nothing.

A case outside the caller's scope is reported as not found, exactly like a
case that does not exist, so probing ids reveals nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import Person, User
from truyvet.core import bulk
from truyvet.core.errors import ErrorCollector, NotFound, ServiceError
from truyvet.core.models import AuditAction, OutboxChannel
from truyvet.core.outbox import Message, outbox_enqueue
from truyvet.core.requests import client_ip
from truyvet.core.services import audit_event, audit_record, audit_record_all
from truyvet.core.text import clean_line
from truyvet.core.time import day_start
from truyvet.tracing import exposure, hooks, permissions
from truyvet.tracing.models import (
    Case,
    CaseOutcome,
    CaseStatus,
    CaseWindowEdit,
    Classification,
    Contact,
    ContactTask,
    Diagnostic,
    ExposureSite,
    TaskStatus,
    TraceRun,
)
from truyvet.venues.models import StaffRole, Venue, VenueStaff

INVALID_INPUT = gettext_lazy("Thông tin chưa hợp lệ, vui lòng kiểm tra lại.")
CASE_NOT_FOUND = gettext_lazy("Không tìm thấy ca bệnh.")
TASK_NOT_FOUND = gettext_lazy("Không tìm thấy nhiệm vụ.")
CASE_CLOSED = gettext_lazy("Ca bệnh đã đóng, không thể thay đổi.")
# How far back a case's dates may reach: older data has been purged anyway.
MAX_LOOKBACK_DAYS = 90
# Venues listed by name in one SMS; the in-app message lists them all.
SMS_MAX_VENUES = 3


def _now() -> datetime:
    return timezone.now()


def default_window(
    *, symptom_onset: date | None, test_date: date | None, isolated_at: datetime | None
) -> tuple[datetime, datetime | None]:
    """The infectious window by the rule: from TRACING_WINDOW_DAYS_BEFORE days
    before symptom onset, or before the positive test when there are no
    symptoms (the earlier of the two when a test came before the symptoms),
    at 00:00 local time, until isolation; open-ended (until now) while the
    person is not isolated."""
    basis = min(d for d in (symptom_onset, test_date) if d is not None)
    start = day_start(basis - timedelta(days=settings.TRACING_WINDOW_DAYS_BEFORE))
    return start, isolated_at


def _audit(
    *, actor: User, case: Case, kind: str, purpose: str, request: HttpRequest | None,
    action: AuditAction = AuditAction.STATUS_CHANGE, detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor, action=action, purpose=purpose, request=request,
        subject_person=case.person, target=f"case:{case.pk}", unit=case.unit,
        detail={"kind": kind, "case": case.pk, **(detail or {})},
    )


def _in_scope(actor: User, case: Case, check: Any) -> None:
    if not check(actor, case):
        raise NotFound(CASE_NOT_FOUND)


def _locked_open(case: Case) -> Case:
    """The case re-read under a row lock, refusing closed cases."""
    fresh = Case.objects.select_for_update().select_related("person", "unit").get(pk=case.pk)
    if not fresh.is_open:
        raise ServiceError(CASE_CLOSED, code="case_closed", status=409)
    return fresh


# --- Cases ------------------------------------------------------------------------


@dataclass
class CaseInput:
    classification: str
    test_date: date | None = None
    test_type: str = ""
    symptom_onset: date | None = None
    isolation_place: str = ""
    isolated_at: datetime | None = None


def _validate_dates(data: CaseInput, errors: ErrorCollector) -> None:
    today = timezone.localdate()
    oldest = today - timedelta(days=MAX_LOOKBACK_DAYS)
    for name, value in (("test_date", data.test_date), ("symptom_onset", data.symptom_onset)):
        if value is None:
            continue
        if value > today:
            errors.add(name, gettext_lazy("Ngày không được ở tương lai."), "future")
        elif value < oldest:
            errors.add(
                name, gettext_lazy("Ngày quá xa (quá 90 ngày trước)."), "too_old"
            )
    if data.symptom_onset is None and data.test_date is None:
        errors.add(
            "symptom_onset",
            gettext_lazy("Cần ngày khởi phát triệu chứng hoặc ngày xét nghiệm dương tính."),
            "required",
        )
    if data.test_type and data.test_type not in Diagnostic.values:
        errors.add("test_type", gettext_lazy("Loại xét nghiệm không hợp lệ."))
    if data.isolated_at is not None:
        if data.isolated_at > _now() + timedelta(minutes=5):
            errors.add("isolated_at", gettext_lazy("Thời điểm cách ly không được ở tương lai."),
                       "future")
        elif data.isolated_at < day_start(oldest):
            errors.add("isolated_at", gettext_lazy("Thời điểm cách ly quá xa."), "too_old")


def case_register(
    *, actor: User, person: Person, data: CaseInput, request: HttpRequest | None = None
) -> Case:
    """Opens a case for ``person`` and computes its infectious window.

    A confirmed case needs its positive test (date and type); either kind
    needs symptom onset or a test date to place the window.
    """
    errors = ErrorCollector()
    if data.classification not in Classification.values:
        errors.add("classification", gettext_lazy("Hãy chọn phân loại ca bệnh."), "required")
    if data.classification == Classification.CONFIRMED:
        if data.test_date is None:
            errors.add("test_date", gettext_lazy("Ca F0 cần ngày xét nghiệm dương tính."),
                       "required")
        if not data.test_type:
            errors.add("test_type", gettext_lazy("Ca F0 cần loại xét nghiệm."), "required")
    _validate_dates(data, errors)
    place = clean_line(data.isolation_place, errors, "isolation_place")
    if len(place) > 200:
        errors.add("isolation_place", gettext_lazy("Nơi cách ly dài quá 200 ký tự."), "too_long")
    if person.commune_id is None:
        errors.add(
            "person", gettext_lazy("Người này chưa có địa chỉ xã/phường nên chưa thể lập ca bệnh."),
            "no_commune",
        )
    elif not permissions.can_register_case(actor, person.commune):
        raise NotFound(gettext_lazy("Không tìm thấy người này."))
    window: tuple[datetime, datetime | None] | None = None
    if not errors.errors:
        window = default_window(
            symptom_onset=data.symptom_onset, test_date=data.test_date,
            isolated_at=data.isolated_at,
        )
        if window[1] is not None and window[1] < window[0]:
            errors.add("isolated_at", gettext_lazy(
                "Thời điểm cách ly phải sau thời điểm bắt đầu giai đoạn lây nhiễm."
            ))
    if Case.objects.filter(person=person, status=CaseStatus.OPEN).exists():
        errors.add("person", gettext_lazy("Người này đang có một ca bệnh chưa đóng."), "duplicate")
    errors.raise_if_any(INVALID_INPUT)
    assert window is not None and person.commune is not None
    with transaction.atomic():
        case = Case.objects.create(
            person=person, unit=person.commune, classification=data.classification,
            test_date=data.test_date, test_type=data.test_type or "",
            symptom_onset=data.symptom_onset, isolation_place=place,
            isolated_at=data.isolated_at, window_start=window[0], window_end=window[1],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _audit(actor=actor, case=case, kind="case.register", request=request,
               purpose=_("Đăng ký ca bệnh #%(id)s") % {"id": case.pk},
               detail={"classification": case.classification})
    return case


def _parse_reason(reason: str, errors: ErrorCollector) -> str:
    cleaned = clean_line(reason, errors, "reason")
    if len(cleaned) < 5:
        errors.add("reason", gettext_lazy("Hãy ghi rõ lý do thay đổi (ít nhất 5 ký tự)."),
                   "required")
    elif len(cleaned) > 300:
        errors.add("reason", gettext_lazy("Lý do dài quá 300 ký tự."), "too_long")
    return cleaned


def case_window_edit(
    *, actor: User, case: Case, start: datetime | None, end: datetime | None, reason: str,
    request: HttpRequest | None = None,
) -> Case:
    """Sets the infectious window by hand. ``end`` None means "until now".
    The old and new window and the reason are kept (``CaseWindowEdit``) and
    audited; later isolation or tests no longer recompute the window."""
    _in_scope(actor, case, permissions.can_manage_case)
    errors = ErrorCollector()
    cleaned = _parse_reason(reason, errors)
    now = _now()
    if start is None:
        errors.add("start", gettext_lazy("Hãy nhập thời điểm bắt đầu."), "required")
    else:
        if start > now:
            errors.add("start", gettext_lazy("Thời điểm bắt đầu không được ở tương lai."),
                       "future")
        if start < now - timedelta(days=MAX_LOOKBACK_DAYS):
            errors.add("start", gettext_lazy("Ngày quá xa (quá 90 ngày trước)."), "too_old")
    if end is not None:
        if end > now + timedelta(minutes=5):
            errors.add("end", gettext_lazy("Thời điểm kết thúc không được ở tương lai."),
                       "future")
        if start is not None and end < start:
            errors.add("end", gettext_lazy("Thời điểm kết thúc phải sau thời điểm bắt đầu."),
                       "order")
    errors.raise_if_any(INVALID_INPUT)
    assert start is not None
    with transaction.atomic():
        locked = _locked_open(case)
        edit = CaseWindowEdit.objects.create(
            case=locked, old_start=locked.window_start, old_end=locked.window_end,
            new_start=start, new_end=end, reason=cleaned,
            edited_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        locked.window_start, locked.window_end, locked.window_manual = start, end, True
        locked.save(update_fields=["window_start", "window_end", "window_manual"])
        _audit(
            actor=actor, case=locked, kind="case.window_edit", request=request,
            purpose=cleaned,
            detail={
                "old": [edit.old_start.isoformat(),
                        edit.old_end.isoformat() if edit.old_end else None],
                "new": [start.isoformat(), end.isoformat() if end else None],
            },
        )
    return locked


def case_isolate(
    *, actor: User, case: Case, place: str, at: datetime | None,
    request: HttpRequest | None = None,
) -> Case:
    """Records where and when the person was isolated; the window then ends
    there (unless it was set by hand)."""
    _in_scope(actor, case, permissions.can_manage_case)
    errors = ErrorCollector()
    cleaned = clean_line(place, errors, "isolation_place")
    if not cleaned:
        errors.add("isolation_place", gettext_lazy("Hãy nhập nơi cách ly."), "required")
    elif len(cleaned) > 200:
        errors.add("isolation_place", gettext_lazy("Nơi cách ly dài quá 200 ký tự."), "too_long")
    if at is None:
        errors.add("isolated_at", gettext_lazy("Hãy nhập thời điểm cách ly."), "required")
    elif at > _now() + timedelta(minutes=5):
        errors.add("isolated_at", gettext_lazy("Thời điểm cách ly không được ở tương lai."),
                   "future")
    elif at < case.window_start and not case.window_manual:
        errors.add("isolated_at", gettext_lazy(
            "Thời điểm cách ly phải sau thời điểm bắt đầu giai đoạn lây nhiễm."
        ))
    errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        locked = _locked_open(case)
        locked.isolation_place, locked.isolated_at = cleaned, at
        fields = ["isolation_place", "isolated_at"]
        if not locked.window_manual:
            locked.window_end = at
            fields.append("window_end")
        locked.save(update_fields=fields)
        _audit(actor=actor, case=locked, kind="case.isolate", request=request,
               purpose=_("Ghi nhận cách ly ca bệnh #%(id)s") % {"id": locked.pk})
    return locked


def case_reclassify(
    *, actor: User, case: Case, test_date: date | None, test_type: str,
    request: HttpRequest | None = None,
) -> Case:
    """Turns a suspected case into a confirmed F0 on a positive test. The
    window is recomputed with the test date unless it was set by hand."""
    _in_scope(actor, case, permissions.can_manage_case)
    errors = ErrorCollector()
    if case.classification != Classification.SUSPECTED:
        raise ServiceError(gettext_lazy("Chỉ ca nghi nhiễm mới chuyển thành F0."),
                           code="not_suspected", status=409)
    if test_date is None:
        errors.add("test_date", gettext_lazy("Ca F0 cần ngày xét nghiệm dương tính."), "required")
    if not test_type:
        errors.add("test_type", gettext_lazy("Ca F0 cần loại xét nghiệm."), "required")
    _validate_dates(
        CaseInput(classification=Classification.CONFIRMED, test_date=test_date,
                  test_type=test_type, symptom_onset=case.symptom_onset),
        errors,
    )
    errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        locked = _locked_open(case)
        locked.classification = Classification.CONFIRMED
        locked.test_date, locked.test_type = test_date, test_type
        fields = ["classification", "test_date", "test_type"]
        if not locked.window_manual:
            locked.window_start, _end = default_window(
                symptom_onset=locked.symptom_onset, test_date=test_date,
                isolated_at=locked.isolated_at,
            )
            if locked.window_end is not None and locked.window_end < locked.window_start:
                locked.window_start = locked.window_end
            fields.append("window_start")
        locked.save(update_fields=fields)
        _audit(actor=actor, case=locked, kind="case.reclassify", request=request,
               purpose=_("Chuyển ca bệnh #%(id)s thành F0") % {"id": locked.pk})
    return locked


def case_close(
    *, actor: User, case: Case, outcome: str, request: HttpRequest | None = None
) -> Case:
    """Closes the case. Closing it as "not a case" also withdraws its public
    exposure sites."""
    _in_scope(actor, case, permissions.can_manage_case)
    if outcome not in CaseOutcome.values:
        errors = ErrorCollector()
        errors.add("outcome", gettext_lazy("Hãy chọn kết quả khi đóng ca bệnh."), "required")
        errors.raise_if_any(INVALID_INPUT)
    now = _now()
    with transaction.atomic():
        locked = _locked_open(case)
        locked.status, locked.outcome, locked.closed_at = CaseStatus.CLOSED, outcome, now
        locked.save(update_fields=["status", "outcome", "closed_at"])
        withdrawn = 0
        if outcome == CaseOutcome.NOT_A_CASE:
            withdrawn = ExposureSite.objects.filter(
                case=locked, withdrawn_at__isnull=True
            ).update(withdrawn_at=now)
        _audit(actor=actor, case=locked, kind="case.close", request=request,
               purpose=_("Đóng ca bệnh #%(id)s") % {"id": locked.pk},
               detail={"outcome": outcome, "sites_withdrawn": withdrawn})
        # Certificates records a recovery (truyvet/tracing/hooks.py).
        hooks.case_closed(case=locked)
    return locked


# --- Trace runs ---------------------------------------------------------------------


def _venue_labels(venue_ids: Collection[int]) -> dict[int, tuple[str, str]]:
    return {
        pk: (name, code)
        for pk, name, code in Venue.objects.filter(pk__in=list(venue_ids)).values_list(
            "id", "name", "code"
        )
    }


def _visits_json(
    found: exposure.Exposure, venues: dict[int, tuple[str, str]]
) -> list[dict[str, Any]]:
    visits = []
    for visit in found.visits:
        name, code = venues.get(visit.venue_id, ("", ""))
        visits.append(visit.as_json() | {"venue_name": name, "venue_code": code})
    return visits


def _met_json(found: exposure.Exposure, sources: dict[int, Contact]) -> list[dict[str, int]]:
    """The contacts of the degree before whom ``found`` met, the closest
    first, each with what they shared with that one alone (none for an F1:
    they met the case)."""
    if not sources:
        return []
    if found.sources_met:
        numbers = [(m.person_id, m.overlap_seconds, m.gap_seconds, m.overlap_minutes,
                    m.gap_minutes) for m in found.sources_met]
    else:  # a search from one source: they met that one, the totals are theirs
        numbers = [(found.source_person_id, found.overlap_seconds, found.gap_seconds,
                    found.overlap_minutes, found.gap_minutes)]
    return [
        {"contact_id": sources[person_id].pk, "overlap_seconds": overlap_seconds,
         "gap_seconds": gap_seconds, "overlap_minutes": overlap_minutes,
         "gap_minutes": gap_minutes}
        for person_id, overlap_seconds, gap_seconds, overlap_minutes, gap_minutes in numbers
        if person_id in sources
    ]


# A contact's visit count is a small integer column.
MAX_VISIT_COUNT = 32767


@dataclass(frozen=True)
class _ContactRows:
    """Contacts to store, a column each, one entry per contact: the numbers
    as integers (times in microseconds since 1970), ``visits`` and ``met``
    as the JSON text the fields store. ``source_id`` 0 is none (an F1)."""

    person_id: npt.NDArray[np.int64]
    source_id: npt.NDArray[np.int64]
    overlap_seconds: npt.NDArray[np.int64]
    gap_seconds: npt.NDArray[np.int64]
    overlap_minutes: npt.NDArray[np.int64]
    gap_minutes: npt.NDArray[np.int64]
    visit_count: npt.NDArray[np.int64]
    first: npt.NDArray[np.int64]
    last: npt.NDArray[np.int64]
    visits: list[str]
    met: list[str]

    @classmethod
    def of_columns(cls, found: exposure.ContactColumns,
                   venues: dict[int, tuple[str, str]]) -> _ContactRows:
        """From an F1 search's columns: no Python object per contact but
        its JSON text."""
        return cls(
            person_id=found.person_id, source_id=np.zeros(len(found), dtype=np.int64),
            overlap_seconds=found.overlap_seconds, gap_seconds=found.gap_seconds,
            overlap_minutes=found.overlap_minutes, gap_minutes=found.gap_minutes,
            visit_count=np.minimum(found.visit_count, MAX_VISIT_COUNT),
            first=found.first, last=found.last, visits=found.visits_json(venues),
            met=["[]"] * len(found),
        )

    @classmethod
    def of_exposures(cls, found: Sequence[exposure.Exposure], sources: dict[int, Contact],
                     venues: dict[int, tuple[str, str]]) -> _ContactRows:
        """From an expansion's contacts (at most TRACING_EXPAND_MAX_CONTACTS)."""

        def column(values: Any) -> npt.NDArray[np.int64]:
            return np.fromiter(values, dtype=np.int64, count=len(found))

        return cls(
            person_id=column(f.person_id for f in found),
            source_id=column(sources[f.source_person_id].pk if f.source_person_id in sources
                             else 0 for f in found),
            overlap_seconds=column(f.overlap_seconds for f in found),
            gap_seconds=column(f.gap_seconds for f in found),
            overlap_minutes=column(f.overlap_minutes for f in found),
            gap_minutes=column(f.gap_minutes for f in found),
            visit_count=column(min(f.visit_count, MAX_VISIT_COUNT) for f in found),
            first=column(f.first_ts for f in found), last=column(f.last_ts for f in found),
            visits=[json.dumps(_visits_json(f, venues)) for f in found],
            met=[json.dumps(_met_json(f, sources)) for f in found],
        )

    def __len__(self) -> int:
        return len(self.person_id)


def _column(model: Any, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _contacts_write(
    *, case: Case, run: TraceRun, degree: int, rows: _ContactRows, now: datetime,
    refresh: bool,
) -> None:
    """Stores ``rows`` as contacts of ``case`` found by ``run`` at ``degree``,
    each living where their person lives, set-wise (decision 0014): a person
    not yet a contact of the case is added, one known at this degree or a
    higher one is refreshed (and moves up), one known at a lower degree
    stays as they were. Every contact of the run without a task gets one,
    for their commune (the case's when their commune is unknown). Two
    statements whatever the number of contacts: on PostgreSQL one
    ``INSERT ... SELECT FROM unnest(...)`` of the columns as binary arrays,
    on SQLite one ``executemany``; then the tasks in one ``INSERT ...
    SELECT``. Without ``refresh`` (none of ``rows`` is a contact of the case
    yet, as under the case's lock the caller knows) the contacts are plain
    inserts: ``ON CONFLICT``'s speculative insertion costs about a tenth
    more per row."""
    if not len(rows):
        return
    table = connection.ops.quote_name(Contact._meta.db_table)
    names = ["case", "person", "degree", "source", "run", "overlap_seconds", "gap_seconds",
             "overlap_minutes", "gap_minutes", "visit_count", "first_exposure_at",
             "last_exposure_at", "visits", "met", "unit", "found_at"]
    columns = [_column(Contact, name) for name in names]
    refreshed = [_column(Contact, name) for name in names[2:]]
    degree_column = _column(Contact, "degree")
    people = connection.ops.quote_name(Person._meta.db_table)
    commune = _column(Person, "commune")
    person_key = _column(Person, "id")
    upsert = (
        f"ON CONFLICT ({columns[0]}, {columns[1]}) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in refreshed)
        + f" WHERE {table}.{degree_column} >= excluded.{degree_column}"
    ) if refresh else ""
    if connection.vendor == "postgresql":
        with bulk.column_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from the models, values bound
                "SELECT %s, f.person, %s, NULLIF(f.source, 0), %s, f.overlap_seconds, "
                "f.gap_seconds, f.overlap_minutes, f.gap_minutes, f.visit_count, f.first_at, "
                f"f.last_at, f.visits::jsonb, f.met::jsonb, p.{commune}, %s "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], "
                "%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[], "
                "%s::timestamptz[], %s::text[], %s::text[]) AS f(person, source, "
                "overlap_seconds, gap_seconds, overlap_minutes, gap_minutes, visit_count, "
                "first_at, last_at, visits, met) "
                f"LEFT JOIN {people} AS p ON p.{person_key} = f.person {upsert}",
                [case.pk, degree, run.pk, now,
                 *(bulk.Int64Array.of(values) for values in (
                     rows.person_id, rows.source_id, rows.overlap_seconds, rows.gap_seconds,
                     rows.overlap_minutes, rows.gap_minutes, rows.visit_count)),
                 bulk.TimestampArray.of(rows.first), bulk.TimestampArray.of(rows.last),
                 bulk.TextArray.of(rows.visits), bulk.TextArray.of(rows.met)],
            )
    else:
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608 - names from the models, values bound
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                f"(SELECT {commune} FROM {people} WHERE {person_key} = %s), %s) {upsert}",
                [
                    (case.pk, person, degree, source or None, run.pk, overlap_seconds,
                     gap_seconds, overlap_minutes, gap_minutes, visit_count,
                     adapt(exposure.moment(first)), adapt(exposure.moment(last)), visits, met,
                     person, adapt(now))
                    for person, source, overlap_seconds, gap_seconds, overlap_minutes,
                    gap_minutes, visit_count, first, last, visits, met in zip(
                        rows.person_id.tolist(), rows.source_id.tolist(),
                        rows.overlap_seconds.tolist(), rows.gap_seconds.tolist(),
                        rows.overlap_minutes.tolist(), rows.gap_minutes.tolist(),
                        rows.visit_count.tolist(), rows.first.tolist(), rows.last.tolist(),
                        rows.visits, rows.met, strict=True,
                    )
                ],
            )
    tasks = connection.ops.quote_name(ContactTask._meta.db_table)
    task_columns = ", ".join(_column(ContactTask, name) for name in (
        "contact", "unit", "status", "note", "created_at", "updated_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {tasks} ({task_columns}) "  # noqa: S608 - names from the models, values bound
            f"SELECT {_column(Contact, 'id')}, "
            f"COALESCE({_column(Contact, 'unit')}, %s), %s, '', %s, %s FROM {table} "
            f"WHERE {columns[0]} = %s AND {_column(Contact, 'run')} = %s "
            f"ON CONFLICT ({_column(ContactTask, 'contact')}) DO NOTHING",
            [case.unit_id, TaskStatus.OPEN.value, now, now, case.pk, run.pk],
        )


def trace_run(*, actor: User, case: Case, request: HttpRequest | None = None) -> TraceRun:
    """Runs the F1 exposure search over the case's window and stores the
    contacts, ranked. F1s no longer found (the window changed) are dropped
    unless they were already alerted. Audited as a trace run."""
    _in_scope(actor, case, permissions.can_trace)
    rules = exposure.SearchRules.from_settings()
    with transaction.atomic():
        locked = _locked_open(case)
        now = _now()
        start, end = locked.window_start, locked.window_end_at(now)
        began = time.perf_counter()
        presences = exposure.presences_of({locked.person_id: (start, end)}, rules)
        found = exposure.contact_columns(
            presences, rules=rules, exclude_person_ids={locked.person_id}
        )
        elapsed = round((time.perf_counter() - began) * 1000)
        run = TraceRun.objects.create(
            case=locked, degree=1, run_by=actor, run_at=now, window_start=start,
            window_end=end, buffer_minutes=round(rules.buffer.total_seconds() / 60),
            visit_count=len(presences), contact_count=len(found), duration_ms=elapsed,
        )
        venues = _venue_labels({presence.venue_id for presence in presences})
        traced_before = Contact.objects.filter(case=locked).exists()
        _contacts_write(case=locked, run=run, degree=1,
                        rows=_ContactRows.of_columns(found, venues), now=now,
                        refresh=traced_before)
        if traced_before:
            # Every contact found now carries this run; the F1s of earlier
            # runs not found again go, unless already alerted.
            Contact.objects.filter(case=locked, degree=1, notified_at__isnull=True).exclude(
                run=run
            ).delete()
        locked.traced_at = now
        locked.save(update_fields=["traced_at"])
        _audit(
            actor=actor, case=locked, kind="trace.f1", request=request,
            action=AuditAction.TRACE_RUN,
            purpose=_("Truy vết F1 ca bệnh #%(id)s") % {"id": locked.pk},
            detail={"run": run.pk, "degree": 1, "visits": len(presences),
                    "contacts": len(found), "buffer_minutes": run.buffer_minutes},
        )
    return run


def trace_expand(
    *, actor: User, case: Case, contact_ids: Collection[int], depth: int = 2,
    request: HttpRequest | None = None,
) -> TraceRun:
    """Expands from the chosen contacts to the next generation(s) (F2, and
    F3 when ``depth`` is 3 ...), each person's window running from their
    first exposure until now. Stops at TRACING_EXPAND_MAX_DEPTH and at
    TRACING_EXPAND_MAX_CONTACTS new contacts (the strongest kept;
    ``truncated`` says so). One query for the sources' visits and one for
    the candidates per generation."""
    _in_scope(actor, case, permissions.can_trace)
    errors = ErrorCollector()
    max_depth = settings.TRACING_EXPAND_MAX_DEPTH
    if not 2 <= depth <= max_depth:
        errors.add("depth", gettext_lazy("Độ sâu mở rộng phải từ 2 đến %(max)s.") % {
            "max": max_depth}, "out_of_range")
    chosen = list(
        Contact.objects.filter(case=case, pk__in=list(contact_ids), degree__lt=depth)
    ) if contact_ids else []
    if not chosen:
        errors.add("contact_ids", gettext_lazy("Hãy chọn ít nhất một người tiếp xúc để mở rộng."),
                   "required")
    errors.raise_if_any(INVALID_INPUT)
    rules = exposure.SearchRules.from_settings()
    limit = settings.TRACING_EXPAND_MAX_CONTACTS
    with transaction.atomic():
        locked = _locked_open(case)
        now = _now()
        began = time.perf_counter()
        known = set(Contact.objects.filter(case=locked).values_list("person_id", flat=True))
        known.add(locked.person_id)
        sources = {c.person_id: c for c in chosen}
        degree = min(c.degree for c in chosen) + 1
        total_visits, added, truncated = 0, 0, False
        runs: list[TraceRun] = []
        while degree <= depth and sources and not truncated:
            windows = {pid: (c.first_exposure_at, now) for pid, c in sources.items()}
            presences = exposure.presences_of(windows, rules)
            found = [
                f for f in exposure.contacts_of(
                    presences, rules=rules, exclude_person_ids=set(sources) | {locked.person_id}
                )
                if f.person_id not in known
            ]
            if added + len(found) > limit:
                found, truncated = found[: limit - added], True
            run = TraceRun.objects.create(
                case=locked, degree=degree, run_by=actor, run_at=now,
                window_start=min(w[0] for w in windows.values()), window_end=now,
                buffer_minutes=round(rules.buffer.total_seconds() / 60),
                source_count=len(sources), visit_count=len(presences),
                contact_count=len(found), truncated=truncated,
            )
            runs.append(run)
            venues = _venue_labels({presence.venue_id for presence in presences})
            # Everyone found is new to the case: the known were left out.
            _contacts_write(case=locked, run=run, degree=degree,
                            rows=_ContactRows.of_exposures(found, sources, venues), now=now,
                            refresh=False)
            stored = list(Contact.objects.filter(case=locked, run=run))
            total_visits += len(presences)
            added += len(found)
            known.update(f.person_id for f in found)
            sources = {c.person_id: c for c in stored}
            degree += 1
        elapsed = round((time.perf_counter() - began) * 1000)
        TraceRun.objects.filter(pk__in=[r.pk for r in runs]).update(duration_ms=elapsed)
        _audit(
            actor=actor, case=locked, kind="trace.expand", request=request,
            action=AuditAction.TRACE_RUN,
            purpose=_("Mở rộng truy vết ca bệnh #%(id)s đến F%(depth)s") % {
                "id": locked.pk, "depth": depth},
            detail={"runs": [r.pk for r in runs], "depth": depth,
                    "from_contacts": sorted(c.pk for c in chosen), "visits": total_visits,
                    "contacts": added, "truncated": truncated},
        )
    return runs[-1] if runs else TraceRun(case=locked, degree=depth)


# --- Alerts and exposure sites ---------------------------------------------------------


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


def format_span(start: datetime, end: datetime) -> str:
    """"08:15–09:40 ngày 12/11/2021", or both dates when it crosses midnight."""
    a, b = _local(start), _local(end)
    if a.date() == b.date():
        return _("%(start)s–%(end)s ngày %(day)s") % {
            "start": f"{a:%H:%M}", "end": f"{b:%H:%M}", "day": f"{a:%d/%m/%Y}"}
    return _("%(start)s ngày %(day)s – %(end)s ngày %(end_day)s") % {
        "start": f"{a:%H:%M}", "day": f"{a:%d/%m/%Y}", "end": f"{b:%H:%M}",
        "end_day": f"{b:%d/%m/%Y}"}


def _case_kind_text(case: Case) -> str:
    if case.classification == Classification.CONFIRMED:
        return _("một ca bệnh COVID-19 (F0)")
    return _("một trường hợp nghi nhiễm COVID-19")


def _contact_body(case: Case, contact: Contact, venues: dict[int, Venue], *, short: bool) -> str:
    # A stay that met two of the case's visits (the case went back within
    # the hour) is one stay for the contact: each place and time once.
    places: list[str] = []
    for visit in contact.visits:
        venue = venues.get(visit["venue_id"])
        name = venue.name if venue else visit.get("venue_name", "")
        span = format_span(
            datetime.fromisoformat(visit["contact_start"]),
            datetime.fromisoformat(visit["contact_end"]),
        )
        place = f"{name} ({span})"
        if place not in places:
            places.append(place)
    shown = places[:SMS_MAX_VENUES] if short else places
    more = len(places) - len(shown)
    listed = "; ".join(shown) + (_(" và %(n)s nơi khác") % {"n": more} if more > 0 else "")
    values = {"places": listed, "kind": _case_kind_text(case), "hotline": settings.TRACING_HOTLINE,
              "apart": contact.closeness}
    if not contact.shared_time:  # caught by the buffer: they were there before or after
        return _(
            "Cảnh báo COVID-19: Bạn đã có mặt tại %(places)s, %(apart)s so với thời gian "
            "%(kind)s có mặt tại đó. "
            "Hãy tự cách ly tại nơi ở, đeo khẩu trang, theo dõi sức khoẻ (sốt, ho, khó thở), "
            "không đến nơi đông người và liên hệ trạm y tế xã/phường hoặc gọi %(hotline)s "
            "để được hướng dẫn xét nghiệm."
        ) % values
    return _(
        "Cảnh báo COVID-19: Bạn đã có mặt tại %(places)s, cùng thời gian với %(kind)s. "
        "Hãy tự cách ly tại nơi ở, đeo khẩu trang, theo dõi sức khoẻ (sốt, ho, khó thở), "
        "không đến nơi đông người và liên hệ trạm y tế xã/phường hoặc gọi %(hotline)s "
        "để được hướng dẫn xét nghiệm."
    ) % values


def _venue_body(case: Case, venue: Venue, spans: list[tuple[datetime, datetime]]) -> str:
    when = "; ".join(format_span(a, b) for a, b in spans[:SMS_MAX_VENUES])
    return _(
        "Cảnh báo COVID-19 cho địa điểm %(venue)s: %(kind)s đã có mặt tại đây lúc %(when)s. "
        "Hãy khử khuẩn khu vực, thông báo cho nhân viên và người có mặt trong thời gian này "
        "tự theo dõi sức khoẻ, tiếp tục yêu cầu quét mã QR, và làm theo hướng dẫn của "
        "trạm y tế (%(hotline)s)."
    ) % {"venue": venue.name, "kind": _case_kind_text(case), "when": when,
         "hotline": settings.TRACING_HOTLINE}


@dataclass
class NotifyResult:
    contacts: int = 0
    venues: int = 0
    messages: int = 0
    sites: int = 0


@dataclass(frozen=True)
class AlertPlan:
    """Who an alert reaches, counted before it is sent. Of the case's F1
    contacts, ``already`` were alerted before (nothing goes to them again);
    each of the others is counted once: ``by_sms`` (a phone is known; an
    account holder also gets it in the app), ``inapp_only`` (an account, no
    phone) or ``unreachable`` (neither: their commune must find them), so
    ``already + by_sms + inapp_only + unreachable == contacts``. ``venues``
    venues' owners are alerted (``venues_unreachable`` of them have no owner
    or phone to reach) and ``sites`` sites become public."""

    contacts: int = 0
    already: int = 0
    by_sms: int = 0
    inapp_only: int = 0
    unreachable: int = 0
    venues: int = 0
    venues_unreachable: int = 0
    sites: int = 0

    @property
    def adds_up(self) -> bool:
        return self.already + self.by_sms + self.inapp_only + self.unreachable == self.contacts


def _contact_reach(contact: Contact) -> tuple[Any, str]:
    person = contact.person
    user = getattr(person, "user", None)
    return user, person.phone or (user.phone if user is not None else "")


def _contact_messages(case: Case, contacts: Sequence[Contact]) -> list[Message]:
    venue_ids = {v["venue_id"] for c in contacts for v in c.visits}
    venues = Venue.objects.in_bulk(list(venue_ids))
    link = reverse("tracing:my_exposure")
    messages = []
    for contact in contacts:
        person = contact.person
        user, phone = _contact_reach(contact)
        key = f"exposure:{case.pk}:{person.pk}"
        with translation.override(_language_of(person)):
            if user is not None:
                messages.append(Message(
                    channel=OutboxChannel.INAPP, dedupe_key=f"{key}:inapp",
                    kind="exposure.contact", person=person, user=user,
                    subject=_("Cảnh báo tiếp xúc COVID-19"),
                    body=_contact_body(case, contact, venues, short=False), link=link,
                ))
            if phone:
                messages.append(Message(
                    channel=OutboxChannel.SMS, dedupe_key=f"{key}:sms", kind="exposure.contact",
                    person=person, phone=phone,
                    body=_contact_body(case, contact, venues, short=True),
                ))
    return messages


def _language_of(person: Person | None) -> str:
    """The language a message to ``person`` is written in: theirs, else
    Vietnamese (the language of the country's SMS)."""
    language = person.language if person is not None else ""
    return language if language in dict(settings.LANGUAGES) else "vi"


def _venue_messages(
    case: Case, presences: Sequence[exposure.Presence]
) -> tuple[int, list[Message]]:
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    for presence in presences:
        spans.setdefault(presence.venue_id, []).append((presence.start, presence.end))
    venues = Venue.objects.in_bulk(list(spans))
    owners: dict[int, list[VenueStaff]] = {}
    for staff in VenueStaff.objects.filter(
        venue_id__in=list(spans), role=StaffRole.OWNER
    ).select_related("user__person"):
        owners.setdefault(staff.venue_id, []).append(staff)
    messages = []
    for venue_id, venue_spans in spans.items():
        venue = venues[venue_id]
        key = f"exposure-venue:{case.pk}:{venue_id}"
        phones: dict[str, str] = {}  # phone -> the language of its holder
        for staff in owners.get(venue_id, []):
            language = _language_of(staff.user.person if staff.user is not None else None)
            if staff.user is not None:
                with translation.override(language):
                    messages.append(Message(
                        channel=OutboxChannel.INAPP, dedupe_key=f"{key}:inapp:{staff.user_id}",
                        kind="exposure.venue", user=staff.user, person=staff.user.person,
                        subject=_("Cảnh báo COVID-19 tại địa điểm của bạn"),
                        body=_venue_body(case, venue, venue_spans),
                    ))
            phones.setdefault(staff.phone, language)
        if not phones and venue.contact_phone:
            phones[venue.contact_phone] = "vi"
        for phone in sorted(phones):
            with translation.override(phones[phone]):
                messages.append(Message(
                    channel=OutboxChannel.SMS, dedupe_key=f"{key}:sms:{phone}",
                    kind="exposure.venue", phone=phone, body=_venue_body(case, venue, venue_spans),
                ))
    return len(spans), messages


def _sites_wanted(presences: Sequence[exposure.Presence]) -> dict[tuple[int, datetime], datetime]:
    """The public sites of the presences: one per venue and widened
    presence (the same windows the search uses), in whole minutes rounded
    outwards; (venue, start) -> end."""
    rules = exposure.SearchRules.from_settings()
    wanted: dict[tuple[int, datetime], datetime] = {}
    for venue_id, lo, hi in exposure.candidate_ranges(presences, rules):
        start = lo.replace(second=0, microsecond=0)
        end = hi if hi.second == 0 and hi.microsecond == 0 else (
            hi.replace(second=0, microsecond=0) + timedelta(minutes=1)
        )
        wanted[(venue_id, start)] = end
    return wanted


def _sites_to_publish(case: Case, presences: Sequence[exposure.Presence]) -> int:
    """How many sites ``_publish`` would make live now."""
    wanted = _sites_wanted(presences)
    for site in ExposureSite.objects.filter(case=case):
        end = wanted.get((site.venue_id, site.starts_at))
        if end is not None and site.withdrawn_at is None and site.ends_at == end:
            del wanted[(site.venue_id, site.starts_at)]
    return len(wanted)


def _publish(case: Case, actor: User, presences: Sequence[exposure.Presence]) -> int:
    """Makes the case's current sites public (``_sites_wanted``). Sites
    from an earlier window that no longer apply are withdrawn. Returns how
    many sites became live."""
    now = _now()
    wanted = _sites_wanted(presences)
    live = 0
    for site in ExposureSite.objects.filter(case=case):
        key = (site.venue_id, site.starts_at)
        new_end = wanted.pop(key, None) if key in wanted else None
        if new_end is None:
            if site.withdrawn_at is None:
                site.withdrawn_at = now
                site.save(update_fields=["withdrawn_at"])
        elif site.withdrawn_at is not None or site.ends_at != new_end:
            site.withdrawn_at, site.ends_at, site.published_at = None, new_end, now
            site.save(update_fields=["withdrawn_at", "ends_at", "published_at"])
            live += 1
    ExposureSite.objects.bulk_create([
        ExposureSite(case=case, venue_id=venue_id, starts_at=start, ends_at=end,
                     published_at=now, published_by=actor)
        for (venue_id, start), end in wanted.items()
    ])
    return live + len(wanted)


def _notify_choices_check(notify_contacts: bool, notify_venues: bool, publish_sites: bool) -> None:
    if not (notify_contacts or notify_venues or publish_sites):
        errors = ErrorCollector()
        errors.add("notify_contacts", gettext_lazy("Hãy chọn ít nhất một việc cần làm."),
                   "required")
        errors.raise_if_any(INVALID_INPUT)


@dataclass
class _AlertWork:
    plan: AlertPlan
    contacts: list[Contact]
    presences: list[exposure.Presence]
    venue_messages: list[Message]


def _alert_work(
    case: Case, *, notify_contacts: bool, notify_venues: bool, publish_sites: bool,
    now: datetime,
) -> _AlertWork:
    """What an alert would do now, counted (the one computation behind both
    the confirmation and the sending, so the two cannot disagree)."""
    if notify_contacts and case.traced_at is None:
        raise ServiceError(gettext_lazy("Hãy chạy truy vết trước khi gửi cảnh báo."),
                           code="not_traced", status=409)
    counts: dict[str, int] = {"already": 0, "by_sms": 0, "inapp_only": 0, "unreachable": 0}
    contacts: list[Contact] = []
    if notify_contacts:
        contacts = list(
            Contact.objects.filter(case=case, degree=1).select_related("person__user")
        )
        for contact in contacts:
            user, phone = _contact_reach(contact)
            if contact.notified_at is not None:
                counts["already"] += 1
            elif phone:
                counts["by_sms"] += 1
            elif user is not None:
                counts["inapp_only"] += 1
            else:
                counts["unreachable"] += 1
    presences: list[exposure.Presence] = []
    if notify_venues or publish_sites:
        presences = exposure.presences_of(
            {case.person_id: (case.window_start, case.window_end_at(now))}
        )
    venues, unreached = 0, 0
    venue_messages: list[Message] = []
    if notify_venues:
        venues, venue_messages = _venue_messages(case, presences)
        reached = {m.dedupe_key.split(":")[2] for m in venue_messages}
        unreached = venues - len(reached)
    sites = _sites_to_publish(case, presences) if publish_sites else 0
    plan = AlertPlan(contacts=len(contacts), venues=venues, venues_unreachable=unreached,
                     sites=sites, **counts)
    return _AlertWork(plan=plan, contacts=contacts, presences=presences,
                      venue_messages=venue_messages)


def exposure_notify_plan(
    *, actor: User, case: Case, notify_contacts: bool = True, notify_venues: bool = True,
    publish_sites: bool = False,
) -> AlertPlan:
    """What ``exposure_notify`` with the same choices would do now, for the
    official to confirm: how many contacts by SMS, in the app only and
    unreachable, how many venues' owners and how many sites. Writes nothing."""
    _in_scope(actor, case, permissions.can_trace)
    _notify_choices_check(notify_contacts, notify_venues, publish_sites)
    if not case.is_open:
        raise ServiceError(CASE_CLOSED, code="case_closed", status=409)
    with translation.override("vi"):
        return _alert_work(case, notify_contacts=notify_contacts, notify_venues=notify_venues,
                           publish_sites=publish_sites, now=_now()).plan


def exposure_notify(
    *, actor: User, case: Case, notify_contacts: bool = True, notify_venues: bool = True,
    publish_sites: bool = False, expected: AlertPlan | None = None,
    request: HttpRequest | None = None,
) -> NotifyResult:
    """One action: alerts the case's F1 contacts (in-app when they have an
    account, SMS when a phone is known), alerts the owners of the venues the
    case visited in the window, and optionally publishes those venues and
    times as public exposure sites (no personal data).

    ``expected`` is the plan the official confirmed (``exposure_notify_plan``):
    when what would be sent now differs (a trace ran in between), nothing is
    sent and the error ``alert_plan_changed`` asks them to look again.

    Messages go through the outbox in this transaction, keyed by case and
    recipient, so repeating the action sends nothing twice. Each message is
    in its recipient's language (``Person.language``, Vietnamese when
    unknown), whatever the official's.
    """
    _in_scope(actor, case, permissions.can_trace)
    _notify_choices_check(notify_contacts, notify_venues, publish_sites)
    result = NotifyResult()
    with transaction.atomic(), translation.override("vi"):
        locked = _locked_open(case)
        now = _now()
        work = _alert_work(locked, notify_contacts=notify_contacts,
                           notify_venues=notify_venues, publish_sites=publish_sites, now=now)
        if expected is not None and expected != work.plan:
            raise ServiceError(
                gettext_lazy("Danh sách người nhận đã thay đổi từ lúc bạn xem. "
                             "Hãy xem lại số người nhận rồi xác nhận lần nữa."),
                code="alert_plan_changed", status=409)
        contacts = work.contacts
        messages: list[Message] = _contact_messages(locked, contacts) if contacts else []
        result.contacts = len(contacts)
        if notify_venues:
            result.venues = work.plan.venues
            messages += work.venue_messages
        result.messages = len(outbox_enqueue(messages=messages))
        if contacts:
            Contact.objects.filter(
                pk__in=[c.pk for c in contacts], notified_at__isnull=True
            ).update(notified_at=now)
        if publish_sites:
            result.sites = _publish(locked, actor, work.presences)
        _audit(
            actor=actor, case=locked, kind="exposure.notify", request=request,
            purpose=_("Gửi cảnh báo tiếp xúc ca bệnh #%(id)s") % {"id": locked.pk},
            detail={"contacts": result.contacts, "venues": result.venues,
                    "messages": result.messages, "sites": result.sites},
        )
    return result


def exposure_site_withdraw(
    *, actor: User, site: ExposureSite, request: HttpRequest | None = None
) -> ExposureSite:
    """Takes a published site off the public list (published by mistake)."""
    _in_scope(actor, site.case, permissions.can_trace)
    with transaction.atomic():
        if site.withdrawn_at is None:
            site.withdrawn_at = _now()
            site.save(update_fields=["withdrawn_at"])
        _audit(actor=actor, case=site.case, kind="exposure.withdraw", request=request,
               purpose=_("Gỡ địa điểm công bố của ca bệnh #%(id)s") % {"id": site.case_id},
               detail={"site": site.pk})
    return site


# --- Contact tasks -----------------------------------------------------------------------


def contact_task_update(
    *, actor: User, task: ContactTask, status: str, note: str = "",
    request: HttpRequest | None = None,
) -> ContactTask:
    """Records the follow-up of a contact by their commune's officials."""
    if not permissions.can_work_contact_task(actor, task):
        raise NotFound(TASK_NOT_FOUND)
    errors = ErrorCollector()
    if status not in TaskStatus.values:
        errors.add("status", gettext_lazy("Trạng thái không hợp lệ."))
    cleaned = clean_line(note, errors, "note")
    if len(cleaned) > 500:
        errors.add("note", gettext_lazy("Ghi chú dài quá 500 ký tự."), "too_long")
    errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        task.status, task.note = status, cleaned
        task.updated_at, task.updated_by = _now(), actor
        task.save(update_fields=["status", "note", "updated_at", "updated_by"])
        audit_record(
            actor=actor, action=AuditAction.STATUS_CHANGE, request=request,
            purpose=_("Cập nhật theo dõi người tiếp xúc"),
            subject_person=task.contact.person, target=f"contact-task:{task.pk}", unit=task.unit,
            detail={"kind": "contact_task.update", "status": status},
        )
    return task


def contact_tasks_update_many(
    *, actor: User, tasks: QuerySet[ContactTask], status: str,
    request: HttpRequest | None = None,
) -> int:
    """Records one follow-up status for several tasks at once (the ones an
    official ticked, or every task their filters found). Every task must be
    one the actor works; each change is audited under its contact. Returns
    how many tasks changed."""
    errors = ErrorCollector()
    if status not in TaskStatus.values:
        errors.add("status", gettext_lazy("Trạng thái không hợp lệ."))
    errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        chosen = list(
            tasks.select_related("contact__person", "unit").select_for_update(of=("self",)))
        if not chosen or any(not permissions.can_work_contact_task(actor, t) for t in chosen):
            raise NotFound(TASK_NOT_FOUND)
        changed = [task for task in chosen if task.status != status]
        now = _now()
        for task in changed:
            task.status, task.updated_at, task.updated_by = status, now, actor
        ContactTask.objects.bulk_update(changed, ["status", "updated_at", "updated_by"])
        ip = client_ip(request)
        audit_record_all([
            audit_event(
                actor=actor, action=AuditAction.STATUS_CHANGE, ip_address=ip,
                purpose=_("Cập nhật theo dõi người tiếp xúc (hàng loạt)"),
                subject_person=task.contact.person, target=f"contact-task:{task.pk}",
                unit=task.unit, detail={"kind": "contact_task.update", "status": status,
                                        "bulk": len(changed)},
            )
            for task in changed
        ])
    return len(changed)
