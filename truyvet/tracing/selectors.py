"""Reads for tracing, already scoped to the viewer.

Purpose limitation: the only way for an official to see where a person has
been is ``case_timeline`` (a case in their scope), and every call of it is
audited, as is every list that shows contacts by name. Contacts who live
outside the viewer's scope come back masked. Citizens read only their own
matches against the published exposure sites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case as Case_
from django.db.models import Count, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import Person, User, Viewer
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.checkins.models import CheckIn, DepartureKind
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.core.masking import mask_name, mask_phone
from truyvet.core.models import AuditAction, AuditEvent, OutboxChannel, OutboxMessage
from truyvet.core.outbox import inbox_unread_count
from truyvet.core.pagination import page_window
from truyvet.core.requests import client_ip
from truyvet.core.services import audit_record, audit_record_found
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit
from truyvet.tracing import permissions
from truyvet.tracing.models import (
    Case,
    CaseStatus,
    Contact,
    ContactTask,
    ExposureSite,
    closeness_text,
)
from truyvet.tracing.services import CASE_NOT_FOUND, TASK_NOT_FOUND

_UNIT_CHAIN = ("unit", "unit__parent", "unit__parent__parent")
_ID_NUMBER = re.compile(r"\d{9}|\d{12}|[A-Z][A-Z0-9]{5,8}")


def _require_tracing(viewer: User) -> None:
    if not permissions.can_use_tracing(viewer):
        raise NotAllowed(gettext_lazy("Chỉ cán bộ y tế và cán bộ chính quyền được truy vết."))


# --- Cases ---------------------------------------------------------------------------


def cases_visible_to(viewer: User, *, status: str = "") -> QuerySet[Case]:
    """The cases in the viewer's scope, newest first (masked in lists)."""
    _require_tracing(viewer)
    cases = Case.objects.filter(permissions.tracing_scope_q(viewer, "unit__path")).select_related(
        "person", *_UNIT_CHAIN
    )
    if status in CaseStatus.values:
        cases = cases.filter(status=status)
    return cases


def case_for(*, viewer: User, case_id: int) -> Case:
    """The case if it is in the viewer's scope; NotFound otherwise, the same
    whether it exists or not."""
    case = (
        Case.objects.select_related("person", "person__commune", "created_by", *_UNIT_CHAIN)
        .filter(pk=case_id)
        .first()
    )
    if case is None or not permissions.can_view_case(viewer, case):
        raise NotFound(CASE_NOT_FOUND)
    return case


def person_for_case(*, viewer: User, person_id: int) -> Person:
    """Someone the viewer may open a case for (lives in their tracing scope)."""
    person = Person.objects.select_related("commune").filter(pk=person_id).first()
    if person is None or not permissions.can_register_case(viewer, person.commune):
        raise NotFound(gettext_lazy("Không tìm thấy người này."))
    return person


def people_for_case(
    *, viewer: User, query: str, request: HttpRequest | None = None
) -> list[Person]:
    """Finds who a new case is about, by exact phone number or document
    number only (no browsing by name), among people in the viewer's scope.
    Audited as a search."""
    _require_tracing(viewer)
    text = re.sub(r"\s", "", query or "").upper()
    if not text:
        return []

    condition = Q(pk__in=[])
    try:
        condition |= Q(phone=normalize_phone(text))
    except PhoneError:
        pass
    if _ID_NUMBER.fullmatch(text):
        condition |= Q(id_number=text)
    with transaction.atomic():
        found = list(
            Person.objects.filter(condition)
            .filter(permissions.tracing_scope_q(viewer, "commune__path"))
            .select_related("commune")[:5]
        )
        purpose = _("Tìm người để đăng ký ca bệnh")
        audit_record(
            actor=viewer, action=AuditAction.PERSON_SEARCH, request=request,
            purpose=purpose,
            detail={"kind": "case.person_lookup", "results": [p.pk for p in found]},
        )
        # And under each person found, who sees it on "who viewed my data".
        audit_record_found(actor=viewer, people=found, purpose=purpose, request=request,
                           detail={"kind": "case.person_lookup"})
    return found


# --- The timeline --------------------------------------------------------------------


