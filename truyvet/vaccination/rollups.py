"""Coverage rollups, kept right by the code that writes dose records
(docs/decisions/0011-vaccination-rollups-and-matching.md).

Every path that writes doses (entry, import, correction, merge, deletion)
ends its transaction with ``coverage_refresh(person_ids=...)`` for the
people whose doses it touched; nothing else writes the rollups. The refresh
works out, from a person's doses, what they count for:

- **at least one dose**: from the day of their first dose;
- **full primary course**: from the day of the dose that completed it
  (the course needs the primary doses of the product it started with:
  2, or 1 for Janssen, 3 for Abdala);
- **booster**: from the day of their first booster;

each in the age group they were in on that day (VACCINATION_AGE_GROUPS;
-1 when the birth date is unknown; with only a birth year, the age is the
difference of years), in their commune, its district and province and the
country. It compares that with what they were counted for last time
(``PersonCoverage``) and applies the difference to ``CoverageTotal``
(people per area, measure and age group) and ``CoverageDay`` (people per
area, day, measure and age group: the trend). The people's rows are locked
first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer), so
two transactions never count the same person from the same old state.

The counters are changed with one upsert per table per call whatever the
number of people (``+= n``), in a fixed key order, so concurrent refreshes
cannot deadlock on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction

from truyvet.accounts.models import Person
from truyvet.vaccination.models import (
    CoverageDay,
    CoverageTotal,
    Dose,
    DoseKind,
    Measure,
    PersonCoverage,
    Vaccine,
)

NATION = 0
UNKNOWN_AGE = -1
_CHUNK = 500
_MAX_PARAMS = 30_000  # per statement: SQLite allows 32,766
T = TypeVar("T")

# (area, measure, age group) and (area, day, measure, age group)
TotalKey = tuple[int, int, int]
DayKey = tuple[int, date, int, int]


def age_bounds() -> list[int]:
    """The lower bounds of the age groups above the first: [18, 50, 65]
    gives under 18, 18–49, 50–64, 65 and over."""
    return sorted(set(settings.VACCINATION_AGE_GROUPS))


def age_groups() -> list[int]:
    """Every group's lower bound, the youngest first: [0, 18, 50, 65]."""
    return [0, *[bound for bound in age_bounds() if bound > 0]]


def age_on(day: date, birth_date: date | None, birth_year: int | None) -> int | None:
    if birth_date is not None:
        return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month,
                                                                     birth_date.day))
    if birth_year is not None:
        return day.year - birth_year
    return None


def group_of(age: int | None, bounds: Sequence[int]) -> int:
    if age is None:
        return UNKNOWN_AGE
    group = 0
    for bound in bounds:
        if age >= bound:
            group = bound
    return group


@dataclass(frozen=True)
class State:
    """What a person counts for: each measure's day and age group."""

    areas: tuple[int, ...] = ()  # commune, district, province ids
    first: tuple[date, int] | None = None
    full: tuple[date, int] | None = None
    booster: tuple[date, int] | None = None

    def measures(self) -> Iterator[tuple[int, date, int]]:
        for measure, reached in ((Measure.FIRST_DOSE, self.first),
                                 (Measure.FULL_COURSE, self.full),
                                 (Measure.BOOSTER, self.booster)):
            if reached is not None:
                yield int(measure), reached[0], reached[1]

    def keys(self) -> Iterator[tuple[TotalKey, DayKey]]:
        for measure, day, group in self.measures():
            for unit in (*self.areas, NATION):
                yield (unit, measure, group), (unit, day, measure, group)

    @property
    def empty(self) -> bool:
        return self.first is None


EMPTY = State()


def state_of(
    doses: Sequence[tuple[int, str, str, date]],
    *,
    areas: tuple[int, ...],
    birth_date: date | None,
    birth_year: int | None,
    primary_doses: dict[str, int],
    bounds: Sequence[int],
) -> State:
    """A person's state from their doses, as (number, kind, product, day)."""
    if not doses:
        return State(areas=areas)
    ordered = sorted(doses)

    def reached(day: date) -> tuple[date, int]:
        return day, group_of(age_on(day, birth_date, birth_year), bounds)

    first = reached(min(dose[3] for dose in ordered))
    primaries = [dose for dose in ordered if dose[1] == DoseKind.PRIMARY]
    full = None
    if primaries:
        needed = primary_doses.get(primaries[0][2], 2)
        if len(primaries) >= needed:
            full = reached(primaries[needed - 1][3])
    boosters = [dose[3] for dose in ordered if dose[1] == DoseKind.BOOSTER]
    booster = reached(min(boosters)) if boosters else None
    return State(areas=areas, first=first, full=full, booster=booster)


def _stored(row: PersonCoverage) -> State:
    areas = tuple(int(part) for part in row.areas.split("/") if part)
    first = (row.first_on, row.first_group) if row.first_on else None
    full = (row.full_on, row.full_group) if row.full_on else None
    booster = (row.booster_on, row.booster_group) if row.booster_on else None
    return State(areas=areas, first=first, full=full,  # type: ignore[arg-type]
                 booster=booster)  # type: ignore[arg-type]


