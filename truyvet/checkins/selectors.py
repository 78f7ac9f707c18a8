"""Reads of check-ins, each scoped to who is asking.

A citizen reads their own visits. A controller looks people up at the venue
they stand at, masked and audited. A venue's owners and admins read its
visitor log, masked (every export audited), and those who manage it the
visits per day. Nobody else lists a person's movements:
officials reach visits only through a case (tracing, issue 5), never here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person, User, Viewer
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.checkins.models import CheckIn, CheckInMethod, GuestVisitsDeclined
from truyvet.core import formats
from truyvet.core.errors import ErrorCollector, NotAllowed, NotFound
from truyvet.core.masking import mask_name, mask_phone
from truyvet.core.models import AuditAction
from truyvet.core.pagination import page_window
from truyvet.core.services import audit_record, audit_record_found
from truyvet.core.text import fold
from truyvet.core.time import local_day, local_zone, period_bounds
from truyvet.places.levels import LevelBadge, commune_levels_on, entry_badge
from truyvet.venues import importing
from truyvet.venues import permissions as venue_permissions
from truyvet.venues.models import StaffRole, Venue, VenueStaff

HISTORY_DAYS = 21
EXPORT_MAX_ROWS = 100_000
VISITOR_LOG_MAX_DAYS = 366
LOOKUP_LIMIT = 10
VENUE_NOT_YOURS = _("Không tìm thấy địa điểm bạn kiểm soát với mã này.")
_DIGITS = re.compile(r"\d")
_VENUE_RELATED = ("venue", "venue__commune", "venue__commune__parent",
                  "venue__commune__parent__parent")


def not_your_venue() -> NotFound:
    """The one answer for a venue code that does not exist and for a venue
    the caller is not staff of, so that codes cannot be tried to find out
    which venues exist (issue 12)."""
    return NotFound(VENUE_NOT_YOURS, code="venue_unknown")


def checkins_of_me(*, user: Viewer, days: int = HISTORY_DAYS) -> QuerySet[CheckIn]:
    """The user's own visits of the last ``days`` days, newest first, with
    each venue's commune and its parents (for "Nơi đã đến")."""
    if not isinstance(user, User):
        return CheckIn.objects.none()
    since = timezone.now() - timedelta(days=days)
    return (
        CheckIn.objects.filter(person_id=user.person_id, arrived_at__gte=since)
        .select_related(*_VENUE_RELATED)
        .order_by("-arrived_at")
    )


def visit_levels(checkins: list[CheckIn]) -> dict[uuid.UUID, LevelBadge]:
    """The epidemic level of each visit's venue commune on the day of the
    visit (not today's), in one query for the whole list; visits whose
    commune had no level then are left out."""
    found = commune_levels_on((c.venue.commune_id, c.arrived_at) for c in checkins)
    badges: dict[uuid.UUID, LevelBadge] = {}
    for checkin in checkins:
        badge = entry_badge(found.get((checkin.venue.commune_id,
                                       local_day(checkin.arrived_at))))
        if badge is not None:
            badges[checkin.pk] = badge
    return badges


def checkin_of_me(*, user: Viewer, checkin_id: uuid.UUID | str) -> CheckIn:
    """One of the user's own visits; NotFound for anyone else's."""
    try:
        key = uuid.UUID(str(checkin_id))
    except ValueError:
        raise NotFound(_("Không tìm thấy lượt đến này.")) from None
    person_id = getattr(user, "person_id", None)
    found = (
        CheckIn.objects.select_related(*_VENUE_RELATED).filter(pk=key, person_id=person_id).first()
        if person_id is not None else None
    )
    if found is None:
        raise NotFound(_("Không tìm thấy lượt đến này."))
    return found


def checkin_by_id(checkin_id: uuid.UUID | str) -> CheckIn:
    """A visit by id for a service that checks access itself (check-out with
    a guest token); NotFound when the id is unknown or malformed."""
    try:
        key = uuid.UUID(str(checkin_id))
    except ValueError:
        raise NotFound(_("Không tìm thấy lượt đến này.")) from None
    found = CheckIn.objects.select_related(*_VENUE_RELATED).filter(pk=key).first()
    if found is None:
        raise NotFound(_("Không tìm thấy lượt đến này."))
    return found