@dataclass
class TimelineEntry:
    """One visit of the case during the window (the "mốc dịch tễ")."""

    checkin_id: Any
    venue_id: int
    venue_name: str
    venue_code: str
    venue_type: str
    address: str
    commune: str
    venue_phone: str
    arrived_at: datetime
    departed_at: datetime
    departure_real: bool
    departure_label: str
    method_label: str


def case_timeline(
    *, viewer: User, case: Case, request: HttpRequest | None = None, export: str = ""
) -> list[TimelineEntry]:
    """Every venue the case visited in the infectious window, in order, with
    arrival, departure (real or estimated), commune and the venue's phone.

    Each call is audited (a read of the person's movements; ``export`` names
    the file format when it feeds a download). One query for the visits.
    """
    if not permissions.can_view_case(viewer, case):
        raise NotFound(CASE_NOT_FOUND)
    now = timezone.now()
    start, end = case.window_start, case.window_end_at(now)
    cap = timedelta(minutes=settings.TRACING_MAX_VISIT_MINUTES)
    with transaction.atomic():
        visits = list(
            CheckIn.objects.filter(
                person_id=case.person_id, arrived_at__gte=start - cap, arrived_at__lte=end,
                ends_at__gte=start,
            )
            .select_related(
                "venue", "venue__commune", "venue__commune__parent",
                "venue__commune__parent__parent",
            )
            .order_by("arrived_at", "id")
        )
        if export:
            purpose = _("Xuất mốc dịch tễ ca bệnh #%(id)s (%(format)s)") % {
                "id": case.pk, "format": export.upper()}
            action = AuditAction.EXPORT
        else:
            purpose = _("Xem mốc dịch tễ ca bệnh #%(id)s") % {"id": case.pk}
            action = AuditAction.PERSON_READ
        audit_record(
            actor=viewer, action=action, purpose=purpose, request=request,
            subject_person=case.person, target=f"case:{case.pk}", unit=case.unit,
            detail={"kind": "case.timeline", "case": case.pk, "visits": len(visits),
                    "format": export or None},
        )
    entries = []
    for visit in visits:
        departed = min(visit.ends_at, visit.arrived_at + cap)
        if departed < start:
            continue
        venue = visit.venue
        entries.append(
            TimelineEntry(
                checkin_id=visit.pk,
                venue_id=venue.pk,
                venue_name=venue.name,
                venue_code=venue.code,
                venue_type=venue.get_venue_type_display(),
                address=venue.street,
                commune=venue.commune.full_name,
                venue_phone=venue.contact_phone,
                arrived_at=visit.arrived_at,
                departed_at=departed,
                departure_real=visit.departure_kind != DepartureKind.ESTIMATED,
                departure_label=visit.get_departure_kind_display(),
                method_label=visit.get_method_display(),
            )
        )
    return entries


# --- Contacts ----------------------------------------------------------------------


@dataclass
class MetRow:
    """A contact of the degree before whom an F2 (or deeper) contact met,
    as one viewer may see them, and what the two shared."""

    contact_id: int
    degree: int
    masked: bool
    name: str
    overlap_minutes: int
    gap_minutes: int
    closeness: str

    @property
    def label(self) -> str:
        return f"F{self.degree}"


@dataclass
class ContactRow:
    """A contact as one viewer may see them."""

    contact: Contact
    masked: bool
    name: str
    phone: str
    commune: str
    task_status: str
    task_status_label: str
    task_id: int | None
    can_open_task: bool
    visits: list[dict[str, Any]] = field(default_factory=list)  # per visit of the source
    stays: list[dict[str, Any]] = field(default_factory=list)  # per stay: visits_for_display
    met: list[MetRow] = field(default_factory=list)

    @property
    def overlap_minutes(self) -> int:
        return self.contact.overlap_minutes

    @property
    def gap_minutes(self) -> int:
        return self.contact.gap_minutes

    @property
    def closeness(self) -> str:
        return self.contact.closeness


def _closeness_of(entry: dict[str, Any]) -> str:
    return closeness_text(overlap_seconds=entry["overlap_seconds"],
                          overlap_minutes=entry["overlap_minutes"],
                          gap_minutes=entry["gap_minutes"])


