"""Reads of vaccination records, already scoped to the viewer; reads of
other people's records are audited.

For the certificates work (issue 16): ``certificate_doses(person=...)``
gives a person's doses with their products mapped to the EU DCC value sets
(mp, ma, vp), the dose number and the doses of the series (dn/sd), and
whether the dose is under correction (``Dose`` with an open request): a
certificate should wait for the review.

Coverage pages read the rollups through ``reporting_db()`` (a replica when
configured), never the dose table; ``coverage_direct`` counts the same
figures from the dose table, for the tests and the benchmark.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from truyvet.accounts.models import Person
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.core.db_router import reporting_db
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.population import Headcount, population_national, population_of
from truyvet.vaccination.models import (
    OPEN_STATUSES,
    CorrectionRequest,
    CorrectionStatus,
    CoverageDay,
    CoverageReport,
    CoverageTotal,
    Dose,
    DoseChange,
    DoseImport,
    DoseKind,
    Measure,
    Vaccine,
)
from truyvet.vaccination.permissions import (
    can_import_doses,
    can_use_vaccination_desk,
    can_view_correction,
    can_view_coverage,
    can_view_doses_of,
    can_view_site,
    correction_queue_q,
    coverage_units,
    is_national_viewer,
    scope_q,
)
from truyvet.vaccination.rollups import (
    NATION,
    UNKNOWN_AGE,
    age_bounds,
    age_groups,
    state_of,
)
from truyvet.vaccination.rules import BOOSTER_MIN_DAYS, Catalogue, Shot, course_of, show_day
from truyvet.venues.models import Venue, VenueType

UNIT_RELATED = ("parent", "parent__parent")


# --- A person's doses -----------------------------------------------------------------------------


def _with_open_corrections(doses: QuerySet[Dose]) -> QuerySet[Dose]:
    return doses.annotate(under_correction=Exists(CorrectionRequest.objects.filter(
        dose=OuterRef("pk"), status__in=OPEN_STATUSES)))


def doses_of(person: Person) -> list[Dose]:
    """The person's doses in order, each with ``under_correction``."""
    return list(_with_open_corrections(
        Dose.objects.filter(person=person).select_related("vaccine", "site", "site__commune")
    ).order_by("dose_number"))


def my_doses(*, user: Any) -> list[Dose]:
    person = getattr(user, "person", None)
    if person is None:
        return []
    return doses_of(person)


def person_doses_for(*, viewer: Any, person: Person, request: HttpRequest | None = None
                     ) -> list[Dose]:
    """A person's doses for an official (audited) or for themselves."""
    if not can_view_doses_of(viewer, person):
        raise NotAllowed(_("Bạn không xem được hồ sơ tiêm chủng của người này."))
    if getattr(viewer, "person_id", None) != person.pk:
        audit_record(actor=viewer, action=AuditAction.PERSON_READ, request=request,
                     purpose=_("Xem hồ sơ tiêm chủng"), subject_person=person,
                     target=f"vaccination:person:{person.pk}", unit=person.commune)
    return doses_of(person)


def person_for(*, viewer: Any, person_id: int) -> Person:
    person = Person.objects.select_related("commune", *[f"commune__{r}" for r in UNIT_RELATED]
                                           ).filter(pk=person_id).first()
    if person is None or not can_view_doses_of(viewer, person):
        raise NotFound(_("Không tìm thấy người này."))
    return person


def dose_history_of(person: Person) -> QuerySet[DoseChange]:
    return DoseChange.objects.filter(person=person).select_related("changed_by__person")


@dataclass(frozen=True)
class Due:
    """What is next for the person, in words and with the day it is due."""

    code: str  # "first", "primary", "booster", "done"
    text: str
    from_day: date | None = None


