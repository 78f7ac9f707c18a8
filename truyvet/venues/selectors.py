"""Reads of venues, their staff and their visitors, already scoped to the viewer.

- Officials see the venues of the communes their roles cover.
- Owners, venue admins and controllers see the venues they are staff of.
- Nobody else sees any venue through these selectors; the public scan page
  resolves one signed QR at a time (``qr.venue_qr_resolve``).

Visitor logs show masked names and phones and are for owners and venue
admins only; every export of one is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts import permissions as account_permissions
from truyvet.checkins.models import CheckIn, CheckInMethod
from truyvet.core.errors import ErrorCollector, NotAllowed, NotFound
from truyvet.core.masking import mask_name, mask_phone
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.venues import importing, permissions
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus, VenueType

VENUE_NOT_FOUND = gettext_lazy("Không tìm thấy địa điểm này.")
# What a list row needs, so the address and flags cost no query per row.
VENUE_RELATED = ("commune", "commune__parent", "commune__parent__parent",
                 "possible_duplicate_of")
EXPORT_MAX_ROWS = 100_000
VISITOR_LOG_MAX_DAYS = 366


def _role_subquery(user: Any) -> Subquery:
    return Subquery(
        VenueStaff.objects.filter(venue=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    )


def venue_scope_q(viewer: Any) -> Q:
    """Venues the viewer may see: in an official's scope, or staffed by them."""
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_active:
        return Q(pk__in=[])
    if account_permissions.is_system_admin(viewer):
        return Q()  # an empty Q would vanish from an OR below, not match all
    staffed = Q(pk__in=VenueStaff.objects.filter(user_id=viewer.pk).values("venue_id"))
    if not account_permissions.is_official(viewer):
        return staffed
    return account_permissions.unit_scope_q(viewer, "commune__path") | staffed


def venues_visible_to(
    viewer: Any,
    *,
    query: str = "",
    commune: str = "",
    status: str = "",
    venue_type: str = "",
    duplicates_only: bool = False,
) -> QuerySet[Venue]:
    """Venues in the viewer's scope, filtered; each carries ``my_role`` (the
    viewer's staff role there, or None). ``query`` matches the name without
    regard to diacritics or case, or a venue code exactly; ``commune`` is a
    GSO code."""
    venues = (
        Venue.objects.filter(venue_scope_q(viewer))
        .select_related(*VENUE_RELATED)
        .annotate(my_role=_role_subquery(viewer))
    )
    text = " ".join((query or "").split())
    if text:
        condition = Q(name_folded__contains=fold(text))
        if len(text) <= 12:
            condition |= Q(code=text.upper()) | Q(code=text)
        venues = venues.filter(condition)
    if commune:
        venues = venues.filter(commune__code=commune.strip())
    if status:
        venues = venues.filter(status=status)
    if venue_type:
        venues = venues.filter(venue_type=venue_type)
    if duplicates_only:
        venues = venues.filter(possible_duplicate_of__isnull=False)
    return venues.order_by("commune__path", "name_folded", "pk")


def venues_of(user: Any) -> QuerySet[Venue]:
    """The venues ``user`` is staff of, with ``my_role``: the owner's list."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Venue.objects.none()
    return (
        Venue.objects.filter(staff__user_id=user.pk)
        .select_related(*VENUE_RELATED)
        .annotate(my_role=_role_subquery(user))
        .order_by("name_folded", "pk")
    )


def venues_for_scanning(user: Any) -> QuerySet[Venue]:
    """Active venues where ``user`` may check people in (a controller
    serving several venues picks one of these at the door)."""
    return venues_of(user).filter(status=VenueStatus.ACTIVE)


def venue_for(*, viewer: Any, code: str) -> Venue:
    """The venue with ``code`` if the viewer may see it, with ``my_role``.
    Raises NotFound alike for unknown codes and venues out of scope."""
    venue = venues_visible_to(viewer).filter(code=(code or "").strip()).first()
    if venue is None:
        raise NotFound(VENUE_NOT_FOUND)
    return venue


def venue_staff_list(*, viewer: Any, venue: Venue) -> QuerySet[VenueStaff]:
    """The venue's staff, owners first; for those who manage the venue."""
    if not permissions.can_view_venue_staff(viewer, venue):
        raise NotAllowed(_("Bạn không có quyền xem nhân sự của địa điểm này."))
    order = {StaffRole.OWNER: 0, StaffRole.ADMIN: 1, StaffRole.CONTROLLER: 2}
    return (
        venue.staff.select_related("user", "user__person")
        .annotate(rank=Case(
            *(When(role=role, then=Value(rank)) for role, rank in order.items()),
            output_field=IntegerField(),
        ))
        .order_by("rank", "added_at", "pk")
    )


def venue_type_counts(viewer: Any) -> dict[str, int]:
    """How many venues of each type the viewer sees (every type listed)."""
    counts = {value: 0 for value in VenueType.values}
    for row in (
        Venue.objects.filter(venue_scope_q(viewer))
        .values("venue_type").annotate(n=Count("id")).order_by()
    ):
        counts[row["venue_type"]] = row["n"]
    return counts


# --- Visitors --------------------------------------------------------------------------------


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


def _local_day_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(since, dt_time.min, tzinfo=zone)
    end = datetime.combine(until + timedelta(days=1), dt_time.min, tzinfo=zone)
    return start, end


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


def _require_log_access(viewer: Any, venue: Venue) -> None:
    if not permissions.can_view_visitor_log(viewer, venue):
        raise NotAllowed(_("Chỉ chủ địa điểm và quản trị địa điểm được xem nhật ký khách."))