def venues_scannable_by(user: Viewer) -> QuerySet[Venue]:
    """The venues the user checks people in at (owner, admin or controller),
    by name."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Venue.objects.none()
    venue_ids = VenueStaff.objects.filter(
        user_id=user.pk, accepted_at__isnull=False,
        role__in=[StaffRole.OWNER, StaffRole.ADMIN, StaffRole.CONTROLLER],
    ).values("venue_id")
    return (
        Venue.objects.filter(pk__in=venue_ids)
        .select_related("commune", "commune__parent", "commune__parent__parent")
        .order_by("name_folded", "pk")
    )


def venue_for_controller(*, user: Viewer, code: str) -> Venue:
    """The venue with ``code`` if the user scans there; NotFound otherwise
    (the same answer whether the code exists or not)."""
    venue = (
        Venue.objects.select_related("commune", "commune__parent", "commune__parent__parent")
        .filter(code=(code or "").strip().upper())
        .first()
    )
    if venue is None or not venue_permissions.can_scan_at_venue(user, venue):
        raise not_your_venue()
    return venue


def guest_visits_offered(*, user: User) -> QuerySet[CheckIn]:
    """Visits recorded without an account (the guest form, manual entries
    by name and phone) under the user's proved phone and their name (case
    and diacritics ignored), that they have neither adopted nor declined,
    newest first: what "Nơi đã đến" offers them to adopt
    (``services.checkins_adopt_guest``). Records someone has proved (with
    an account or a document number) are never offered."""
    if not getattr(user, "is_authenticated", False) or not user.phone:
        return CheckIn.objects.none()
    person = user.person
    records = Person.objects.filter(
        phone=user.phone, name_folded=person.name_folded, user__isnull=True,
        id_number__isnull=True,
    ).exclude(pk=person.pk)
    visits = CheckIn.objects.filter(person_id__in=records.values("pk"))
    declined = GuestVisitsDeclined.objects.filter(user_id=user.pk).values_list(
        "until", flat=True).first()
    if declined is not None:
        visits = visits.filter(received_at__gt=declined)
    return visits.select_related(*_VENUE_RELATED).order_by("-arrived_at")


def people_lookup(
    *, controller: User, venue: Venue, query: str, request: HttpRequest | None = None
) -> list[Person]:
    """People a controller may pick for a manual entry at ``venue``.

    Only people in the venue's context are found: its visitors within the
    retention period, and (by number only) the residents of its commune.
    Text with digits must be a whole phone number or document number (the
    visitor tells it at the door; no prefix search, so numbers cannot be
    enumerated). Text without digits matches the names of its visitors.
    Anyone else is simply typed in, and the manual entry finds them by
    document number or phone and name. At most 10 results; the caller shows
    them masked. Every lookup is audited under the venue's commune, once
    for the search and once under each person found, who sees it on "who
    viewed my data".
    """
    if not venue_permissions.can_scan_at_venue(controller, venue):
        raise not_your_venue()
    text = " ".join((query or "").split())[:100]
    since = timezone.now() - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    visitors = Q(pk__in=CheckIn.objects.filter(venue=venue, arrived_at__gte=since).values(
        "person_id"
    ))
    condition: Q | None = None
    kind = ""
    if _DIGITS.search(text):
        kind = "number"
        compact = re.sub(r"\s", "", text).upper()
        number = Q(id_number=compact)
        try:
            number |= Q(phone=normalize_phone(text))
        except PhoneError:
            pass
        condition = number & (visitors | Q(commune_id=venue.commune_id))
    elif len(fold(text)) >= 2:
        kind = "name"
        condition = visitors & Q(name_folded__contains=fold(text))
    if condition is None:
        return []
    with transaction.atomic():
        found = list(Person.objects.filter(condition).order_by("name_folded", "pk")[:LOOKUP_LIMIT])
        purpose = str(_("Tra cứu người đến để khai báo hộ tại %(venue)s") % {"venue": venue.name})
        audit_record(
            actor=controller,
            action=AuditAction.PERSON_SEARCH,
            purpose=purpose,
            request=request,
            unit=venue.commune,
            target=f"venue:{venue.code}",
            detail={"kind": kind, "results": len(found), "person_ids": [p.pk for p in found]},
        )
        audit_record_found(actor=controller, people=found, purpose=purpose, request=request,
                           unit=venue.commune, target=f"venue:{venue.code}",
                           detail={"kind": "door_lookup", "at_venue": venue.name})
    return found


def home_links_for(user: Viewer) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page: ``"mine"`` for everyone logged in, and
    ``"control"`` for venue staff (truyvet.site.selectors.home_sections_for)."""
    if not getattr(user, "is_authenticated", False):
        return {"mine": [], "control": []}
    mine = [
        (reverse("checkins:personal_qr"), gettext("Mã QR cá nhân")),
        (reverse("checkins:history"), gettext("Nơi đã đến")),
    ]
    control = []
    if venues_scannable_by(user).exists():
        control.append((reverse("checkins:control_index"), gettext("Kiểm soát ra vào")))
    return {"mine": mine, "control": control}


# --- A venue's visitors (owners and venue admins) -----------------------------------


@dataclass(frozen=True)
class VisitorEntry:
    """One visit as the venue sees it: never the full name or number."""

    arrived_at: datetime
    ends_at: datetime
    name: str
    phone: str
    method: str
    method_label: str


@dataclass(frozen=True)
class VisitorLog:
    since: date
    until: date
    total: int
    entries: list[VisitorEntry]


def default_log_range() -> tuple[date, date]:
    """The last 7 days, today included (local time)."""
    today = timezone.localdate()
    return today - timedelta(days=6), today


def _check_range(since: date, until: date) -> None:
    errors = ErrorCollector()
    if since > until:
        errors.add("since", gettext_lazy("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc."),
                   "bad_range")
    elif (until - since).days >= VISITOR_LOG_MAX_DAYS:
        errors.add("since", gettext_lazy("Chỉ xem được tối đa 366 ngày một lần."), "too_long")
    errors.raise_if_any(gettext_lazy("Khoảng thời gian không hợp lệ."))