def due_for(doses: list[Dose], *, catalogue: Catalogue | None = None,
            today: date | None = None) -> Due:
    """The next dose: the rest of the primary course after the product's
    interval, then a booster six months after the course."""
    catalogue = catalogue or Catalogue.load()
    today = today or timezone.localdate()
    if not doses:
        return Due("first", _("Chưa có mũi tiêm nào được ghi nhận. Nếu bạn đã tiêm, hãy báo "
                              "thiếu mũi; nếu chưa, hãy đăng ký tiêm tại trạm y tế."))
    shots = [Shot(d.dose_number, d.kind, d.vaccine_id, d.given_on) for d in doses]
    done, needed, course = course_of(shots, catalogue)
    last = max(shots, key=lambda shot: shot.number)
    if done < needed:
        product = catalogue.products.get(course)
        gap = product.min_interval_days if product else 28
        day = last.given_on + timedelta(days=gap)
        return Due("primary", _("Mũi %(number)s (%(product)s) từ ngày %(day)s để hoàn thành "
                                "liều cơ bản.") % {"number": done + 1,
                                                   "product": catalogue.name(course),
                                                   "day": show_day(max(day, today))}, day)
    if not any(shot.kind == DoseKind.BOOSTER for shot in shots):
        primaries = [shot for shot in shots if shot.kind == DoseKind.PRIMARY]
        day = primaries[-1].given_on + timedelta(days=BOOSTER_MIN_DAYS)
        return Due("booster", _("Đã đủ liều cơ bản. Mũi nhắc lại từ ngày %(day)s.")
                   % {"day": show_day(day)}, day)
    return Due("done", _("Đã tiêm đủ liều cơ bản và mũi nhắc lại."))


# --- For certificates (issue 16) ------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateDose:
    """A dose as a vaccination certificate states it (EU DCC ``v`` entry)."""

    dose_id: int
    dose_number: int  # dn
    series_doses: int  # sd: the primary course's doses, or dn for a booster
    given_on: date  # dt
    product: str  # mp, vaccine-medicinal-product
    manufacturer: str  # ma, vaccine-mah-manf
    vaccine_type: str  # vp, vaccine-prophylaxis
    kind: str  # primary, additional, booster
    country: str  # co
    site: str
    under_correction: bool


def certificate_doses(*, person: Person) -> list[CertificateDose]:
    """Every dose of ``person`` in order with its DCC codes. A dose under
    correction (an open request about it) is flagged: certify it once the
    request is decided. Two queries."""
    vaccines = {v.code: v for v in Vaccine.objects.all()}
    doses = doses_of(person)
    first_primary = next((d for d in doses if d.kind == DoseKind.PRIMARY), None)
    course = vaccines[first_primary.vaccine_id].primary_doses if first_primary else 1
    found = []
    for dose in doses:
        vaccine = vaccines[dose.vaccine_id]
        found.append(CertificateDose(
            dose_id=dose.pk, dose_number=dose.dose_number,
            series_doses=course if dose.kind == DoseKind.PRIMARY else max(dose.dose_number,
                                                                          course),
            given_on=dose.given_on, product=vaccine.dcc_product,
            manufacturer=vaccine.dcc_manufacturer, vaccine_type=vaccine.dcc_vaccine_type,
            kind=dose.kind, country="VN", site=dose.where,
            under_correction=bool(getattr(dose, "under_correction", False))))
    return found


def doses_under_correction(*, person: Person) -> bool:
    return CorrectionRequest.objects.filter(person=person, status__in=OPEN_STATUSES).exists()


# --- Sites ----------------------------------------------------------------------------------------


def site_for(*, viewer: Any, code: str) -> Venue:
    site = Venue.objects.select_related("commune", "commune__parent").filter(
        code=(code or "").strip().upper()).first()
    if site is None or not can_view_site(viewer, site):
        raise NotFound(_("Không tìm thấy điểm tiêm này."))
    return site


def site_doses(*, viewer: Any, site: Venue, day: date | None = None,
               request: HttpRequest | None = None) -> QuerySet[Dose]:
    """Doses given at the site (on ``day`` when given), newest first; each
    view of the list is audited (it names the people vaccinated)."""
    if not can_view_site(viewer, site):
        raise NotAllowed(_("Bạn không xem được danh sách của điểm tiêm này."))
    audit_record(actor=viewer, action=AuditAction.PERSON_READ, request=request,
                 purpose=_("Xem danh sách tiêm tại điểm tiêm"),
                 target=f"vaccination:site:{site.code}", unit=site.commune,
                 detail={"day": day.isoformat() if day else None})
    doses = Dose.objects.filter(site=site).select_related("person", "vaccine")
    if day is not None:
        doses = doses.filter(given_on=day)
    return doses.order_by("-given_on", "-recorded_at", "-pk")


def sites_for(viewer: Any) -> QuerySet[Venue]:
    """The vaccination sites the viewer works at or oversees."""
    staffed = Q(staff__user=viewer) if getattr(viewer, "is_authenticated", False) else Q(
        pk__in=[])
    return (Venue.objects.filter(venue_type=VenueType.VACCINATION)
            .filter(staffed | scope_q(viewer, "commune__path"))
            .select_related("commune", "commune__parent").distinct().order_by("name"))