def _visits(venue: Venue, since: date, until: date) -> QuerySet[CheckIn]:
    start, end = _local_day_bounds(since, until)
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
    *, viewer: Any, venue: Venue, since: date, until: date, limit: int = 100, offset: int = 0
) -> VisitorLog:
    """Visits that began between ``since`` and ``until`` (local dates,
    inclusive), newest first, masked. Owners and venue admins only:
    controllers and officers get NotAllowed."""
    _require_log_access(viewer, venue)
    _check_range(since, until)
    visits = _visits(venue, since, until)
    limit = max(1, min(limit, 500))
    entries = [_entry(c) for c in visits[max(0, offset) : max(0, offset) + limit]]
    return VisitorLog(since=since, until=until, total=visits.count(), entries=entries)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def visitor_log_headers() -> list[str]:
    return [_("Giờ đến"), _("Giờ rời (dự kiến)"), _("Họ tên"), _("Số điện thoại"),
            _("Cách ghi nhận")]


def venue_visitor_log_export(
    *, viewer: Any, venue: Venue, since: date, until: date, fmt: str,
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
    zone = ZoneInfo(settings.TIME_ZONE)
    with transaction.atomic():
        rows = [
            [
                entry.arrived_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                entry.ends_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                entry.name, entry.phone, entry.method_label,
            ]
            for entry in map(_entry, _visits(venue, since, until)[:EXPORT_MAX_ROWS])
        ]
        audit_record(
            actor=viewer, action=AuditAction.EXPORT, request=request,
            purpose=_("Xuất nhật ký khách của địa điểm"), target=f"venue:{venue.code}",
            unit=venue.commune,
            detail={"since": since.isoformat(), "until": until.isoformat(), "rows": len(rows),
                    "format": fmt},
        )
    stem = f"khach-{venue.code}-{since:%Y%m%d}-{until:%Y%m%d}"
    if fmt == "xlsx":
        content = importing.table_xlsx(
            title=_("Nhật ký khách"), headers=visitor_log_headers(), rows=rows
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
    *, viewer: Any, venue: Venue, since: date, until: date
) -> list[DayCount]:
    """Visits per local day from ``since`` to ``until``, every day listed
    (0 when none); counts only, for those who manage the venue."""
    if not permissions.can_manage_venue(viewer, venue):
        raise NotAllowed(_("Bạn không có quyền xem số lượt khách của địa điểm này."))
    _check_range(since, until)
    start, end = _local_day_bounds(since, until)
    counts = {
        row["day"]: row["n"]
        for row in CheckIn.objects.filter(venue=venue, arrived_at__gte=start, arrived_at__lt=end)
        .annotate(day=TruncDate("arrived_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values("day").annotate(n=Count("id")).order_by()
    }
    days = (until - since).days + 1
    return [
        DayCount(day=since + timedelta(days=i), visits=counts.get(since + timedelta(days=i), 0))
        for i in range(days)
    ]


# --- Officers: units for bulk posters and imports ------------------------------------------------


def poster_units_for(viewer: Any) -> list[AdministrativeUnit]:
    """Districts and communes the officer may print every poster of."""
    if not account_permissions.is_officer(viewer):
        return []
    if account_permissions.is_system_admin(viewer):
        return []  # the whole country: admins pick by code
    units: list[AdministrativeUnit] = []
    seen: set[int] = set()
    for scope in account_permissions.scope_units(viewer, account_permissions.OFFICER_ROLES):
        below = AdministrativeUnit.objects.filter(
            path__startswith=scope.path, level__in=(Level.DISTRICT, Level.COMMUNE)
        ).select_related("parent").order_by("path")[:500]
        for unit in below:
            if unit.pk not in seen:
                seen.add(unit.pk)
                units.append(unit)
    return units


def venues_for_posters(*, viewer: Any, unit: AdministrativeUnit) -> QuerySet[Venue]:
    """The active and pending venues of ``unit`` (a commune or district), for
    one bulk PDF; officers over the unit only."""
    if not permissions.can_print_posters_for_unit(viewer, unit):
        raise NotAllowed(_("Bạn chỉ in được áp phích của địa bàn mình phụ trách."))
    return (
        Venue.objects.filter(commune__path__startswith=unit.path)
        .filter(status__in=(VenueStatus.ACTIVE, VenueStatus.PENDING))
        .select_related("commune", "commune__parent", "commune__parent__parent")
        .order_by("commune__path", "name_folded", "pk")
    )


def import_communes_for(viewer: Any) -> list[AdministrativeUnit]:
    """The communes an officer may import venues into, for the template's
    list (at most 2,000: a province; admins get none and use codes)."""
    if not account_permissions.is_officer(viewer) or account_permissions.is_system_admin(viewer):
        return []
    scope = account_permissions.unit_scope_q(viewer, "path", account_permissions.OFFICER_ROLES)
    return list(
        AdministrativeUnit.objects.filter(scope, level=Level.COMMUNE)
        .select_related("parent").order_by("path")[:2000]
    )


def home_links_for(user: Any) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page: everyone's own venues, and the officials'
    venue work."""
    from django.urls import reverse

    mine = [(reverse("venues:mine"), _("Địa điểm của tôi"))]
    official: list[tuple[str, str]] = []
    if account_permissions.is_official(user):
        official.append((reverse("venues:manage"), _("Địa điểm trong địa bàn")))
    if permissions.can_import_venues(user):
        official.append((reverse("venues:import"), _("Nhập địa điểm từ tệp")))
        official.append((reverse("venues:posters"), _("In áp phích hàng loạt")))
    return {"mine": mine, "official": official}
