"""Reads for reports, scoped to the viewer.

A *scope* is a unit (commune, district, province) or the whole country. The
dashboard of a scope is read from the rollups (``truyvet.reports.rollups``)
and the venue table, never from check-ins, in six queries whatever the
number of check-ins, venues or days:

1. the scope's child units (its communes, districts or provinces);
2. the scope's communes, to find each one's child unit;
3. venues registered, by commune and venue type (the venue table alone);
4. venues active in the last 1 and 7 days, from the venues' last scans;
5. scans and distinct people per day, for the scope by venue type and for
   each child unit;
6. the oldest check-in write the worker has not folded into the rollups
   yet, if any: the figures count every write before it
   (``Dashboard.counted_until``, decision 0022).

"Active in the last 1 / 7 days" is measured back from ``as_of``: now, when
the period ends today (from each venue's last scan); otherwise the end of
the period's last day (from the daily rollups).

The dashboard and the inactive venues of an export are read through
``reporting_read`` (``truyvet.core.db_router``): from the read replica when
there is one, because they tolerate its lag. The inactive-venue page is not:
it is shown right after reminders are sent, and must show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts import permissions as account_permissions
from truyvet.accounts.models import Person, User, Viewer
from truyvet.core.db_router import reporting_read
from truyvet.core.errors import ErrorCollector, NotAllowed, NotFound
from truyvet.core.models import AuditAction
from truyvet.core.pagination import page_window
from truyvet.core.services import audit_record
from truyvet.core.time import day_bounds
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.reports import permissions
from truyvet.reports.models import (
    ALL_TYPES,
    NATION,
    AreaDay,
    GeneratedReport,
    ReportRecipient,
    RollupChange,
    VenueActivity,
    VenueDay,
    VenueReminder,
)
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus, VenueType

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 14
INACTIVE_PAGE_SIZE = 50
INACTIVE_EXPORT_MAX = 20_000
UNIT_RELATED = ("parent", "parent__parent")


# --- Scopes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A unit, or the whole country (``unit`` None)."""

    unit: AdministrativeUnit | None

    @property
    def key(self) -> int:
        return self.unit.pk if self.unit is not None else NATION

    @property
    def slug(self) -> str:
        return str(self.unit.pk) if self.unit is not None else "nation"

    @property
    def name(self) -> str:
        return self.unit.name if self.unit is not None else _("Toàn quốc")

    @property
    def full_name(self) -> str:
        return self.unit.full_name if self.unit is not None else _("Toàn quốc")

    @property
    def level(self) -> int:
        return self.unit.level if self.unit is not None else 0

    @property
    def is_commune(self) -> bool:
        return self.level == Level.COMMUNE

    def child_label(self) -> str:
        return {0: _("Tỉnh/thành phố"), Level.PROVINCE: _("Quận/huyện")}.get(
            self.level, _("Xã/phường/thị trấn")
        )


SCOPE_NOT_FOUND = gettext_lazy("Không tìm thấy đơn vị này.")


def scope_for(*, viewer: User, slug: str) -> Scope:
    """The scope named ``slug`` ("nation" or a unit id) if the viewer may see
    its dashboard; NotFound for an unknown unit, NotAllowed otherwise."""
    slug = (slug or "").strip()
    unit = None
    if slug != "nation":
        if not slug.isdigit():
            raise NotFound(SCOPE_NOT_FOUND)
        unit = AdministrativeUnit.objects.select_related(*UNIT_RELATED).filter(
            pk=int(slug)).first()
        if unit is None:
            raise NotFound(SCOPE_NOT_FOUND)
    if not permissions.can_view_dashboard(viewer, unit):
        raise NotAllowed(_("Bạn chỉ xem được báo cáo của địa bàn mình phụ trách."))
    return Scope(unit=unit)