def imports_of(*, site: Venue) -> QuerySet[DoseImport]:
    return DoseImport.objects.filter(site=site).select_related("uploaded_by__person")[:20]


def import_for(*, viewer: Any, batch_id: int) -> DoseImport:
    batch = DoseImport.objects.select_related("site", "site__commune").filter(
        pk=batch_id).first()
    if batch is None:
        raise NotFound(_("Không tìm thấy lần nhập này."))
    if not (can_import_doses(viewer, batch.site) or batch.uploaded_by_id == getattr(
            viewer, "pk", None) and viewer.is_authenticated):
        raise NotFound(_("Không tìm thấy lần nhập này."))
    return batch


# --- Correction requests --------------------------------------------------------------------------


def corrections_of(*, person: Person) -> QuerySet[CorrectionRequest]:
    return CorrectionRequest.objects.filter(person=person).select_related(
        "dose", "dose__vaccine").order_by("-filed_at")


def correction_queue(*, viewer: Any) -> QuerySet[CorrectionRequest]:
    """Open requests the viewer reviews, the oldest first (by when the
    identity was confirmed)."""
    return (CorrectionRequest.objects.filter(status=CorrectionStatus.OPEN)
            .filter(correction_queue_q(viewer)).distinct()
            .select_related("person", "dose", "dose__vaccine", "review_site", "review_unit")
            .order_by("confirmed_at", "pk"))


def correction_for(*, viewer: Any, correction_id: int) -> CorrectionRequest:
    correction = (CorrectionRequest.objects.select_related(
        "person", "person__commune", "dose", "dose__vaccine", "dose__site", "proposed_vaccine",
        "proposed_site", "review_site", "review_unit", "filed_by__person")
        .filter(pk=correction_id).first())
    if correction is None or not can_view_correction(viewer, correction):
        raise NotFound(_("Không tìm thấy yêu cầu này."))
    return correction


def evidence_for(*, viewer: Any, correction: CorrectionRequest, evidence_id: int,
                 request: HttpRequest | None = None) -> Any:
    """One evidence file of a request the viewer may see; every view is
    audited, the person's own included."""
    item = correction.evidence.filter(pk=evidence_id).first()
    if item is None or not can_view_correction(viewer, correction):
        raise NotFound(_("Không tìm thấy tệp này."))
    audit_record(actor=viewer, action=AuditAction.PERSON_READ, request=request,
                 purpose=_("Xem minh chứng của yêu cầu điều chỉnh tiêm chủng"),
                 subject_person=correction.person,
                 target=f"vaccination:evidence:{item.pk}", unit=correction.person.commune)
    return item


# --- Coverage -------------------------------------------------------------------------------------


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
        return self.unit.name if self.unit is not None else str(_("Toàn quốc"))

    @property
    def full_name(self) -> str:
        return self.unit.full_name if self.unit is not None else str(_("Toàn quốc"))

    @property
    def is_commune(self) -> bool:
        return self.unit is not None and self.unit.level == Level.COMMUNE


def coverage_scope_for(*, viewer: Any, slug: str) -> Scope:
    slug = (slug or "").strip()
    unit = None
    if slug != "nation":
        if not slug.isdigit():
            raise NotFound(_("Không tìm thấy đơn vị này."))
        unit = AdministrativeUnit.objects.select_related(*UNIT_RELATED).filter(
            pk=int(slug)).first()
        if unit is None:
            raise NotFound(_("Không tìm thấy đơn vị này."))
    if not can_view_coverage(viewer, unit):
        raise NotAllowed(_("Bạn chỉ xem được số liệu của địa bàn mình phụ trách."))
    return Scope(unit=unit)


MEASURES = [int(m) for m in Measure.values]