def _visits_parsed(visits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored breakdown (one entry per visit of the source) with real
    datetimes and each entry's closeness, as the API gives it."""
    shown = []
    for visit in visits:
        item = dict(visit)
        for key in ("source_start", "source_end", "contact_start", "contact_end"):
            item[key] = datetime.fromisoformat(visit[key])
        item["closeness"] = _closeness_of(visit)
        shown.append(item)
    return shown


def visits_for_display(visits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A contact's stored visit breakdown, one row per stay of the contact
    (venue and presence), with real datetimes and how close they came in
    that stay (``closeness``: "25 phút", "cách 30 phút"); the source's
    visits that stay met are listed inside (``met``), each with its own
    closeness.

    The search stores one entry per visit of the source, so a stay that met
    two of them (the case went back within the hour) came twice, with the
    same place and time and different minutes. The stay's shared time is
    the union of its overlaps with each of them, rounded once."""
    stays: dict[tuple[Any, str, str], dict[str, Any]] = {}
    for visit in visits:
        key = (visit["venue_id"], visit["contact_start"], visit["contact_end"])
        met = dict(visit)
        for name in ("source_start", "source_end", "contact_start", "contact_end"):
            met[name] = datetime.fromisoformat(visit[name])
        met["closeness"] = _closeness_of(visit)
        stay = stays.get(key)
        if stay is None:
            stay = stays[key] = {
                "venue_id": visit["venue_id"], "venue_name": visit.get("venue_name", ""),
                "venue_code": visit.get("venue_code", ""),
                "contact_start": met["contact_start"], "contact_end": met["contact_end"],
                "met": [],
            }
        stay["met"].append(met)
    shown = []
    for stay in stays.values():
        stay["met"].sort(key=lambda m: m["source_start"])
        micros = _union_overlap(stay["contact_start"], stay["contact_end"], stay["met"])
        gap_seconds = min(m["gap_seconds"] for m in stay["met"])
        gap_minutes = min(m["gap_minutes"] for m in stay["met"])
        stay["overlap_minutes"] = _round_half_even(micros, 60_000_000)
        stay["closeness"] = closeness_text(
            overlap_seconds=1 if micros > 0 else 0, overlap_minutes=stay["overlap_minutes"],
            gap_minutes=gap_minutes)
        stay["gap_seconds"] = gap_seconds
        shown.append(stay)
    shown.sort(key=lambda stay: (stay["contact_start"], stay["venue_id"]))
    return shown


def _round_half_even(micros: int, unit: int) -> int:
    whole, rest = divmod(micros, unit)
    return whole + (2 * rest > unit or (2 * rest == unit and whole % 2 == 1))


def _union_overlap(start: datetime, end: datetime, met: list[dict[str, Any]]) -> int:
    """Microseconds of [start, end] shared with any of the met visits
    (counted once where they overlap each other)."""
    spans = sorted(
        (max(start, m["source_start"]), min(end, m["source_end"])) for m in met
        if m["overlap_seconds"] > 0
    )
    total, reach = 0, None
    for lo, hi in spans:
        if hi <= lo:
            continue
        if reach is not None and lo < reach:
            lo = reach
        if hi > lo:
            total += (hi - lo) // timedelta(microseconds=1)
            reach = hi
    return total


def _sources_met(
    viewer: Viewer, case: Case, contacts: list[Contact]
) -> tuple[dict[int, list[MetRow]], list[Person]]:
    """For each F2 (or deeper) contact, the contacts they met, masked as the
    viewer must see them, and the people shown unmasked (to audit). One
    query, none when the page has no F2."""
    wanted = {entry["contact_id"] for contact in contacts for entry in contact.met}
    if not wanted:
        return {}, []
    sources = Contact.objects.filter(case=case, pk__in=wanted).select_related("person", "unit")
    by_id = {source.pk: source for source in sources}
    shown: dict[int, Person] = {}
    met: dict[int, list[MetRow]] = {}
    for contact in contacts:
        rows = met[contact.pk] = []
        for entry in contact.met:
            source = by_id.get(entry["contact_id"])
            if source is None:  # dropped since (a re-run after the window shrank)
                continue
            visible = permissions.can_view_contact_identity(viewer, source)
            if visible:
                shown[source.person_id] = source.person
            rows.append(MetRow(
                contact_id=source.pk, degree=source.degree, masked=not visible,
                name=source.person.full_name if visible else mask_name(source.person.full_name),
                overlap_minutes=entry["overlap_minutes"], gap_minutes=entry["gap_minutes"],
                closeness=_closeness_of(entry),
            ))
    return met, list(shown.values())


def _audit_people_shown(
    *, viewer: User, people: list[Person], purpose: str, target: str, unit: Any,
    request: HttpRequest | None, detail: dict[str, Any],
) -> None:
    """One audit row per person whose identity a page shows, in one query,
    so each of them can see the read in their own access log."""
    now = timezone.now()
    ip = client_ip(request)
    AuditEvent.objects.bulk_create([
        AuditEvent(
            at=now, actor=viewer, action=AuditAction.PERSON_READ, purpose=purpose[:300],
            subject_person=person, target=target[:200], unit=unit, ip_address=ip, detail=detail,
        )
        for person in people
    ])


CONTACTS_PAGE = 100
CONTACTS_MAX_PAGE = 1000


def _case_contacts(viewer: User, case: Case, query: ContactQuery) -> QuerySet[Contact]:
    """A case's contacts searched, filtered and ordered by ``query``. A
    search by name or phone only matches contacts whose identity the viewer
    may see: it must not tell which masked contact bears a name."""
    contacts = Contact.objects.filter(case=case)
    if query.q:
        contacts = contacts.filter(permissions.tracing_scope_q(viewer, "unit__path"))
    if query.status:
        contacts = contacts.filter(task__status=query.status)
    return _contact_filtered(contacts, query, "").order_by(*_contact_order(query, ""))


def case_contacts_count(*, viewer: User, case: Case, query: ContactQuery | None = None) -> int:
    """How many of the case's contacts ``query`` finds."""
    if not permissions.can_view_case(viewer, case):
        raise NotFound(CASE_NOT_FOUND)
    return _case_contacts(viewer, case, query or ContactQuery()).count()


def case_contact_communes(*, viewer: User, case: Case) -> list[tuple[int, str]]:
    """The communes the case's contacts live in, for the filter."""
    if not permissions.can_view_case(viewer, case):
        raise NotFound(CASE_NOT_FOUND)
    return _commune_choices(Contact.objects.filter(case=case).values("unit_id").distinct())


def case_contacts_for(
    *, viewer: User, case: Case, request: HttpRequest | None = None,
    limit: int = CONTACTS_PAGE, offset: int = 0, query: ContactQuery | None = None,
) -> list[ContactRow]:
    """The case's contacts, ranked (F1 before F2, longest overlap first,
    or as ``query`` asks, which also searches and filters them), a page of
    ``limit`` from ``offset`` (a market F0 can have thousands).

    Contacts living outside the viewer's scope are masked (abbreviated name,
    partial phone): their own commune's officials follow them up through a
    contact task. An F2's row names the F1s they met (``met``), masked the
    same way. Showing an unmasked contact is audited, one row per person
    shown. A fixed number of queries whatever the number of contacts.
    """
    if not permissions.can_view_case(viewer, case):
        raise NotFound(CASE_NOT_FOUND)
    limit, offset = page_window(limit=limit, offset=offset, max_limit=CONTACTS_MAX_PAGE)
    contacts = list(
        _case_contacts(viewer, case, query or ContactQuery())
        .select_related("person", "task", "task__unit", *_UNIT_CHAIN)[offset:offset + limit]
    )
    rows = []
    met, shown = _sources_met(viewer, case, contacts)
    for contact in contacts:
        person = contact.person
        visible = permissions.can_view_contact_identity(viewer, contact)
        task: ContactTask | None = getattr(contact, "task", None)
        if visible:
            shown.append(person)
        rows.append(
            ContactRow(
                contact=contact,
                masked=not visible,
                name=person.full_name if visible else mask_name(person.full_name),
                phone=person.phone if visible else mask_phone(person.phone),
                commune=contact.unit.full_name if contact.unit else "",
                task_status=task.status if task else "",
                task_status_label=task.get_status_display() if task else "",
                task_id=task.pk if task else None,
                can_open_task=bool(task and permissions.can_work_contact_task(viewer, task)),
                visits=_visits_parsed(contact.visits),
                stays=visits_for_display(contact.visits),
                met=met.get(contact.pk, []),
            )
        )
    if shown:
        _audit_people_shown(
            viewer=viewer, people=list({p.pk: p for p in shown}.values()), request=request,
            unit=case.unit,
            target=f"case:{case.pk}",
            purpose=_("Xem danh sách người tiếp xúc ca bệnh #%(id)s") % {"id": case.pk},
            detail={"kind": "case.contacts", "case": case.pk},
        )
    return rows


@dataclass
class Delivery:
    """The alerts of a case in the outbox, by who they were for and how far
    they got."""

    rows: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return sum(row["total"] for row in self.rows)


def alert_delivery_for(*, viewer: User, case: Case) -> Delivery:
    """How the case's alerts are doing, counted from the outbox: per
    recipient kind (contacts, venues) and channel, how many are waiting,
    sent and failed. No personal data. One query."""
    if not permissions.can_view_case(viewer, case):
        raise NotFound(CASE_NOT_FOUND)
    counts = (
        OutboxMessage.objects.filter(
            Q(dedupe_key__startswith=f"exposure:{case.pk}:")
            | Q(dedupe_key__startswith=f"exposure-venue:{case.pk}:")
        )
        .values("kind", "channel", "status")
        .annotate(n=Count("id"))
    )
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for item in counts:
        row = rows.setdefault((item["kind"], item["channel"]), {
            "who": _("Người tiếp xúc") if item["kind"] == "exposure.contact"
            else _("Chủ địa điểm"),
            "channel": OutboxChannel(item["channel"]).label,
            "pending": 0, "sent": 0, "failed": 0, "total": 0,
        })
        row[item["status"]] = row.get(item["status"], 0) + item["n"]
        row["total"] += item["n"]
    return Delivery(rows=[rows[key] for key in sorted(rows)])


# --- Contact tasks -------------------------------------------------------------------


@dataclass(frozen=True)
class ContactQuery:
    """What an official asks of a list of contacts (a case's, or the tasks
    of their communes): a search by name or phone, filters, and an order.

    ``closeness`` is ``shared`` (they shared time with the source) or
    ``apart`` (caught by the buffer only); ``sort`` one of ``CONTACT_SORTS``.
    The default order puts the closest contacts first."""

    q: str = ""
    commune: int | None = None
    status: str = ""
    case: int | None = None
    degree: int | None = None
    closeness: str = ""
    sort: str = "closest"


# Each order names the contact's fields; a task list prefixes them with
# ``contact__``. Ties end on the person, so pages never overlap.
CONTACT_SORTS: dict[str, tuple[str, ...]] = {
    "closest": ("degree", "-overlap_seconds", "gap_seconds", "person_id"),
    "minutes": ("-overlap_seconds", "gap_seconds", "degree", "person_id"),
    "gap": ("gap_seconds", "-overlap_seconds", "degree", "person_id"),
    "first": ("first_exposure_at", "degree", "person_id"),
    "recent": ("-first_exposure_at", "degree", "person_id"),
}
TASK_SORTS = (*CONTACT_SORTS, "status")
# The follow-up order: who still needs a call first.
_STATUS_ORDER = ("open", "unreachable", "reached", "dismissed")


def _contact_search_q(text: str, prefix: str) -> Q:
    """Name (any accents, any part) or phone (the whole number in any
    format, or at least four of its digits)."""
    text = (text or "").strip()
    if not text:
        return Q()
    if "\x00" in text:  # no name holds one (and PostgreSQL refuses it)
        return Q(pk__in=[])
    condition = Q(**{f"{prefix}person__name_folded__contains": fold(text)})
    try:
        condition |= Q(**{f"{prefix}person__phone": normalize_phone(text)})
    except PhoneError:
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 4 and len(digits) == len(re.sub(r"[\s.+-]", "", text)):
            condition |= Q(**{f"{prefix}person__phone__contains": digits.lstrip("0")})
    return condition


def _an_id(value: int | None) -> bool:
    """Whether ``value`` can be a row id (a number past 64 bits finds nothing
    rather than failing in the database)."""
    return value is not None and 0 < value < 2**63


def _contact_filtered(rows: QuerySet[Any], query: ContactQuery, prefix: str) -> QuerySet[Any]:
    for value in (query.commune, query.case, query.degree):
        if value is not None and not _an_id(value):
            return rows.none()
    if query.q:
        rows = rows.filter(_contact_search_q(query.q, prefix))
    if query.commune:
        rows = rows.filter(**{f"{prefix}unit_id": query.commune})
    if query.case:
        rows = rows.filter(**{f"{prefix}case_id": query.case})
    if query.degree:
        rows = rows.filter(**{f"{prefix}degree": query.degree})
    if query.closeness == "shared":
        rows = rows.filter(**{f"{prefix}overlap_seconds__gt": 0})
    elif query.closeness == "apart":
        rows = rows.filter(**{f"{prefix}overlap_seconds": 0})
    return rows


def _contact_order(query: ContactQuery, prefix: str) -> list[Any]:
    fields = CONTACT_SORTS.get(query.sort, CONTACT_SORTS["closest"])
    return [f"-{prefix}{f[1:]}" if f.startswith("-") else f"{prefix}{f}" for f in fields]


def contact_tasks_for(
    viewer: User, *, status: str = "", query: ContactQuery | None = None
) -> QuerySet[ContactTask]:
    """The follow-up tasks of contacts living in the viewer's scope, whatever
    unit the case belongs to, searched, filtered and ordered by ``query``
    (the closest contacts first by default)."""
    _require_tracing(viewer)
    query = query or ContactQuery(status=status)
    tasks = ContactTask.objects.filter(
        permissions.tracing_scope_q(viewer, "unit__path")
    ).select_related(
        "contact", "contact__person", "contact__case", "contact__case__unit",
        "contact__case__unit__parent", *_UNIT_CHAIN,
    )
    status = query.status or status
    if status:
        tasks = tasks.filter(status=status)
    tasks = _contact_filtered(tasks, query, "contact__")
    if query.sort == "status":
        rank = Case_(*(When(status=value, then=Value(i)) for i, value in enumerate(_STATUS_ORDER)),
                     default=Value(len(_STATUS_ORDER)))
        return tasks.order_by(rank, *_contact_order(ContactQuery(), "contact__"), "pk")
    return tasks.order_by(*_contact_order(query, "contact__"), "pk")


def contact_tasks_chosen(task_ids: list[int]) -> QuerySet[ContactTask]:
    """Tasks picked by id, for a bulk change (the service checks that the
    official works each of them)."""
    return ContactTask.objects.filter(pk__in=[pk for pk in task_ids if _an_id(pk)])


def contact_task_communes(viewer: User) -> list[tuple[int, str]]:
    """The communes that have tasks in the viewer's scope, for the filter."""
    _require_tracing(viewer)
    ids = (ContactTask.objects.filter(permissions.tracing_scope_q(viewer, "unit__path"))
           .values("unit_id").distinct())
    return _commune_choices(ids)


def _commune_choices(ids: Any) -> list[tuple[int, str]]:
    return [(unit.pk, unit.full_name) for unit in AdministrativeUnit.objects.filter(
        pk__in=ids).select_related("parent", "parent__parent").order_by("name")]


def contact_tasks_searched(
    *, viewer: User, tasks: list[ContactTask], query: ContactQuery,
    request: HttpRequest | None = None,
) -> None:
    """Audits a search of the task list by name or phone: the search, and
    one row under each person it showed."""
    if not query.q:
        return
    people = list({t.contact.person_id: t.contact.person for t in tasks}.values())
    purpose = _("Tìm người tiếp xúc cần theo dõi")
    with transaction.atomic():
        audit_record(
            actor=viewer, action=AuditAction.PERSON_SEARCH, request=request, purpose=purpose,
            detail={"kind": "contact_task.search", "results": [p.pk for p in people]},
        )
        audit_record_found(actor=viewer, people=people, purpose=purpose, request=request,
                           detail={"kind": "contact_task.search"})


def contact_task_for(
    *, viewer: User, task_id: int, request: HttpRequest | None = None, audit: bool = True
) -> ContactTask:
    """One task with the contact's full identity, for their commune's
    officials. Audited as a read of the contact's data."""
    task = (
        ContactTask.objects.select_related(
            "contact", "contact__person", "contact__person__commune", "contact__case",
            "contact__case__unit", "contact__case__unit__parent", *_UNIT_CHAIN,
        )
        .filter(pk=task_id)
        .first()
    )
    if task is None or not permissions.can_work_contact_task(viewer, task):
        raise NotFound(TASK_NOT_FOUND)
    if audit:
        audit_record(
            actor=viewer, action=AuditAction.PERSON_READ, request=request,
            purpose=_("Theo dõi người tiếp xúc (nhiệm vụ #%(id)s)") % {"id": task.pk},
            subject_person=task.contact.person, target=f"contact-task:{task.pk}", unit=task.unit,
            detail={"kind": "contact_task.read", "case": task.contact.case_id},
        )
    return task


# --- Public exposure sites and "Was I exposed?" ------------------------------------------


def exposure_sites_live(*, now: datetime | None = None) -> QuerySet[ExposureSite]:
    """Published, not withdrawn sites whose window ended within the check-in
    retention period (older visits no longer exist to match)."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    return (
        ExposureSite.objects.filter(withdrawn_at__isnull=True, ends_at__gte=since)
        .select_related(
            "venue", "venue__commune", "venue__commune__parent", "venue__commune__parent__parent"
        )
        .order_by("-starts_at", "id")
    )


@dataclass
class ExposureMatch:
    site: ExposureSite
    arrived_at: datetime
    left_at: datetime


def my_exposures(*, user: Viewer, now: datetime | None = None) -> list[ExposureMatch]:
    """The user's own visits that overlap a published exposure site at the
    same venue (the same closed-interval rule the server search uses; sites
    are already widened by the buffer). Sites of the user's own case are
    left out. Two queries."""
    if not isinstance(user, User):
        return []
    now = now or timezone.now()
    cap = timedelta(minutes=settings.TRACING_MAX_VISIT_MINUTES)
    since = now - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    mine = CheckIn.objects.filter(person_id=user.person_id, arrived_at__gte=since - cap)
    sites = list(
        exposure_sites_live(now=now)
        .filter(venue_id__in=mine.values("venue_id"))
        .exclude(case__person_id=user.person_id)
    )
    if not sites:
        return []
    visits = list(
        mine.filter(venue_id__in={s.venue_id for s in sites}).values_list(
            "venue_id", "arrived_at", "ends_at"
        )
    )
    matches = []
    for site in sites:
        for venue_id, arrived_at, ends_at in visits:
            left = min(ends_at, arrived_at + cap)
            if venue_id == site.venue_id and arrived_at <= site.ends_at and left >= site.starts_at:
                matches.append(ExposureMatch(site=site, arrived_at=arrived_at, left_at=left))
    matches.sort(key=lambda m: m.arrived_at, reverse=True)
    return matches


# --- Home page ------------------------------------------------------------------------


def home_links_for(user: Viewer) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page: everyone's inbox and "Was I exposed?", and
    the tracing pages for health workers and officers."""
    unread = inbox_unread_count(user)
    inbox = _("Thông báo (%(n)s mới)") % {"n": unread} if unread else _("Thông báo")
    links: dict[str, list[tuple[str, str]]] = {
        "mine": [
            (reverse("inbox"), inbox),
            (reverse("tracing:my_exposure"), _("Tôi có tiếp xúc không?")),
        ],
        "official": [],
    }
    if permissions.can_use_tracing(user):
        links["official"] = [
            (reverse("tracing:cases"), _("Ca bệnh và truy vết")),
            (reverse("tracing:tasks"), _("Người tiếp xúc cần theo dõi")),
        ]
    return links