def _row(person_id: int, state: State) -> PersonCoverage:
    def day(value: tuple[date, int] | None) -> date | None:
        return value[0] if value else None

    def group(value: tuple[date, int] | None) -> int | None:
        return value[1] if value else None

    return PersonCoverage(
        person_id=person_id, areas="/".join(map(str, state.areas)),
        first_on=day(state.first), first_group=group(state.first),
        full_on=day(state.full), full_group=group(state.full),
        booster_on=day(state.booster), booster_group=group(state.booster),
    )


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class CoverageRecount:
    """Recounts people chunk by chunk and applies the total difference to
    the counters once, at ``apply()``: what a bulk import uses, so that the
    shared counters are locked only for the last moment of its transaction.
    Must run inside the transaction that changed the doses."""

    def __init__(self) -> None:
        self.totals: Counter[TotalKey] = Counter()
        self.days: Counter[DayKey] = Counter()
        self.bounds = age_bounds()
        self.primary_doses = dict(Vaccine.objects.values_list("code", "primary_doses"))
        self.people = 0

    def add(self, person_ids: Iterable[int]) -> None:
        ids = sorted(set(person_ids))
        for chunk in _chunks(ids):
            self._recount(list(chunk))

    def _recount(self, ids: list[int]) -> None:
        people = (Person.objects.select_for_update(of=("self",)).filter(pk__in=ids)
                  .order_by("pk").values_list("pk", "birth_date", "birth_year", "commune_id",
                                              "commune__parent_id",
                                              "commune__parent__parent_id"))
        facts = {row[0]: row for row in people}
        doses: dict[int, list[tuple[int, str, str, date]]] = {pk: [] for pk in ids}
        for person_id, number, kind, product, day in Dose.objects.filter(
                person_id__in=ids).values_list("person_id", "dose_number", "kind",
                                               "vaccine_id", "given_on"):
            doses[person_id].append((number, kind, product, day))
        old = {row.person_id: row for row in PersonCoverage.objects.filter(person_id__in=ids)}
        keep: list[tuple[int, State]] = []
        drop: list[tuple[int, State]] = []
        for pk in ids:
            fact = facts.get(pk)
            areas = tuple(int(unit) for unit in fact[3:] if unit is not None) if fact else ()
            new = state_of(doses[pk], areas=areas, birth_date=fact[1] if fact else None,
                           birth_year=fact[2] if fact else None,
                           primary_doses=self.primary_doses, bounds=self.bounds)
            before = _stored(old[pk]) if pk in old else EMPTY
            if new == before:
                continue
            for total_key, day_key in before.keys():
                self.totals[total_key] -= 1
                self.days[day_key] -= 1
            for total_key, day_key in new.keys():
                self.totals[total_key] += 1
                self.days[day_key] += 1
            (drop if new.empty else keep).append((pk, new))
            self.people += 1
        if drop:
            PersonCoverage.objects.filter(person_id__in=[pk for pk, _s in drop]).delete()
        if keep:
            PersonCoverage.objects.bulk_create(
                [_row(pk, state) for pk, state in keep], update_conflicts=True,
                unique_fields=["person_id"],
                update_fields=["areas", "first_on", "first_group", "full_on", "full_group",
                               "booster_on", "booster_group"],
            )

    def apply(self) -> None:
        _upsert(CoverageTotal, ("unit_key", "measure", "age_group"),
                sorted((*key, n) for key, n in self.totals.items() if n))
        _upsert(CoverageDay, ("unit_key", "day", "measure", "age_group"),
                sorted((key[0], _date_param(key[1]), key[2], key[3], n)
                       for key, n in self.days.items() if n))
        self.totals.clear()
        self.days.clear()


def coverage_refresh(*, person_ids: Iterable[int]) -> None:
    """Brings the rollups in line with the doses of ``person_ids``; call it
    in the transaction that changed them, after the change."""
    recount = CoverageRecount()
    with transaction.atomic():
        recount.add(person_ids)
        recount.apply()


def _date_param(day: date) -> Any:
    # psycopg takes dates; SQLite stores ISO text.
    return day if connection.vendor == "postgresql" else day.isoformat()


def _upsert(model: Any, key: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Adds each row's last value to ``people`` of the row with its key,
    creating rows as needed."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(name) for name in (*key, "people"))
    conflict = ", ".join(quote(name) for name in key)
    per_statement = max(1, _MAX_PARAMS // (len(key) + 1))
    marks = "(" + ", ".join(["%s"] * (len(key) + 1)) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, per_statement):
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([marks] * len(chunk))} "  # noqa: S608 - names from the models, values bound
                f"ON CONFLICT ({conflict}) DO UPDATE SET "
                f"{quote('people')} = {table}.{quote('people')} + excluded.{quote('people')}"
            )
            cursor.execute(sql, [value for row in chunk for value in row])


def coverage_rebuild() -> int:
    """Recounts everyone from the dose table: after a bulk load that
    bypassed the services (``truyvet synth``), a change of
    VACCINATION_AGE_GROUPS, or for repair. Returns the people counted."""
    with transaction.atomic():
        CoverageTotal.objects.all().delete()
        CoverageDay.objects.all().delete()
        PersonCoverage.objects.all().delete()
        recount = CoverageRecount()
        ids = Dose.objects.order_by("person_id").values_list("person_id", flat=True).distinct()
        batch: list[int] = []
        for person_id in ids.iterator(chunk_size=5000):
            batch.append(person_id)
            if len(batch) >= 5000:
                recount.add(batch)
                batch = []
        recount.add(batch)
        recount.apply()
    return recount.people