@dataclass
class CoverageRow:
    """One area's figures: people per measure, all ages and 18 and over,
    and its population."""

    unit: AdministrativeUnit | None
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    adults: dict[int, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    population: Headcount = field(default_factory=Headcount)

    def share(self, measure: int) -> float | None:
        total = self.population.total
        return 100.0 * self.counts[measure] / total if total else None

    def adult_share(self, measure: int) -> float | None:
        adults = self.population.adults
        return 100.0 * self.adults[measure] / adults if adults else None

    def cells(self) -> list[tuple[int, int, float | None, int, float | None]]:
        """(measure, people, % of population, people 18+, % of 18+) each."""
        return [(m, self.counts[m], self.share(m), self.adults[m], self.adult_share(m))
                for m in MEASURES]


@dataclass
class AgeRow:
    group: int
    label: str
    counts: dict[int, int]


@dataclass
class TrendDay:
    day: date
    new: dict[int, int]
    total: dict[int, int]


@dataclass
class Coverage:
    scope: Scope
    totals: CoverageRow
    children: list[CoverageRow]
    ages: list[AgeRow]
    trend: list[TrendDay]
    since: date
    until: date

    def totals_by_measure(self) -> dict[int, int]:
        return dict(self.totals.counts)

    @property
    def child_label(self) -> str:
        if self.scope.unit is None:
            return str(_("Tỉnh/thành phố"))
        return str(_("Quận/huyện") if self.scope.unit.level == Level.PROVINCE
                   else _("Xã/phường/thị trấn"))


def group_label(group: int) -> str:
    if group == UNKNOWN_AGE:
        return str(_("Chưa rõ tuổi"))
    bounds = [0, *age_bounds()]
    index = bounds.index(group) if group in bounds else 0
    if index == 0:
        return str(_("Dưới %(age)s tuổi") % {"age": bounds[1]}) if len(bounds) > 1 else str(
            _("Mọi lứa tuổi"))
    if index == len(bounds) - 1:
        return str(_("Từ %(age)s tuổi") % {"age": group})
    return str(_("%(low)s–%(high)s tuổi") % {"low": group, "high": bounds[index + 1] - 1})


def _children(scope: Scope) -> list[AdministrativeUnit]:
    if scope.unit is None:
        return list(AdministrativeUnit.objects.using(reporting_db()).filter(
            level=Level.PROVINCE, scheme="2021").order_by("code"))
    if scope.is_commune:
        return []
    return list(AdministrativeUnit.objects.using(reporting_db()).filter(
        parent=scope.unit).order_by("code"))


COVERAGE_PERIOD_DAYS = 120


def coverage_build(*, scope: Scope, since: date | None = None, until: date | None = None
                   ) -> Coverage:
    """The scope's coverage from the rollups, in four queries: the child
    units, the totals of the scope and its children by measure and age
    group, their populations, and the scope's daily trend."""
    database = reporting_db()
    until = until or timezone.localdate()
    since = since or until - timedelta(days=COVERAGE_PERIOD_DAYS - 1)
    children = _children(scope)
    adult_groups = {g for g in age_groups() if g >= 18}
    keys = [scope.key, *[unit.pk for unit in children]]
    rows = {key: CoverageRow(unit=None) for key in keys}
    ages: dict[int, dict[int, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for key, measure, group, people in (CoverageTotal.objects.using(database)
                                        .filter(unit_key__in=keys)
                                        .values_list("unit_key", "measure", "age_group",
                                                     "people")):
        row = rows[key]
        row.counts[measure] += people
        if group in adult_groups:
            row.adults[measure] += people
        if key == scope.key:
            ages[group][measure] += people
    by_unit = population_of(children + ([scope.unit] if scope.unit else []), using=database)
    totals = rows[scope.key]
    totals.unit = scope.unit
    totals.population = (by_unit.get(scope.unit.pk, Headcount()) if scope.unit
                         else population_national(using=database))
    child_rows = []
    for unit in children:
        row = rows[unit.pk]
        row.unit, row.population = unit, by_unit.get(unit.pk, Headcount())
        child_rows.append(row)
    groups = [*age_groups(), UNKNOWN_AGE]
    age_rows = [AgeRow(group=g, label=group_label(g), counts=ages[g]) for g in groups
                if g != UNKNOWN_AGE or any(ages[g].values())]
    return Coverage(scope=scope, totals=totals, children=child_rows, ages=age_rows,
                    trend=_trend(scope.key, since, until, database), since=since, until=until)


def _trend(key: int, since: date, until: date, database: str) -> list[TrendDay]:
    running = dict.fromkeys(MEASURES, 0)
    daily: dict[date, dict[int, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for day, measure, people in (CoverageDay.objects.using(database)
                                 .filter(unit_key=key, day__lte=until)
                                 .values_list("day", "measure").annotate(n=Sum("people"))
                                 .order_by()):
        if day < since:
            running[measure] += people
        else:
            daily[day][measure] += people
    trend = []
    day = since
    while day <= until:
        new = daily.get(day, dict.fromkeys(MEASURES, 0))
        for measure in MEASURES:
            running[measure] += new[measure]
        trend.append(TrendDay(day=day, new=dict(new), total=dict(running)))
        day += timedelta(days=1)
    return trend


def coverage_for(*, viewer: Any, scope: Scope, since: date | None = None,
                 until: date | None = None) -> Coverage:
    if not can_view_coverage(viewer, scope.unit):
        raise NotAllowed(_("Bạn chỉ xem được số liệu của địa bàn mình phụ trách."))
    return coverage_build(scope=scope, since=since, until=until)


def coverage_for_unit(*, unit: AdministrativeUnit | None) -> Coverage:
    """Without a permission check: for the scheduled reports and the benchmark."""
    return coverage_build(scope=Scope(unit=unit))


def coverage_direct(*, unit: AdministrativeUnit | None) -> dict[int, int]:
    """People per measure in ``unit`` counted straight from the dose table
    (residents by their commune now), without the rollups."""
    primary_doses = dict(Vaccine.objects.values_list("code", "primary_doses"))
    doses = Dose.objects.all()
    if unit is not None:
        doses = doses.filter(person__commune__path__startswith=unit.path)
    counts = dict.fromkeys(MEASURES, 0)
    current: int | None = None
    mine: list[tuple[int, str, str, date]] = []

    def count() -> None:
        state = state_of(mine, areas=(), birth_date=None, birth_year=None,
                         primary_doses=primary_doses, bounds=[])
        for measure, _day, _group in state.measures():
            counts[measure] += 1

    for person_id, number, kind, product, day in (
            doses.order_by("person_id", "dose_number")
            .values_list("person_id", "dose_number", "kind", "vaccine_id", "given_on")
            .iterator(chunk_size=20_000)):
        if person_id != current:
            if mine:
                count()
            current, mine = person_id, []
        mine.append((number, kind, product, day))
    if mine:
        count()
    return counts


def coverage_units_for(viewer: Any) -> list[Scope]:
    if is_national_viewer(viewer):
        return [Scope(unit=None)]
    return [Scope(unit=unit) for unit in coverage_units(viewer)]


def breadcrumbs_for(viewer: Any, scope: Scope) -> list[Scope]:
    above: list[Scope] = []
    unit = scope.unit.parent if scope.unit is not None else None
    while unit is not None:
        if can_view_coverage(viewer, unit):
            above.append(Scope(unit=unit))
        unit = unit.parent
    if scope.unit is not None and can_view_coverage(viewer, None):
        above.append(Scope(unit=None))
    return list(reversed(above))


def home_links_for(user: Any) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page: the citizen's own record, and the
    officials' vaccination desk."""
    from django.urls import reverse

    links: dict[str, list[tuple[str, str]]] = {"mine": [], "official": []}
    if not getattr(user, "is_authenticated", False):
        return links
    links["mine"].append((reverse("vaccination:mine"), str(_("Tiêm chủng của tôi"))))
    if can_use_vaccination_desk(user) or sites_for(user).exists():
        links["official"].append((reverse("vaccination:desk"), str(_("Tiêm chủng"))))
    return links


def MEASURE_LABELS() -> list[tuple[int, str]]:  # noqa: N802 - a constant, translated late
    return [(int(value), str(label)) for value, label in Measure.choices]


def coverage_reports_of(*, scope: Scope) -> QuerySet[CoverageReport]:
    if scope.unit is None:
        return CoverageReport.objects.none()
    return CoverageReport.objects.filter(unit=scope.unit).select_related("unit")


def people_lookup(*, viewer: Any, query: str, request: HttpRequest | None = None
                  ) -> list[Person]:
    """People in the viewer's scope with this document number or phone;
    the search is audited."""
    text = "".join((query or "").split())
    if not text or not can_use_vaccination_desk(viewer):
        return []
    condition = Q(id_number=text.upper())
    try:
        condition |= Q(phone=normalize_phone(text))
    except PhoneError:
        pass
    found = list(Person.objects.filter(condition).filter(scope_q(viewer, "commune__path"))
                 .select_related("commune")[:20])
    audit_record(actor=viewer, action=AuditAction.PERSON_SEARCH, request=request,
                 purpose=_("Tra cứu hồ sơ tiêm chủng"), target="vaccination:lookup",
                 detail={"found": len(found)})
    return found