def scopes_for(viewer: User) -> list[Scope]:
    """The scopes the viewer's roles give: the country for system admins,
    otherwise each officer unit (units inside another of them left out)."""
    if not permissions.can_use_reports(viewer):
        return []
    if account_permissions.is_system_admin(viewer):
        return [Scope(unit=None)]
    units = sorted(
        {
            u.pk: u
            for u in account_permissions.scope_units(viewer, account_permissions.OFFICER_ROLES)
        }.values(),
        key=lambda u: u.path,
    )
    kept: list[AdministrativeUnit] = []
    for unit in units:
        if not any(outer.contains(unit) for outer in kept):
            kept.append(unit)
    return [Scope(unit=unit) for unit in kept]


def breadcrumbs_for(viewer: User, scope: Scope) -> list[Scope]:
    """The scopes above ``scope`` that the viewer may open, top first."""
    above: list[Scope] = []
    unit = scope.unit.parent if scope.unit is not None else None
    while unit is not None:
        if permissions.can_view_dashboard(viewer, unit):
            above.append(Scope(unit=unit))
        unit = unit.parent
    if scope.unit is not None and permissions.can_view_dashboard(viewer, None):
        above.append(Scope(unit=None))
    return list(reversed(above))


# --- Periods --------------------------------------------------------------------------------


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last DEFAULT_PERIOD_DAYS days, today included."""
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today


def period_clean(
    *, since: date | None, until: date | None, today: date | None = None
) -> tuple[date, date]:
    """A reporting period (local dates, inclusive); either end may be left
    out (until: today, since: DEFAULT_PERIOD_DAYS days before until)."""
    today = today or timezone.localdate()
    until = until or today
    since = since or until - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    errors = ErrorCollector()
    if until > today:
        errors.add("until", gettext_lazy("Ngày kết thúc không được ở tương lai."), "future")
    if since > until:
        errors.add("since", gettext_lazy("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc."),
                   "bad_range")
    elif (until - since).days >= MAX_PERIOD_DAYS:
        errors.add("since", gettext_lazy("Một báo cáo dài tối đa 366 ngày."), "too_long")
    errors.raise_if_any(gettext_lazy("Khoảng thời gian không hợp lệ."))
    return since, until


# --- Epidemic levels -------------------------------------------------------------------------


def epidemic_levels_for(units: list[AdministrativeUnit]) -> dict[int, int | None]:
    """The epidemic level (1 green, 2 yellow, 3 orange, 4 red; Resolution
    128/NQ-CP) of each unit, or None where none is set.

    Levels are set by the declarations issue; until then every unit has
    None and the dashboards show a neutral mark. This is the one place to
    read them from.
    """
    return {unit.pk: None for unit in units}


# --- The dashboard -------------------------------------------------------------------------------


@dataclass
class Figures:
    """The numbers shown for a scope, a child unit or a venue type."""

    registered: int = 0  # venues on record, closed ones excepted
    suspended: int = 0
    pending: int = 0
    active_1d: int = 0  # with a visit in the day before as_of
    active_7d: int = 0  # with a visit in the 7 days before as_of
    scans: int = 0  # visits in the period
    person_days: int = 0  # distinct people per day, added over the period's days
    days: int = 1

    @property
    def inactive_7d(self) -> int:
        return self.registered - self.active_7d

    @property
    def share_active_7d(self) -> float | None:
        """Percent of registered venues active in the last 7 days."""
        if not self.registered:
            return None
        return round(100 * self.active_7d / self.registered, 1)

    @property
    def people_per_day(self) -> float:
        return round(self.person_days / max(self.days, 1), 1)

    def add_venues(self, row: dict[str, Any]) -> None:
        get = row.get
        self.registered += get("registered", 0)
        self.suspended += get("suspended", 0)
        self.pending += get("pending", 0)
        self.active_1d += get("active_1d", 0)
        self.active_7d += get("active_7d", 0)


@dataclass(frozen=True)
class DayFigures:
    day: date
    scans: int
    people: int


@dataclass
class UnitRow:
    unit: AdministrativeUnit
    figures: Figures
    epidemic_level: int | None
    days: list[DayFigures] = field(default_factory=list)


@dataclass
class TypeRow:
    venue_type: str
    label: str
    figures: Figures
    days: list[DayFigures] = field(default_factory=list)


@dataclass
class Dashboard:
    scope: Scope
    since: date
    until: date
    as_of: datetime
    live: bool  # the period ends today: activity as of now
    # Every check-in written before this is counted; later ones wait for the
    # worker's next fold. None: every check-in written is counted.
    counted_until: datetime | None
    totals: Figures
    units: list[UnitRow]
    types: list[TypeRow]
    days: list[DayFigures]


def _children(scope: Scope, using: str) -> list[AdministrativeUnit]:
    if scope.is_commune:
        assert scope.unit is not None
        return [scope.unit]
    units = AdministrativeUnit.objects.using(using).select_related(*UNIT_RELATED)
    if scope.unit is None:
        return list(units.filter(parent__isnull=True).order_by("path"))
    return list(units.filter(parent=scope.unit).order_by("path"))


def _venues_in(scope: Scope) -> QuerySet[Venue]:
    venues = Venue.objects.exclude(status=VenueStatus.CLOSED)
    if scope.unit is not None:
        venues = venues.filter(commune__path__startswith=scope.unit.path)
    return venues


def _communes_by_child(
    scope: Scope, children: list[AdministrativeUnit], using: str
) -> dict[int, int]:
    """Each commune of the scope, mapped to the child unit it lies in."""
    if scope.is_commune:
        assert scope.unit is not None
        return {scope.unit.pk: scope.unit.pk}
    by_path = {child.path: child.pk for child in children}
    prefix = len(children[0].path) if children else 0
    communes = AdministrativeUnit.objects.using(using).filter(level=Level.COMMUNE)
    if scope.unit is not None:
        communes = communes.filter(path__startswith=scope.unit.path)
    return {
        commune: by_path[path[:prefix]]
        for commune, path in communes.values_list("pk", "path") if path[:prefix] in by_path
    }


@dataclass(frozen=True)
class _Activity:
    """How "active" is measured for a dashboard: back from ``as_of``."""

    as_of: datetime
    live: bool  # as_of is now: from each venue's last scan
    until: date


def _activity(*, until: date, now: datetime) -> _Activity:
    if until >= timezone.localdate(now):
        return _Activity(as_of=now, live=True, until=until)
    return _Activity(as_of=day_bounds(until)[1], live=False, until=until)


def _venue_rows(
    scope: Scope, communes: dict[int, int], activity: _Activity, using: str
) -> list[dict[str, Any]]:
    """Venues registered (by status) and active in the last 1 and 7 days,
    by commune and type, in two queries on the venue table's own columns
    (no join per venue): registered over the scope's venues, active over
    only those that had a visit in the window."""
    def of_scope(prefix: str) -> Q:
        """Open venues of the scope (registered by ``as_of`` for a past period)."""
        condition = ~Q(**{f"{prefix}status": VenueStatus.CLOSED})
        if scope.unit is not None:
            condition &= Q(**{f"{prefix}commune_id__in": list(communes)})
        if not activity.live:
            condition &= Q(**{f"{prefix}created_at__lt": activity.as_of})
        return condition

    rows: list[dict[str, Any]] = [
        dict(row) for row in
        Venue.objects.using(using).filter(of_scope("")).values("commune_id", "venue_type").annotate(
            registered=Count("pk"),
            suspended=Count("pk", filter=Q(status=VenueStatus.SUSPENDED)),
            pending=Count("pk", filter=Q(status=VenueStatus.PENDING)),
        ).order_by()
    ]
    active: Any
    if activity.live:
        active = (
            VenueActivity.objects.using(using).filter(of_scope("venue__"),
                                         last_scan_at__gt=activity.as_of - timedelta(days=7))
            .values("venue__commune_id", "venue__venue_type")
            .annotate(
                active_7d=Count("pk"),
                active_1d=Count("pk", filter=Q(
                    last_scan_at__gt=activity.as_of - timedelta(days=1))),
            ).order_by()
        )
    else:
        active = (
            VenueDay.objects.using(using).filter(of_scope("venue__"),
                                    day__gte=activity.until - timedelta(days=6),
                                    day__lte=activity.until)
            .values("venue__commune_id", "venue__venue_type")
            .annotate(
                active_7d=Count("venue", distinct=True),
                active_1d=Count("venue", distinct=True, filter=Q(day=activity.until)),
            ).order_by()
        )
    rows += [
        {"commune_id": row["venue__commune_id"], "venue_type": row["venue__venue_type"],
         "active_1d": row["active_1d"], "active_7d": row["active_7d"]}
        for row in active
    ]
    return rows


def dashboard_for(
    *, viewer: User, scope: Scope, since: date, until: date, now: datetime | None = None
) -> Dashboard:
    """The scope's dashboard for the period (checked with ``period_clean``
    first), if the viewer may see it. Counts only, no personal data."""
    if not permissions.can_view_dashboard(viewer, scope.unit):
        raise NotAllowed(_("Bạn chỉ xem được báo cáo của địa bàn mình phụ trách."))
    return dashboard_build(scope=scope, since=since, until=until, now=now)


def dashboard_cached(*, viewer: User, scope: Scope, since: date, until: date) -> Dashboard:
    """``dashboard_for``, kept in the cache for REPORTS_DASHBOARD_CACHE_SECONDS
    per scope, period and language: a province's dashboard at 10 M
    check-ins takes longer to build than the page's budget, and officers
    open the same one many times a minute. The page says how old its
    figures are (``as_of``). The permission check runs on every call; the
    files (exports, scheduled reports) and the API are always built fresh."""
    if not permissions.can_view_dashboard(viewer, scope.unit):
        raise NotAllowed(_("Bạn chỉ xem được báo cáo của địa bàn mình phụ trách."))
    seconds = settings.REPORTS_DASHBOARD_CACHE_SECONDS
    if not seconds:
        return dashboard_build(scope=scope, since=since, until=until)
    key = (f"reports:dashboard:{scope.slug}:{since.isoformat()}:{until.isoformat()}:"
           f"{translation.get_language()}")
    board = cache.get(key)
    if not isinstance(board, Dashboard):
        board = dashboard_build(scope=scope, since=since, until=until)
        cache.set(key, board, seconds)
    return board


def dashboard_build(
    *, scope: Scope, since: date, until: date, now: datetime | None = None
) -> Dashboard:
    """The dashboard without a permission check, for the worker's scheduled
    reports: six queries whatever the number of check-ins, venues or days,
    on the read replica when there is one."""
    moment = now or timezone.now()
    return reporting_read(
        lambda using: _dashboard(scope=scope, since=since, until=until, now=moment, using=using)
    )


def _dashboard(*, scope: Scope, since: date, until: date, now: datetime, using: str
               ) -> Dashboard:
    children = _children(scope, using)
    levels = epidemic_levels_for(children)
    period_days = (until - since).days + 1
    activity = _activity(until=until, now=now)

    # Venues, by child unit and type.
    unit_figures = {child.pk: Figures(days=period_days) for child in children}
    type_figures = {kind: Figures(days=period_days) for kind in VenueType.values}
    totals = Figures(days=period_days)
    if children:
        communes = _communes_by_child(scope, children, using)
        for row in _venue_rows(scope, communes, activity, using):
            child = communes.get(row["commune_id"])
            if child is not None:
                unit_figures[child].add_venues(row)
            if row["venue_type"] in type_figures:
                type_figures[row["venue_type"]].add_venues(row)
            totals.add_venues(row)

    # Scans and people per day: the scope by type, each child over all types.
    child_keys = [child.pk for child in children if child.pk != scope.key]
    per_day: dict[tuple[int, str], dict[date, tuple[int, int]]] = {}
    for area in (
        AreaDay.objects.using(using).filter(day__gte=since, day__lte=until)
        .filter(Q(unit_key=scope.key) | Q(unit_key__in=child_keys, venue_type=ALL_TYPES))
        .values("unit_key", "venue_type", "day")
        .annotate(scans=Sum("scans"), people=Sum("people")).order_by()
    ):
        per_day.setdefault((area["unit_key"], area["venue_type"]), {})[area["day"]] = (
            area["scans"], area["people"])

    day_list = [since + timedelta(days=n) for n in range(period_days)]

    def series(key: tuple[int, str], figures: Figures) -> list[DayFigures]:
        found = per_day.get(key, {})
        days = [DayFigures(day, *found.get(day, (0, 0))) for day in day_list]
        figures.scans = sum(d.scans for d in days)
        figures.person_days = sum(d.people for d in days)
        return days

    units = [
        UnitRow(unit=child, figures=unit_figures[child.pk], epidemic_level=levels[child.pk],
                days=series((child.pk, ALL_TYPES), unit_figures[child.pk]))
        for child in children
    ]
    if scope.unit is None:  # the country: only provinces that have anything
        units = [row for row in units if row.figures.registered or row.figures.scans]
    types = [
        TypeRow(venue_type=kind, label=str(label), figures=type_figures[kind],
                days=series((scope.key, kind), type_figures[kind]))
        for kind, label in VenueType.choices
    ]
    return Dashboard(
        scope=scope, since=since, until=until, as_of=activity.as_of, live=activity.live,
        counted_until=rollups_counted_until(using=using), totals=totals,
        units=units, types=types, days=series((scope.key, ALL_TYPES), totals),
    )


def rollups_counted_until(*, using: str = DEFAULT_DB_ALIAS) -> datetime | None:
    """When the oldest check-in write the rollups do not count yet was
    noted (every earlier one is counted), or None when none is waiting.
    One read of the notes' primary key, on the database the rollups are
    read from, so that it describes the figures beside it."""
    return (RollupChange.objects.using(using).order_by("id")
            .values_list("noted_at", flat=True).first())


# --- Inactive venues and their owners --------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    name: str  # empty for an invited owner without an account yet
    phone: str


@dataclass(frozen=True)
class InactiveVenue:
    venue: Venue
    last_scan_at: datetime | None
    reminders: int  # sent since the last scan (all of them if never scanned)
    last_reminded_on: date | None
    owners: list[Owner]

    @property
    def remindable(self) -> bool:
        return self.venue.status == VenueStatus.ACTIVE

    @property
    def suggest_suspension(self) -> bool:
        return self.reminders >= settings.REPORTS_REMINDERS_BEFORE_SUSPENSION


@dataclass(frozen=True)
class InactivePage:
    scope: Scope
    total: int
    offset: int
    limit: int
    venues: list[InactiveVenue]
    remindable: int = 0  # of ``total``, the active ones (a reminder can go to them)


# Reminders sent after this count when a venue never had a scan.
_BEFORE_ANY_SCAN = datetime(2000, 1, 1, tzinfo=UTC)


def _reminders_since_last_scan() -> Subquery:
    return Subquery(
        VenueReminder.objects.filter(venue=OuterRef("pk"))
        .filter(sent_at__gt=Coalesce(OuterRef("report_activity__last_scan_at"),
                                     Value(_BEFORE_ANY_SCAN)))
        .values("venue").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def inactive_venues_qs(
    scope: Scope, *, now: datetime | None = None, using: str = DEFAULT_DB_ALIAS,
    commune: int | None = None, venue_type: str = "",
) -> QuerySet[Venue]:
    """Venues of the scope (closed ones excepted) without a visit in the
    last 7 days, with ``last_scan_at``, ``reminders`` (since that scan) and
    ``last_reminded_on``; ordered by commune and name. ``commune`` (a unit
    of the scope, or below it) and ``venue_type`` narrow the list."""
    now = now or timezone.now()
    last_reminder = VenueReminder.objects.filter(venue=OuterRef("pk")).order_by("-day")
    venues = _venues_in(scope)
    if commune:
        unit = (AdministrativeUnit.objects.filter(pk=commune).first()
                if 0 < commune < 2**63 else None)
        venues = venues.filter(commune__path__startswith=unit.path) if unit else venues.none()
    if venue_type:
        venues = venues.filter(venue_type=venue_type)
    return (
        venues
        .filter(Q(report_activity__isnull=True)
                | Q(report_activity__last_scan_at__lte=now - timedelta(days=7)))
        .select_related("commune", "commune__parent", "commune__parent__parent",
                        "report_activity")
        .annotate(
            reminders=Coalesce(_reminders_since_last_scan(), 0),
            last_reminded_on=Subquery(last_reminder.values("day")[:1]),
        )
        .order_by("commune__path", "name_folded", "pk")
        .using(using)
    )


def _owners_of(venues: list[Venue], using: str) -> dict[int, list[Owner]]:
    owners: dict[int, list[Owner]] = {venue.pk: [] for venue in venues}
    for staff in (
        VenueStaff.objects.using(using).filter(venue__in=venues, role=StaffRole.OWNER)
        .select_related("user__person").order_by("added_at", "pk")
    ):
        person = getattr(staff.user, "person", None) if staff.user_id else None
        owners[staff.venue_id].append(
            Owner(name=person.full_name if person else "", phone=staff.phone))
    return owners


def _names_by_phone(owners: dict[int, list[Owner]], venues: list[Venue], using: str
                    ) -> dict[str, str]:
    """The registered person's name for each phone that has no name yet (an
    invited owner without an account, the venue's contact number): the
    officer calling needs to know whom to ask for."""
    unnamed = {o.phone for listed in owners.values() for o in listed if not o.name}
    unnamed |= {venue.contact_phone for venue in venues}
    unnamed.discard("")
    if not unnamed:
        return {}
    return dict(Person.objects.using(using).filter(phone__in=unnamed)
                .exclude(full_name="").values_list("phone", "full_name"))


def _inactive_entries(venues: list[Venue], using: str) -> list[InactiveVenue]:
    owners = _owners_of(venues, using)
    names = _names_by_phone(owners, venues, using)
    entries = []
    for venue in venues:
        activity = getattr(venue, "report_activity", None)
        listed = [o if o.name else Owner(name=names.get(o.phone, ""), phone=o.phone)
                  for o in owners[venue.pk]]
        if not any(owner.phone == venue.contact_phone for owner in listed):
            listed = [*listed, Owner(name=names.get(venue.contact_phone, ""),
                                     phone=venue.contact_phone)]
        entries.append(InactiveVenue(
            venue=venue, last_scan_at=activity.last_scan_at if activity else None,
            reminders=getattr(venue, "reminders", 0) or 0,
            last_reminded_on=getattr(venue, "last_reminded_on", None), owners=listed,
        ))
    return entries


def _require_contacts(viewer: User, scope: Scope) -> None:
    if not permissions.can_view_venue_contacts(viewer, scope.unit):
        raise NotAllowed(_("Bạn chỉ xem được địa điểm của địa bàn mình phụ trách."))


def province_path(unit: AdministrativeUnit) -> str:
    """The path of the province ``unit`` lies in ("2021/04/")."""
    return "/".join(unit.path.split("/")[:2]) + "/"


def scope_province(scope: Scope) -> AdministrativeUnit | None:
    """The province a scope lies in (none for the whole country)."""
    if scope.unit is None:
        return None
    return AdministrativeUnit.objects.filter(path=province_path(scope.unit)).first()


def inactive_communes(*, viewer: User, scope: Scope) -> list[tuple[int, str]]:
    """The communes of the scope that have inactive venues, for the filter."""
    _require_contacts(viewer, scope)
    ids = inactive_venues_qs(scope).values("commune_id").order_by().distinct()
    return [(unit.pk, unit.full_name) for unit in AdministrativeUnit.objects.filter(
        pk__in=ids).select_related("parent", "parent__parent").order_by("path")]


def inactive_venues_for(
    *, viewer: User, scope: Scope, offset: int = 0, limit: int = INACTIVE_PAGE_SIZE,
    request: HttpRequest | None = None, now: datetime | None = None,
    commune: int | None = None, venue_type: str = "",
) -> InactivePage:
    """One page of the scope's inactive venues with their owners' names and
    phones (officers call them). Each view is audited: the contacts are
    personal data. Read on the primary: the page is shown right after
    reminders are sent from it."""
    _require_contacts(viewer, scope)
    limit, offset = page_window(limit=limit, offset=offset, max_limit=500)
    venues_qs = inactive_venues_qs(scope, now=now, commune=commune, venue_type=venue_type)
    with transaction.atomic():
        total = venues_qs.count()
        remindable = venues_qs.filter(status=VenueStatus.ACTIVE).count()
        venues = list(venues_qs[offset:offset + limit])
        entries = _inactive_entries(venues, DEFAULT_DB_ALIAS)
        audit_record(
            actor=viewer, action=AuditAction.PERSON_READ, request=request,
            purpose=_("Xem liên hệ chủ các địa điểm chưa có lượt quét"),
            target=f"reports:inactive:{scope.slug}", unit=scope.unit,
            detail={"offset": offset, "shown": len(entries), "total": total},
        )
    return InactivePage(scope=scope, total=total, offset=offset, limit=limit, venues=entries,
                        remindable=remindable)


def inactive_venues_all(scope: Scope, *, now: datetime | None = None) -> list[InactiveVenue]:
    """Every inactive venue of the scope (at most INACTIVE_EXPORT_MAX) for an
    export, on the read replica when there is one; the caller audits the
    export."""
    def read(using: str) -> list[InactiveVenue]:
        venues = list(inactive_venues_qs(scope, now=now, using=using)[:INACTIVE_EXPORT_MAX])
        return _inactive_entries(venues, using)

    return reporting_read(read)


# --- Report files and recipients ---------------------------------------------------------------


def reports_of(*, viewer: User, scope: Scope) -> QuerySet[GeneratedReport]:
    if not permissions.can_export_report(viewer, scope.unit):
        raise NotAllowed(_("Bạn chỉ xem được báo cáo của địa bàn mình phụ trách."))
    return GeneratedReport.objects.filter(scope_key=scope.key).select_related("created_by")


def report_for(*, viewer: User, report_id: int) -> GeneratedReport:
    """A report file the viewer may download; NotFound alike for unknown ones
    and those of other units."""
    report = GeneratedReport.objects.select_related("unit").filter(pk=report_id).first()
    if report is None or not permissions.can_export_report(viewer, report.unit):
        raise NotFound(_("Không tìm thấy báo cáo này."))
    return report


def recipients_of(*, viewer: User, scope: Scope) -> QuerySet[ReportRecipient]:
    if not permissions.can_manage_report_recipients(viewer, scope.unit):
        raise NotAllowed(_("Bạn chỉ xem được báo cáo của địa bàn mình phụ trách."))
    return ReportRecipient.objects.filter(scope_key=scope.key).order_by("email")


def home_links_for(user: Viewer) -> list[tuple[str, str]]:
    from django.urls import reverse

    if not permissions.can_use_reports(user):
        return []
    return [(reverse("reports:index"), _("Báo cáo, thống kê địa điểm quét mã"))]