def _require_log_access(viewer: Viewer, venue: Venue) -> None:
    if not venue_permissions.can_view_visitor_log(viewer, venue):
        raise NotAllowed(gettext("Chỉ chủ địa điểm và quản trị địa điểm được xem nhật ký khách."))


def _visits(venue: Venue, since: date, until: date) -> QuerySet[CheckIn]:
    start, end = period_bounds(since, until)
    return (
        CheckIn.objects.filter(venue=venue, arrived_at__gte=start, arrived_at__lt=end)
        .select_related("person")
        .only("arrived_at", "ends_at", "method", "person__full_name", "person__phone")
        .order_by("-arrived_at", "pk")
    )


def _entry(checkin: CheckIn) -> VisitorEntry:
    return VisitorEntry(
        arrived_at=checkin.arrived_at,
        ends_at=checkin.ends_at,
        name=mask_name(checkin.person.full_name),
        phone=mask_phone(checkin.person.phone),
        method=checkin.method,
        method_label=str(CheckInMethod(checkin.method).label)
        if checkin.method in CheckInMethod.values else checkin.method,
    )


def venue_visitor_log(
    *, viewer: Viewer, venue: Venue, since: date, until: date, limit: int = 100, offset: int = 0
) -> VisitorLog:
    """Visits that began between ``since`` and ``until`` (local dates,
    inclusive), newest first, masked. Owners and venue admins only:
    controllers and officers get NotAllowed."""
    _require_log_access(viewer, venue)
    _check_range(since, until)
    visits = _visits(venue, since, until)
    limit, offset = page_window(limit=limit, offset=offset, max_limit=500)
    entries = [_entry(c) for c in visits[offset : offset + limit]]
    return VisitorLog(since=since, until=until, total=visits.count(), entries=entries)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def visitor_log_headers() -> list[str]:
    return [gettext("Giờ đến"), gettext("Giờ rời (dự kiến)"), gettext("Họ tên"),
            gettext("Số điện thoại"), gettext("Cách ghi nhận")]


def venue_visitor_log_export(
    *, viewer: Viewer, venue: Venue, since: date, until: date, fmt: str,
    request: HttpRequest | None = None,
) -> ExportFile:
    """The masked visitor log as CSV or XLSX, audited as an export in the
    same transaction (an export whose audit fails is never served)."""
    _require_log_access(viewer, venue)
    _check_range(since, until)
    if fmt not in ("csv", "xlsx"):
        errors = ErrorCollector()
        errors.add("format", gettext_lazy("Định dạng phải là csv hoặc xlsx."))
        errors.raise_if_any(gettext_lazy("Định dạng không hợp lệ."))
    zone = local_zone()
    with transaction.atomic():
        rows = [
            [
                # Real times (local, without a zone: a cell has none).
                entry.arrived_at.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0),
                entry.ends_at.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0),
                entry.name, formats.phone(entry.phone), entry.method_label,
            ]
            for entry in map(_entry, _visits(venue, since, until)[:EXPORT_MAX_ROWS])
        ]
        audit_record(
            actor=viewer, action=AuditAction.EXPORT, request=request,
            purpose=gettext("Xuất nhật ký khách của địa điểm"), target=f"venue:{venue.code}",
            unit=venue.commune,
            detail={"since": since.isoformat(), "until": until.isoformat(), "rows": len(rows),
                    "format": fmt},
        )
    stem = f"khach-{venue.code}-{since:%Y%m%d}-{until:%Y%m%d}"
    if fmt == "xlsx":
        content = importing.table_xlsx(
            title=gettext("Nhật ký khách"), headers=visitor_log_headers(), rows=rows
        )
        return ExportFile(content, importing.XLSX_TYPE, f"{stem}.xlsx")
    return ExportFile(
        importing.table_csv(headers=visitor_log_headers(), rows=rows), importing.CSV_TYPE,
        f"{stem}.csv",
    )


@dataclass(frozen=True)
class DayCount:
    day: date
    visits: int


def venue_visits_per_day(
    *, viewer: Viewer, venue: Venue, since: date, until: date
) -> list[DayCount]:
    """Visits per local day from ``since`` to ``until``, every day listed
    (0 when none); counts only, for those who manage the venue."""
    if not venue_permissions.can_manage_venue(viewer, venue):
        raise NotAllowed(gettext("Bạn không có quyền xem số lượt khách của địa điểm này."))
    _check_range(since, until)
    start, end = period_bounds(since, until)
    counts = {
        row["day"]: row["n"]
        for row in CheckIn.objects.filter(venue=venue, arrived_at__gte=start, arrived_at__lt=end)
        .annotate(day=TruncDate("arrived_at", tzinfo=local_zone()))
        .values("day").annotate(n=Count("id")).order_by()
    }
    days = (until - since).days + 1
    return [
        DayCount(day=since + timedelta(days=i), visits=counts.get(since + timedelta(days=i), 0))
        for i in range(days)
    ]
