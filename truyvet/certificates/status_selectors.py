"""Reads for the card colour, test results and recoveries (issue 16).

``person_colour(person, at)`` is the one entry point: the personal QR page,
the door and checkpoint scans (through the checkins hook) and the
declarations' checkpoints call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person
from truyvet.certificates import colour as rules
from truyvet.certificates import status_permissions as permissions
from truyvet.certificates.models import ColourRule, Recovery, TestOutcome, TestResult
from truyvet.core.errors import FieldError, NotFound, ServiceError
from truyvet.core.memory import KeptInProcess
from truyvet.core.models import AuditAction
from truyvet.core.rawrows import python_values
from truyvet.core.services import audit_event
from truyvet.core.time import day_start
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.vaccination.models import Dose, DoseKind, Vaccine
from truyvet.venues.models import Venue, VenueType


def _rule(row: ColourRule) -> rules.Rule:
    return rules.Rule(
        effective_from=row.effective_from, full_course_days=row.full_course_days,
        recovery_days=row.recovery_days, first_dose_days=row.first_dose_days,
        pcr_hours=row.pcr_hours, rapid_hours=row.rapid_hours,
        positive_days=row.positive_days, province_id=row.province_id, rule_id=row.pk,
    )


def province_of(unit: AdministrativeUnit | None) -> tuple[str, str] | None:
    """(scheme, province code) of ``unit``, read from its path (no query)."""
    return _province_of_path(unit.path) if unit is not None else None


def _province_of_path(path: str) -> tuple[str, str] | None:
    parts = path.strip("/").split("/")
    return (parts[0], parts[1]) if len(parts) > 1 else None


def rules_for(unit: AdministrativeUnit | None) -> list[rules.Rule]:
    """The rules that apply to people of ``unit``: the province's rows if it
    has any, else the national rows, else the built-in default; oldest
    first. At most one query (kept ``RULES_CACHE_SECONDS``)."""
    return _rules_for_province(province_of(unit))


# The rules of each province, kept in the process for RULES_CACHE_SECONDS
# (decision 0015): every card colour (a door or checkpoint scan, the
# personal QR page) needs them, and they change a few times a year, never
# for a day already begun. A rule written through this process is used here
# at once (``colour_rules_cache_clear`` on save and delete); by another
# process within the bound.
RULES_CACHE_SECONDS = 5.0
_RULES: KeptInProcess[tuple[str, str] | None, list[rules.Rule]] = KeptInProcess(
    RULES_CACHE_SECONDS)


def colour_rules_cache_clear(**_signal: Any) -> None:
    """Forgets the rules kept (a receiver of ColourRule's post_save and post_delete)."""
    _RULES.clear()


def _rules_for_province(province: tuple[str, str] | None) -> list[rules.Rule]:
    """``rules_for`` by (scheme, province code); the list is shared: read it only."""
    return _RULES.many([province], lambda missing: {p: _rules_read(p) for p in missing})[
        province]


def _rules_read(province: tuple[str, str] | None) -> list[rules.Rule]:
    # Sorted here: an ORDER BY costs the ORM more to compile than the sort
    # (a handful of rows) costs Python, on the scan path.
    rows = sorted(ColourRule.objects.filter(
        Q(province__isnull=True) | (Q(province__scheme=province[0], province__code=province[1])
                                    if province else Q(pk__in=[]))
    ).order_by(), key=lambda r: (r.effective_from, r.pk))
    own = [r for r in rows if r.province_id is not None]
    chosen = own or [r for r in rows if r.province_id is None]
    return [rules.DEFAULT_RULE] + [_rule(r) for r in chosen]


def rule_at(found: Sequence[rules.Rule], at: datetime) -> rules.Rule:
    """The rule in force at ``at``: the last one whose day has started."""
    current = found[0]
    for rule in found:
        if day_start(rule.effective_from) <= at:
            current = rule
    return current


def colour_inputs(person: Person) -> rules.Inputs:
    """The person's doses, tests and recoveries as the rules read them."""
    return colour_inputs_of([person.pk])[person.pk]


def colour_inputs_of(person_ids: Sequence[int]) -> dict[int, rules.Inputs]:
    """``colour_inputs`` of many people in one statement. A dose completes
    the primary course when its number reaches the course length of the
    product of the person's first primary dose (as
    ``vaccination.selectors.certificate_doses`` counts it); an additional
    dose or a booster counts as complete too."""
    ids = list(person_ids)
    doses: dict[int, list[tuple[int, str, int, Any]]] = {pk: [] for pk in ids}
    tests: dict[int, list[rules.TestIn]] = {pk: [] for pk in ids}
    recoveries: dict[int, list[rules.RecoveryIn]] = {pk: [] for pk in ids}
    # In slices, so that a long list stays within SQLite's bound on a
    # statement's parameters (each id is sent three times).
    for start in range(0, len(ids), 2000):
        for row in _colour_rows(ids[start:start + 2000]):
            tag, person_id = row[0], row[1]
            if tag == "d":
                doses[person_id].append((row[2], row[3], row[4], row[6]))
            elif tag == "t":
                tests[person_id].append(rules.TestIn(
                    kind=row[3], positive=row[5] == TestOutcome.POSITIVE, sampled_at=row[7]))
            else:
                recoveries[person_id].append(rules.RecoveryIn(first_positive_on=row[6],
                                                              recovered_on=row[8]))
    found: dict[int, rules.Inputs] = {}
    for pk in ids:
        own = sorted(doses[pk], key=lambda dose: dose[0])
        first_primary = next((d for d in own if d[1] == DoseKind.PRIMARY), None)
        length = first_primary[2] if first_primary else 1
        found[pk] = rules.Inputs(
            doses=[rules.DoseIn(given_on=given_on, dose_number=number,
                                completes_course=kind != DoseKind.PRIMARY or number >= length)
                   for number, kind, _course, given_on in own],
            tests=tests[pk], recoveries=recoveries[pk])
    return found


# The columns of ``_colour_rows``, after its tag and person id: the field
# each one is read as (dates from SQLite's text, for instance).
_COLOUR_FIELDS = (
    Dose._meta.get_field("dose_number"), Dose._meta.get_field("kind"),
    Vaccine._meta.get_field("primary_doses"),
    TestResult._meta.get_field("result"),
    Dose._meta.get_field("given_on"), TestResult._meta.get_field("sampled_at"),
    Recovery._meta.get_field("recovered_on"),
)


def _colour_rows(ids: list[int]) -> list[tuple[Any, ...]]:
    """The people's doses, tests and recoveries as rows of one hand-written
    statement (decision 0015: on a checkpoint scan the ORM spent more
    building the three queries than the database running them, and three
    round trips became one): (tag, person id, dose number, dose or test
    kind, course length, test result, dose day or first positive day, test
    sampled at, recovered on), tagged "d", "t" or "r". The first branch
    names the types of its empty columns: PostgreSQL would take an untyped
    NULL for text."""
    quote = connection.ops.quote_name
    dose, test, recovery = Dose._meta, TestResult._meta, Recovery._meta
    vaccine = Vaccine._meta
    marks = ", ".join(["%s"] * len(ids))
    # Names from the models, ids as parameters (tests/test_hardening.py).
    sql = f"""
        SELECT 'd', d.person_id, d.dose_number, d.kind, v.primary_doses,
               CAST(NULL AS text), d.given_on, CAST(NULL AS timestamptz), CAST(NULL AS date)
          FROM {quote(dose.db_table)} d
          JOIN {quote(vaccine.db_table)} v ON v.{quote(str(vaccine.pk.column))} = d.vaccine_id
         WHERE d.person_id IN ({marks})
        UNION ALL
        SELECT 't', t.person_id, NULL, t.kind, NULL, t.result, NULL, t.sampled_at, NULL
          FROM {quote(test.db_table)} t WHERE t.person_id IN ({marks})
        UNION ALL
        SELECT 'r', r.person_id, NULL, NULL, NULL, NULL, r.first_positive_on, NULL,
               r.recovered_on
          FROM {quote(recovery.db_table)} r WHERE r.person_id IN ({marks})"""  # noqa: S608 - names from the models, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, *ids, *ids])
        fetched = cursor.fetchall()
    return [(tag, person_id, *python_values(connection, _COLOUR_FIELDS, values))
            for tag, person_id, *values in fetched]


@dataclass(frozen=True)
class PersonColour:
    colour: str  # "green" | "yellow" | "red"
    label: str  # "Thẻ xanh"
    reason: str
    change_note: str  # "" when nothing known will change it
    changes_at: datetime | None
    next_colour: str | None
    valid_until: datetime  # when a signed claim of this colour must expire (≤ 24 h)
    rule_id: int | None


def person_colour(person: Person, at: datetime | None = None) -> PersonColour:
    """The person's card colour at ``at`` (now by default), why, and when it
    will change. One to three queries (see ``person_colours``)."""
    return person_colours([person], at)[person.pk]


def person_colours(people: Sequence[Person], at: datetime | None = None
                   ) -> dict[int, PersonColour]:
    """``person_colour`` of many people (a door's offline batch, a
    checkpoint's list) in a fixed number of queries: one for the records
    (per 2,000 people), one for the communes (none when every person's commune was
    loaded with them, as a checkpoint scan does), one per distinct province
    for its rules (none while they are kept: ``RULES_CACHE_SECONDS``)."""
    at = at or timezone.now()
    inputs = colour_inputs_of([p.pk for p in people])
    paths = _commune_paths(people)
    by_province: dict[tuple[str, str] | None, list[rules.Rule]] = {}
    found: dict[int, PersonColour] = {}
    for person in people:
        path = paths.get(person.commune_id) if person.commune_id else None
        province = _province_of_path(path) if path else None
        if province not in by_province:
            by_province[province] = _rules_for_province(province)
        found[person.pk] = _colour(inputs[person.pk], by_province[province], at)
    return found


_COMMUNE = Person._meta.get_field("commune")


def _commune_paths(people: Sequence[Person]) -> dict[int, str]:
    """{commune id: path} of the people's communes: from the communes loaded
    with them (``select_related``), the others in one query."""
    loaded = {p.commune.pk: p.commune.path for p in people
              if p.commune_id and _COMMUNE.is_cached(p) and p.commune is not None}
    missing = {p.commune_id for p in people if p.commune_id and p.commune_id not in loaded}
    if missing:
        loaded.update(AdministrativeUnit.objects.filter(pk__in=missing).order_by()
                      .values_list("pk", "path"))
    return loaded


def _colour(inputs: rules.Inputs, found: list[rules.Rule], at: datetime) -> PersonColour:
    rule = rule_at(found, at)
    verdict = rules.colour_at(inputs, rule, at)
    change = rules.next_change(inputs, lambda m: rule_at(found, m), found, at)
    until = at + timedelta(hours=rules.CLAIM_MAX_HOURS)
    if change is not None:
        until = min(until, change.at)
    return PersonColour(
        colour=verdict.colour, label=str(rules.LABELS[verdict.colour]), reason=verdict.reason,
        change_note=rules.change_note(verdict.colour, change),
        changes_at=change.at if change else None, next_colour=change.colour if change else None,
        valid_until=until, rule_id=rule.rule_id,
    )


# --- Test results and recoveries -----------------------------------------------------


def testing_sites() -> QuerySet[Venue]:
    return Venue.objects.filter(venue_type=VenueType.TESTING)


def person_tests(person: Person) -> QuerySet[TestResult]:
    return TestResult.objects.filter(person=person).select_related("facility")


def person_recoveries(person: Person) -> QuerySet[Recovery]:
    return Recovery.objects.filter(person=person)


def testing_site_for(*, viewer: Any, code: str) -> Venue:
    """The testing site of ``code`` if ``viewer`` may see its results; the
    same "not found" otherwise, so codes cannot be tried."""
    site = (Venue.objects.select_related("commune").filter(
        code=(code or "").strip().upper(), venue_type=VenueType.TESTING).first())
    if site is None or not permissions.can_view_site_tests(viewer, site):
        raise NotFound(_("Không tìm thấy điểm xét nghiệm này."))
    return site


def site_tests(*, viewer: Any, site: Venue, request: HttpRequest | None = None,
               limit: int = 50) -> list[TestResult]:
    """The latest results entered at ``site`` (its staff's page); each view
    is audited, since the list names the people tested."""
    if not permissions.can_view_site_tests(viewer, site):
        raise NotFound(_("Không tìm thấy điểm xét nghiệm này."))
    tests = list(TestResult.objects.filter(facility=site).select_related("person")
                 .order_by("-sampled_at", "-id")[:limit])
    if tests:
        audit_event(actor=viewer, action=AuditAction.PERSON_READ, request=request,
                    purpose=str(_("Xem kết quả xét nghiệm tại %(site)s") % {"site": site.name}),
                    target=f"venue:{site.code}:tests", unit=site.commune,
                    detail={"count": len(tests)}).save()
    return tests


def province_for_rule(*, code: str) -> AdministrativeUnit | None:
    """The province a rule is for (blank: the whole country)."""
    code = (code or "").strip()
    if not code:
        return None
    unit = AdministrativeUnit.objects.filter(code=code, level=Level.PROVINCE).first()
    if unit is None:
        raise ServiceError(_("Không có tỉnh/thành phố mã %(code)s.") % {"code": code},
                           code="unknown_province",
                           errors=[FieldError("province", _("Không có tỉnh/thành phố này."),
                                              "unknown_province")])
    return unit


def rule_provinces(*, viewer: Any) -> list[AdministrativeUnit]:
    """The provinces whose rules ``viewer`` may set."""
    return [unit for unit in AdministrativeUnit.objects.filter(level=Level.PROVINCE)
            .order_by("name") if permissions.can_set_colour_rule(viewer, unit)]


def colour_rules(unit: AdministrativeUnit | None = None) -> list[dict[str, Any]]:
    """Every rule row (the national ones and ``unit``'s province's), newest
    first, for the rules page and the API."""
    query = ColourRule.objects.select_related("province", "created_by")
    province = province_of(unit)
    if province:
        query = query.filter(Q(province__isnull=True)
                             | Q(province__scheme=province[0], province__code=province[1]))
    return [
        {"id": r.pk, "province": r.province.name if r.province else "",
         "province_code": r.province.code if r.province else "",
         "effective_from": r.effective_from, "full_course_days": r.full_course_days,
         "recovery_days": r.recovery_days, "first_dose_days": r.first_dose_days,
         "pcr_hours": r.pcr_hours, "rapid_hours": r.rapid_hours,
         "positive_days": r.positive_days, "reason": r.reason,
         "created_at": r.created_at}
        for r in query.order_by("-effective_from", "-id")
    ]
