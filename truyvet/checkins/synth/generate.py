"""The generator itself: an area, its venues and residents, their check-ins.

See the package docstring (``truyvet.checkins.synth``) for what is generated
and the guarantees; the vocabulary lives in ``vocabulary.py`` and the bulk
writer in ``bulk.py``.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time as clock
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from queue import Queue
from random import Random
from typing import Any, TextIO

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from numpy.typing import NDArray

from truyvet.accounts.models import Person
from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind
from truyvet.checkins.partitions import (
    partition_bulk_attach,
    partition_bulk_create,
    partitions_clear_empty,
    partitions_ensure,
)
from truyvet.checkins.services import recording
from truyvet.checkins.synth import vocabulary as vocab
from truyvet.checkins.synth.bulk import (
    CheckInWriter,
    Payload,
    ProgressBar,
    columns_write,
    in_background,
    int_rows,
    values_taken,
)
from truyvet.checkins.synth.columns import (
    KINDS,
    METHODS,
    Columns,
    Ints,
    Tables,
    cut_estimated_ends,
)
from truyvet.checkins.synth.people import (
    REGISTERED_BEFORE_DAYS,
    Commune,
    PeopleColumns,
    PeopleDrawer,
    utc_texts,
)
from truyvet.core.errors import ServiceError
from truyvet.core.text import fold
from truyvet.core.time import day_bounds, local_day
from truyvet.places.models import AdministrativeUnit, Kind, Level
from truyvet.places.services import divisions_load
from truyvet.venues import qr
from truyvet.venues.models import (
    DEFAULT_DWELL_MINUTES,
    StaffRole,
    Venue,
    VenueStaff,
    VenueStatus,
)

DEFAULT_PROVINCE = "04"  # Cao Bằng
# Cao Bằng had 5,677 QR venues over its 161 communes (2021 map): about 35 each.
VENUES_PER_COMMUNE = 35
PEOPLE_PER_VENUE = 20
# ... and at least one resident per this many check-ins (1.4 visits a day
# each over two weeks), so that large loads do not pile onto few people.
CHECKINS_PER_PERSON = 20
# 419 of Cao Bằng's 5,677 venues had a scan in the last 7 days (BRIEF §1).
DEFAULT_ACTIVE_SHARE = 0.074
# Venues that scanned earlier in the period but not in the last 7 days.
DEFAULT_LAPSED_SHARE = 0.05
DEFAULT_DAYS = 14
DEFAULT_SEED = 2021
DEFAULT_BATCH = 50_000
# Popularity of the n-th busiest venue ~ 1 / n**ZIPF_EXPONENT.
ZIPF_EXPONENT = 0.8
# Where visitors live: the venue's commune, elsewhere in its district, or
# anywhere in the area.
HOME_COMMUNE_SHARE = 0.72
HOME_DISTRICT_SHARE = 0.20
# ... but a busy market draws from further away: its own commune's residents
# come on average at most this often (visits per resident per day).
MAX_LOCAL_VISITS_PER_DAY = 0.25
ACTIVE_WINDOW = timedelta(days=7)
# People's appetite for going out is lognormal, capped so that the keenest
# scan a few times as often as most (traders, drivers), not dozens of times.
MAX_APPETITE = 8.0
# Staff with accounts (the demo's owner) and citizens with accounts scan more.
STAFFED_VENUE_ACTIVITY = 20.0
ACCOUNT_HOLDER_WEIGHT = 2.0
# People drawn and written at a time.
PEOPLE_CHUNK = 50_000

_POSTER_METHODS = frozenset({CheckInMethod.CITIZEN_SCAN, CheckInMethod.GUEST_FORM})
_CARD_METHODS = frozenset(
    {CheckInMethod.PERSONAL_QR, CheckInMethod.CCCD_QR, CheckInMethod.NATIONAL_QR}
)


def _seeded(label: str) -> Random:
    """A generator of its own for each part of a run, so that adding venues
    does not change the people drawn after them. Seeded from a string, which
    Python hashes with SHA-512: the same on every machine and run."""
    return Random(f"truyvet-synth:{label}")  # noqa: S311 - reproducible fake data, not secrets


class SynthError(ValueError):
    """A plan that cannot be generated (bad numbers, unknown area, no one to
    check in)."""


@dataclass(frozen=True)
class SynthPlan:
    """What to generate. ``venues`` and ``people`` are totals for the area
    (only the missing ones are created; None means the defaults above);
    ``checkins`` are always added. ``until`` defaults to now."""

    province: str | None = None  # None: Cao Bằng, or the province of ``district``
    district: str | None = None
    venues: int | None = None
    people: int | None = None
    checkins: int = 0
    days: int = DEFAULT_DAYS
    until: datetime | None = None
    seed: int = DEFAULT_SEED
    active_share: float = DEFAULT_ACTIVE_SHARE
    lapsed_share: float = DEFAULT_LAPSED_SHARE
    batch: int = DEFAULT_BATCH

    def validate(self) -> None:
        problems = []
        for name in ("venues", "people"):
            value = getattr(self, name)
            if value is not None and value < 0:
                problems.append(f"{name} must be 0 or more")
        if self.checkins < 0:
            problems.append("checkins must be 0 or more")
        if not 1 <= self.days <= 366:
            problems.append("days must be between 1 and 366")
        for name in ("active_share", "lapsed_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name.replace('_', '-')} must be between 0 and 1")
        if self.active_share + self.lapsed_share > 1.0:
            problems.append("active-share + lapsed-share must not exceed 1")
        if self.batch < 1:
            problems.append("batch must be 1 or more")
        if self.until is not None and timezone.is_naive(self.until):
            problems.append("until must be timezone-aware")
        if problems:
            raise SynthError("; ".join(problems))


@dataclass
class SynthResult:
    area: AdministrativeUnit
    since: datetime
    until: datetime
    venues_created: int = 0
    venues_total: int = 0
    people_created: int = 0
    people_total: int = 0
    checkins_created: int = 0
    # Venues given a scan in the last 7 days / only before them (when there
    # were at least as many check-ins as such venues).
    active_venues: int = 0
    lapsed_venues: int = 0
    load_seconds: float = 0.0
    hook_called: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.checkins_created / self.load_seconds if self.load_seconds else 0.0


# --- The area ---------------------------------------------------------------


def _unit(level: Level, code: str) -> AdministrativeUnit | None:
    return AdministrativeUnit.objects.filter(scheme="2021", level=level, code=code).first()


def _load_divisions(province: str | None) -> None:
    try:
        divisions_load(province_codes=[province] if province else None)
    except ServiceError as error:
        raise SynthError(str(error)) from error


def synth_area(*, province: str | None, district: str | None) -> AdministrativeUnit:
    """The district, or else the province, loading the 2021 administrative
    map (that province, or the whole country for a district of an unnamed
    province) when it is missing."""
    province_code = province.zfill(2) if province else None
    if district:
        district_code = district.zfill(3)
        unit = _unit(Level.DISTRICT, district_code)
        if unit is None:
            _load_divisions(province_code or DEFAULT_PROVINCE)
            unit = _unit(Level.DISTRICT, district_code)
        if unit is None and province_code is None:
            _load_divisions(None)
            unit = _unit(Level.DISTRICT, district_code)
        if unit is None:
            raise SynthError(f"there is no district with code {district_code}")
        if province_code and not unit.path.startswith(f"2021/{province_code}/"):
            raise SynthError(f"district {district_code} is not in province {province_code}")
        return unit
    province_code = province_code or DEFAULT_PROVINCE
    unit = _unit(Level.PROVINCE, province_code)
    if unit is None:
        _load_divisions(province_code)
        unit = _unit(Level.PROVINCE, province_code)
    if unit is None:  # pragma: no cover - divisions_load raised already
        raise SynthError(f"there is no province with code {province_code}")
    return unit


def _communes(area: AdministrativeUnit) -> list[AdministrativeUnit]:
    return list(
        AdministrativeUnit.objects.filter(
            scheme=area.scheme, level=Level.COMMUNE, path__startswith=area.path
        ).select_related("parent").order_by("code")
    )


def _commune_weight(commune: AdministrativeUnit) -> float:
    """Towns have more shops and people than upland communes."""
    return 3.0 if commune.kind in (Kind.TOWNSHIP, Kind.WARD) else 1.0


def _short(name: str) -> str:
    """"Xã Thắng Lợi" -> "Thắng Lợi", "Huyện Hạ Lang" -> "Hạ Lang"."""
    for prefix in ("Thành phố ", "Thị trấn ", "Thị xã ", "Huyện ", "Quận ", "Phường ",
                   "Xã ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _lower_kind(name: str) -> str:
    """"Xã Thắng Lợi" -> "xã Thắng Lợi", as it reads inside a longer name."""
    short = _short(name)
    return name[: len(name) - len(short)].lower() + short


@lru_cache(maxsize=4096)
def _hamlets(commune_code: str) -> tuple[str, ...]:
    """The commune's hamlets: fixed per commune, whatever the seed, so that
    venues and residents of different runs share them."""
    rng = _seeded(f"hamlets:{commune_code}")
    wanted = rng.randint(7, 14)
    names: list[str] = []
    while len(names) < wanted:
        name = f"{rng.choice(vocab.HAMLET_FIRST)} {rng.choice(vocab.HAMLET_SECOND)}"
        if name not in names and name.split()[0] != name.split()[1]:
            names.append(name)
    return tuple(names)


def _address(rng: Random, commune: AdministrativeUnit, hamlet: str | None = None) -> str:
    if commune.kind in (Kind.TOWNSHIP, Kind.WARD):
        group = f"Tổ {rng.randint(1, 12)}" if rng.random() < 0.6 else (
            f"Tổ dân phố {rng.randint(1, 12)}"
        )
        return f"Số {rng.randint(1, 180)}, {group}" if rng.random() < 0.4 else group
    hamlet = hamlet or rng.choice(_hamlets(commune.code))
    word = "Thôn" if rng.random() < 0.3 and not hamlet.startswith("Bản") else "Xóm"
    return f"{word} {hamlet}"


def _cumulative(pairs: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    return [value for value, _w in pairs], list(accumulate(weight for _v, weight in pairs))


_TEMPLATES = {vtype: _cumulative(pairs) for vtype, pairs in vocab.NAME_TEMPLATES.items()}
_PREFIXES = _cumulative(vocab.MOBILE_PREFIXES)
_TYPES = _cumulative(vocab.TYPE_MIX)


def _pick(rng: Random, table: tuple[list[str], list[float]]) -> str:
    values, cumulative = table
    return values[bisect(cumulative, rng.random() * cumulative[-1])]


def _mobile(rng: Random) -> str:
    """A valid Vietnamese mobile number in E.164."""
    prefix = _pick(rng, _PREFIXES)
    return f"+84{prefix}{rng.randrange(10_000_000):07d}"


def _before(rng: Random, since: datetime) -> datetime:
    return since - timedelta(seconds=rng.randrange(REGISTERED_BEFORE_DAYS * 86400))


# --- Venues -----------------------------------------------------------------


def _sign(rng: Random) -> tuple[str, str]:
    """("Hồng Nhung", "Cô Nhung"): a shop-sign name and the way people call
    its owner."""
    if rng.random() < 0.65:
        given = rng.choice(vocab.GIVEN_FEMALE)
        first, address = vocab.SIGN_FIRST_FEMALE, vocab.ADDRESS_FEMALE
    else:
        given = rng.choice(vocab.GIVEN_MALE)
        first, address = vocab.SIGN_FIRST_MALE, vocab.ADDRESS_MALE
    sign = f"{rng.choice(first)} {given}" if rng.random() < 0.6 else given
    return sign, f"{rng.choice(address)} {given}"


def _venue_codes(count: int, taken: set[str]) -> list[str]:
    """``count`` unused public codes from ``venues.qr``, checked against the
    database 500 at a time."""
    codes: list[str] = []
    while len(codes) < count:
        batch: list[str] = []
        while len(batch) < min(500, count - len(codes)):
            code = qr.venue_code_generate()
            if code not in taken:
                taken.add(code)
                batch.append(code)
        existing = set(Venue.objects.filter(code__in=batch).values_list("code", flat=True))
        codes.extend(code for code in batch if code not in existing)
    return codes


class _VenueNamer:
    """Names venues: a commune's institutions first (its People's Committee,
    primary school, health station, market), the district's in its seat,
    then shop signs and hamlet names; never twice the same name and address
    in one commune."""

    def __init__(self, rng: Random, communes: Sequence[AdministrativeUnit],
                 area: AdministrativeUnit) -> None:
        self.rng = rng
        self.taken: set[tuple[int, str]] = set(
            Venue.objects.filter(commune__path__startswith=area.path)
            .values_list("commune_id", "dedup_key")
        )
        self.institutions: dict[tuple[int, str], list[str]] = {}
        seats: dict[int, AdministrativeUnit] = {}
        for commune in communes:
            district = commune.parent
            assert district is not None
            seat = seats.get(district.pk)
            if seat is None or (seat.kind != Kind.TOWNSHIP and commune.kind == Kind.TOWNSHIP):
                seats[district.pk] = commune
        for commune in communes:
            for vtype, names in vocab.COMMUNE_INSTITUTIONS.items():
                self.institutions[(commune.pk, vtype)] = [
                    self._fill(name, commune) for name in names
                ]
        for seat in seats.values():
            for vtype, names in vocab.DISTRICT_INSTITUTIONS.items():
                self.institutions.setdefault((seat.pk, vtype), [])[:0] = [
                    self._fill(name, seat) for name in names
                ]

    def _fill(self, template: str, commune: AdministrativeUnit, hamlet: str = "") -> str:
        sign, called = _sign(self.rng) if "{sign}" in template or "{called}" in template else (
            "", ""
        )
        district = commune.parent
        return template.format(
            sign=sign, called=called, hamlet=hamlet, commune=_short(commune.name),
            commune_full=_lower_kind(commune.name),
            district=_short(district.name) if district else "", n=self.rng.randint(1, 40),
        )

    def name(self, commune: AdministrativeUnit, vtype: str) -> tuple[str, str]:
        """(name, street) for a new venue of ``vtype`` in ``commune``."""
        rng = self.rng
        waiting = self.institutions.get((commune.pk, vtype), [])
        while waiting:
            name = waiting.pop(0)
            street = _address(rng, commune)
            if self._claim(commune, name, street):
                return name, street
        for _attempt in range(20):
            template = _pick(rng, _TEMPLATES[vtype])
            hamlet = rng.choice(_hamlets(commune.code))
            name = self._fill(template, commune, hamlet)
            street = _address(rng, commune, hamlet if "{hamlet}" in template else None)
            if self._claim(commune, name, street):
                return name, street
        name, street = f"{name} {rng.randint(2, 99)}", street  # a crowded commune
        self._claim(commune, name, street)
        return name, street

    def _claim(self, commune: AdministrativeUnit, name: str, street: str) -> bool:
        key = (commune.pk, Venue.make_dedup_key(name, street))
        if key in self.taken:
            return False
        self.taken.add(key)
        return True


def _venues_ensure(*, area: AdministrativeUnit, communes: Sequence[AdministrativeUnit],
                   target: int, seed: int, since: datetime, show: bool,
                   stream: TextIO | None) -> tuple[int, int]:
    """Creates venues until the area has ``target``; returns (created, total)."""
    existing = Venue.objects.filter(commune__path__startswith=area.path).count()
    missing = target - existing
    if missing <= 0 or not communes:
        return 0, existing
    rng = _seeded(f"{seed}:venues:{area.path}:{existing}")
    namer = _VenueNamer(rng, communes, area)
    weights = list(accumulate(_commune_weight(commune) for commune in communes))
    bar = ProgressBar(label="venues  ", total=missing, stream=stream, enabled=show)
    taken_codes: set[str] = set()
    created = 0
    while created < missing:
        count = min(2000, missing - created)
        venues = []
        for code in _venue_codes(count, taken_codes):
            commune = rng.choices(communes, cum_weights=weights)[0]
            vtype = _pick(rng, _TYPES)
            name, street = namer.name(commune, vtype)
            registered = _before(rng, since)
            venues.append(Venue(
                code=code, name=name, name_folded=fold(name), venue_type=vtype,
                commune=commune, street=street, dedup_key=Venue.make_dedup_key(name, street),
                contact_phone=_mobile(rng), status=VenueStatus.ACTIVE,
                status_changed_at=registered, created_at=registered,
                staff_checkins_from=registered,  # imported by officers: approved at once
            ))
        with transaction.atomic():
            Venue.objects.bulk_create(venues, batch_size=500)
            # The contact is the owner, as when officers import a list.
            VenueStaff.objects.bulk_create([
                VenueStaff(venue=venue, phone=venue.contact_phone, role=StaffRole.OWNER,
                           added_at=venue.created_at)
                for venue in venues
            ], batch_size=500)
        created += count
        bar.advance(count)
    bar.finish()
    return created, existing + created


# --- People -----------------------------------------------------------------


def _people_ensure(*, area: AdministrativeUnit, communes: Sequence[AdministrativeUnit],
                   target: int, seed: int, since: datetime, show: bool,
                   stream: TextIO | None) -> tuple[int, int]:
    """Creates residents of the area until it has ``target``; returns
    (created, total). Drawn as columns, a chunk at a time, while the last
    chunk is written (``people.PeopleDrawer``). An ID number already in use
    (or drawn twice) is dropped from the new person rather than failing
    the load."""
    existing = Person.objects.filter(commune__path__startswith=area.path).count()
    missing = target - existing
    if missing <= 0 or not communes:
        return 0, existing
    postgres = connection.vendor == "postgresql"
    drawer = PeopleDrawer(
        _numpy_seeded(f"{seed}:people:{area.path}:{existing}"),
        [Commune(pk=commune.pk, weight=_commune_weight(commune),
                 town=commune.kind in (Kind.TOWNSHIP, Kind.WARD),
                 province=int(commune.path.split("/")[1]), hamlets=_hamlets(commune.code))
         for commune in communes],
        reference_year=timezone.localtime(since).year, since=int(since.timestamp()),
        time_suffix="+00:00" if postgres else "",
    )
    bar = ProgressBar(label="people  ", total=missing, stream=stream, enabled=show)
    now = utc_texts(np.array([int(timezone.now().timestamp())], dtype=np.int64),
                    "+00:00" if postgres else "")[0]

    def chunks() -> Iterator[PeopleColumns]:
        done = 0
        while done < missing:
            count = min(PEOPLE_CHUNK, missing - done)
            yield drawer.draw(count)
            done += count

    # A thread draws the next chunk while this one checks and writes.
    created = 0
    for people in in_background(chunks(), depth=1):
        used = values_taken(Person, "id_number", people.ids())
        people.drop_ids(used)
        columns_write(Person, people.as_text(now=now), len(people))
        created += len(people)
        bar.advance(len(people))
    bar.finish()
    return created, existing + created


# --- Check-ins --------------------------------------------------------------


class _Pool:
    """People to draw visitors from, in id order, each with a cumulative
    weight."""

    __slots__ = ("ids", "cumulative")

    def __init__(self, ids: Ints, weights: NDArray[np.float64]) -> None:
        self.ids = ids
        self.cumulative = np.cumsum(weights)


@dataclass
class _Pools:
    area: _Pool
    districts: dict[int, _Pool]
    communes: dict[int, _Pool]


def _grouped(keys: Ints, ids: Ints, weights: NDArray[np.float64]) -> dict[int, _Pool]:
    """One pool per key (people with a negative key left out), each in id
    order."""
    if not len(keys):
        return {}
    order = np.argsort(keys, kind="stable")
    keys, ids, weights = keys[order], ids[order], weights[order]
    unique, starts = np.unique(keys, return_index=True)
    ends = [*starts[1:].tolist(), len(keys)]
    return {key: _Pool(ids[start:end], weights[start:end])
            for key, start, end in zip(unique.tolist(), starts.tolist(), ends, strict=True)
            if key >= 0}


def _pools(area: AdministrativeUnit, district_of: dict[int, int],
           random: np.random.Generator) -> _Pools:
    """Every resident of the area, in id order, with a lognormal appetite for
    going out (a few people scan ten times more than most), higher for
    people with an account. As columns: half a million residents are a few
    numpy calls, not a Python loop."""
    with_account = int_rows(
        Person.objects.filter(commune__path__startswith=area.path, user__isnull=False)
        .values_list("pk"), 1)[:, 0]
    pairs = int_rows(Person.objects.filter(commune__path__startswith=area.path)
                     .order_by("pk").values_list("pk", "commune_id"), 2)
    ids, communes = pairs[:, 0].copy(), pairs[:, 1].copy()
    weights = np.minimum(random.lognormal(0.0, 0.8, len(ids)), MAX_APPETITE)
    weights[np.isin(ids, with_account)] *= ACCOUNT_HOLDER_WEIGHT
    known = sorted(district_of)
    if known:
        keys = np.array(known, dtype=np.int64)
        found = np.minimum(np.searchsorted(keys, communes), len(keys) - 1)
        districts = np.where(keys[found] == communes,
                             np.array([district_of[k] for k in known], dtype=np.int64)[found], -1)
    else:
        districts = np.full(len(ids), -1, dtype=np.int64)
    return _Pools(area=_Pool(ids, weights), districts=_grouped(districts, ids, weights),
                  communes=_grouped(communes, ids, weights))


@dataclass(frozen=True)
class _Sim:
    """A venue as the row loop needs it."""

    venue_id: int
    vtype: str
    dwell: int  # seconds
    commune_pool: _Pool
    district_pool: _Pool
    # A visitor lives in the commune when a draw is below ``commune_cut``,
    # elsewhere in the district below ``district_cut``, else anywhere.
    commune_cut: float = HOME_COMMUNE_SHARE
    district_cut: float = HOME_COMMUNE_SHARE + HOME_DISTRICT_SHARE


_HOURLY_CUM = {vtype: list(accumulate(curve)) for vtype, curve in vocab.HOURLY.items()}
_METHODS_CUM = {
    vtype: _cumulative(vocab.METHODS.get(vtype, vocab.METHODS_DEFAULT))
    for vtype in vocab.HOURLY
}


@dataclass(frozen=True)
class _Day:
    start: int  # local midnight, epoch seconds
    lo: int  # the part of the day inside the period
    hi: int
    weekday: int
    early: bool  # before the last 7 days: lapsed venues still scan


def _days(since: int, until: int) -> list[_Day]:
    def day_of(moment: int) -> date:
        return local_day(datetime.fromtimestamp(moment, UTC))

    first, last = day_of(since), day_of(until)
    cut = day_of(until - int(ACTIVE_WINDOW.total_seconds()))
    days = []
    current = first
    while current <= last:
        start, end = (int(bound.timestamp()) for bound in day_bounds(current))
        lo, hi = max(start, since), min(end, until)
        if hi > lo:
            days.append(_Day(start, lo, hi, current.weekday(), current < cut))
        current += timedelta(days=1)
    return days


def _coverage(vtype: str, day: _Day) -> float:
    """The share of the type's daily arrivals that fall in the day's part
    inside the period (1.0 for whole days)."""
    curve = vocab.HOURLY[vtype]
    inside = 0.0
    for hour, weight in enumerate(curve):
        begin = day.start + hour * 3600
        overlap = min(begin + 3600, day.hi) - max(begin, day.lo)
        if overlap > 0:
            inside += weight * overlap / 3600
    return inside / sum(curve)


def _day_weight(vtype: str, day: _Day) -> float:
    return vocab.WEEKLY.get(vtype, vocab.WEEKLY_DEFAULT)[day.weekday] * _coverage(vtype, day)


class _DayWeights(dict[tuple[str, _Day], float]):
    """``_day_weight`` of each (type, day), worked out once: the draws ask
    for it once per venue and day."""

    def __missing__(self, key: tuple[str, _Day]) -> float:
        weight = self[key] = _day_weight(*key)
        return weight


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders), so
    the parts add up exactly."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    shares = [total * weight / whole for weight in weights]
    parts = [int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: parts[i] - shares[i])
    for index in by_remainder[: total - sum(parts)]:
        parts[index] += 1
    return parts


def _numpy_seeded(label: str) -> np.random.Generator:
    """``_seeded``'s counterpart for the vectorised draws: a numpy generator
    seeded from a SHA-256 of the label, the same on every machine."""
    digest = hashlib.sha256(f"truyvet-synth:{label}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


class _RowMaker:
    """Turns drawn venues into check-in rows for one day, as columns: every
    draw for a batch is one numpy call over all its rows."""

    def __init__(self, random: np.random.Generator, pools: _Pools, sims: Sequence[_Sim],
                 until: int) -> None:
        self.random = random
        self.until = until
        self.merge = int(getattr(settings, "CHECKIN_MERGE_MINUTES", 30)) * 60
        types = sorted(vocab.HOURLY)
        type_of = {vtype: index for index, vtype in enumerate(types)}
        self.hours = Tables([_HOURLY_CUM[vtype] for vtype in types])
        self.methods = Tables([_METHODS_CUM[vtype][1] for vtype in types])
        self.method_code = np.array(
            [METHODS.index(name) for vtype in types for name in _METHODS_CUM[vtype][0]],
            dtype=np.int8,
        )
        self.poster = np.isin(np.arange(len(METHODS)),
                              [METHODS.index(m.value) for m in _POSTER_METHODS])
        self.card = np.isin(np.arange(len(METHODS)),
                            [METHODS.index(m.value) for m in _CARD_METHODS])
        # Every pool of people laid end to end, the area's first.
        everyone = [pools.area, *pools.districts.values(), *pools.communes.values()]
        pool_of = {id(pool): index for index, pool in enumerate(everyone)}
        self.people = Tables([pool.cumulative for pool in everyone])
        self.pool_last = self.people.starts + np.array([len(p.ids) for p in everyone]) - 1
        self.person_ids = np.concatenate([pool.ids for pool in everyone])
        self.sim_type = np.array([type_of[sim.vtype] for sim in sims], dtype=np.int64)
        self.sim_dwell = np.array([sim.dwell for sim in sims], dtype=np.int64)
        self.sim_venue = np.array([sim.venue_id for sim in sims], dtype=np.int64)
        self.sim_commune = np.array([pool_of[id(sim.commune_pool)] for sim in sims],
                                    dtype=np.int64)
        self.sim_district = np.array([pool_of[id(sim.district_pool)] for sim in sims],
                                     dtype=np.int64)
        self.commune_cut = np.array([sim.commune_cut for sim in sims])
        self.district_cut = np.array([sim.district_cut for sim in sims])

    def _arrivals(self, vtype: Ints, day: _Day, lo: int) -> Ints:
        """Arrival times by each type's hourly rhythm, inside [lo, day.hi):
        drawn again (up to 40 times) where they fell outside."""
        random = self.random
        arrived = np.empty(len(vtype), dtype=np.int64)
        pending = np.arange(len(vtype))
        for _attempt in range(40):
            if not len(pending):
                return arrived
            hour = self.hours.draw(vtype[pending], random.random(len(pending)))
            moment = (day.start + hour * 3600
                      + (random.random(len(pending)) * 3600).astype(np.int64))
            inside = (moment >= lo) & (moment < day.hi)
            arrived[pending[inside]] = moment[inside]
            pending = pending[~inside]
        # the type hardly opens in this sliver of a day
        arrived[pending] = lo + (random.random(len(pending)) * (day.hi - lo)).astype(np.int64)
        return arrived

    def rows(self, drawn: Ints, day: _Day, lo: int | None = None) -> Columns:
        count = len(drawn)
        if not count:
            return Columns.empty()
        random, until, merge = self.random, self.until, self.merge
        vtype = self.sim_type[drawn]
        arrived = self._arrivals(vtype, day, day.lo if lo is None else lo)
        roll = random.random(count)
        pool = np.where(roll < self.commune_cut[drawn], self.sim_commune[drawn],
                        np.where(roll < self.district_cut[drawn], self.sim_district[drawn], 0))
        found = self.people.draw(pool, random.random(count)) + self.people.starts[pool]
        person = self.person_ids[np.minimum(found, self.pool_last[pool])]
        local = self.methods.draw(vtype, random.random(count))
        method = self.method_code[np.minimum(local + self.methods.starts[vtype],
                                             len(self.method_code) - 1)]
        dwell = self.sim_dwell[drawn]
        kind = np.full(count, KINDS.index(DepartureKind.ESTIMATED.value), dtype=np.int8)
        ends = arrived + dwell
        chance = random.random(count)
        tapped = arrived + np.maximum(60, (dwell * (0.25 + 1.5 * random.random(count)))
                                      .astype(np.int64))
        leaves = self.poster[method] & (chance < vocab.CITIZEN_CHECKOUT_SHARE) & (tapped <= until)
        kind[leaves] = KINDS.index(DepartureKind.CITIZEN.value)
        ends[leaves] = tapped[leaves]
        span = np.maximum(dwell - merge - 60, 0)
        scanned = arrived + merge + 60 + (random.random(count) * span).astype(np.int64)
        exits = (self.card[method] & (dwell > merge + 60) & (chance < vocab.EXIT_SCAN_SHARE)
                 & (scanned <= until))
        kind[exits] = KINDS.index(DepartureKind.EXIT_SCAN.value)
        ends[exits] = scanned[exits]
        late = random.random(count) < vocab.LATE_SYNC_SHARE
        spread = random.random(count) * random.random(count)
        received = np.where(late, arrived + 300 + (spread * 43_200).astype(np.int64),
                            arrived + 1 + (spread * 15).astype(np.int64))
        return Columns(arrived=arrived, venue=self.sim_venue[drawn], person=person,
                       received=np.minimum(received, until), ends=ends, kind=kind,
                       method=method)


def _by_arrival(rows: Columns) -> Columns:
    return rows.take(np.argsort(rows.arrived, kind="stable"))


def _checkins_load(*, area: AdministrativeUnit, plan: SynthPlan, since: int, until: int,
                   result: SynthResult, show: bool, stream: TextIO | None,
                   on_day: Callable[[int, int], None] | None = None) -> None:
    """Generates and writes the check-ins; ``on_day(lo, hi)`` is called as
    each day's rows are all written."""
    preparing = clock.monotonic()
    # Counting what is there makes a second run with the same seed add new
    # visits instead of copies of the first run's.
    existing = CheckIn.objects.count()
    rng = _seeded(f"{plan.seed}:checkins:{area.path}:{existing}")
    communes = {c.pk: c.parent_id for c in _communes(area)}
    district_of = {pk: parent for pk, parent in communes.items() if parent is not None}
    pools = _pools(area, district_of,
                   _numpy_seeded(f"{plan.seed}:appetite:{area.path}:{existing}"))
    if not len(pools.area.ids):
        raise SynthError(f"nobody lives in {area.name} to check in; ask for --people")
    venues = list(
        Venue.objects.filter(commune__path__startswith=area.path, status=VenueStatus.ACTIVE)
        .order_by("pk").values_list("pk", "commune_id", "venue_type", "dwell_minutes")
    )
    if not venues:
        raise SynthError(f"{area.name} has no active venue to check in at; ask for --venues")
    staffed = set(
        VenueStaff.objects.filter(venue__commune__path__startswith=area.path,
                                  user__isnull=False).values_list("venue_id", flat=True)
    )
    days = _days(since, until)
    day_weight = _DayWeights()
    has_early = any(day.early for day in days)

    # Which venues scan at all: a weighted draw without replacement
    # (Efraimidis-Spirakis keys) favouring markets, clinics, checkpoints and
    # venues whose staff use the system.
    def activity(row: tuple[int, int, str, int | None]) -> float:
        weight = vocab.TYPE_ACTIVITY.get(row[2], (1.0, 1.0))[0]
        return weight * (STAFFED_VENUE_ACTIVITY if row[0] in staffed else 1.0)

    keyed = sorted(venues, key=lambda row: rng.random() ** (1.0 / activity(row)), reverse=True)
    active_count = max(1, round(plan.active_share * len(venues))) if plan.active_share else 0
    lapsed_count = round(plan.lapsed_share * len(venues)) if has_early else 0
    lapsed_count = min(lapsed_count, len(venues) - active_count)
    if active_count + lapsed_count == 0:
        raise SynthError("with --active-share 0 and no lapsed venues nobody scans anywhere")
    active, lapsed = keyed[:active_count], keyed[active_count : active_count + lapsed_count]

    # How busy each scanning venue is: Zipf over a rank order that puts the
    # popular types (markets, clinics, checkpoints) first more often than
    # not. Busy venues scan every day; quiet ones only on some days, so
    # fewer venues have a scan in the last day than in the last week.
    scanning = active + lapsed
    ranked = sorted(
        range(len(scanning)),
        key=lambda i: rng.random() ** (1.0 / vocab.TYPE_ACTIVITY.get(scanning[i][2],
                                                                    (1.0, 1.0))[1]),
        reverse=True,
    )
    popularity = [0.0] * len(scanning)
    regularity = [1.0] * len(scanning)
    every_day = max(3, len(scanning) // 5)
    for rank, index in enumerate(ranked, start=1):
        popularity[index] = 1.0 / rank**ZIPF_EXPONENT
        if rank > every_day:
            regularity[index] = rng.uniform(0.15, 0.9)
    weight_sum = sum(p * r for p, r in zip(popularity, regularity, strict=True)) or 1.0
    sims = []
    for index, (venue_id, commune_id, vtype, dwell_minutes) in enumerate(scanning):
        commune_pool = pools.communes.get(commune_id)
        district_pool = pools.districts.get(district_of.get(commune_id, -1))
        district_pool = district_pool if district_pool is not None else pools.area
        commune_pool = commune_pool if commune_pool is not None else district_pool
        expected = plan.checkins * popularity[index] * regularity[index] / weight_sum
        local = min(HOME_COMMUNE_SHARE, MAX_LOCAL_VISITS_PER_DAY * len(commune_pool.ids)
                    * plan.days / expected) if expected > 0 else HOME_COMMUNE_SHARE
        nearby = (1.0 - local) * HOME_DISTRICT_SHARE / (1.0 - HOME_COMMUNE_SHARE)
        vtype = vtype if vtype in vocab.HOURLY else "other"
        sims.append(_Sim(
            venue_id=venue_id, vtype=vtype,
            dwell=(dwell_minutes or DEFAULT_DWELL_MINUTES.get(vtype, 60)) * 60,
            commune_pool=commune_pool, district_pool=district_pool,
            commune_cut=local, district_cut=local + nearby,
        ))

    # Every scanning venue gets one visit on a day that makes it count as
    # active (the last 7 days) or lapsed (before them), as far as the number
    # of check-ins allows; the rest follow popularity.
    recent = [i for i, day in enumerate(days) if not day.early
              and day.start >= days[-1].start - 6 * 86400]
    early = [i for i, day in enumerate(days) if day.early]
    forced: dict[int, list[int]] = {}
    budget = plan.checkins
    for index, sim in enumerate(sims):
        if budget == 0:
            break
        choices = recent if index < len(active) else early
        weights = [day_weight[(sim.vtype, days[i])] for i in choices]
        day_index = (rng.choices(choices, weights=weights)[0] if sum(weights) > 0
                     else rng.choice(choices))
        forced.setdefault(day_index, []).append(index)
        budget -= 1
    result.active_venues = sum(1 for group in forced.values() for i in group if i < len(active))
    result.lapsed_venues = sum(len(group) for group in forced.values()) - result.active_venues

    def eligible(day: _Day) -> range:
        return range(len(sims)) if day.early else range(len(active))

    per_type: dict[bool, dict[str, float]] = {True: {}, False: {}}
    for phase in (True, False):
        for index in (range(len(sims)) if phase else range(len(active))):
            vtype = sims[index].vtype
            per_type[phase][vtype] = (per_type[phase].get(vtype, 0.0)
                                      + popularity[index] * regularity[index])
    day_weights = [
        sum(total * day_weight[(vtype, day)] for vtype, total in per_type[day.early].items())
        for day in days
    ]
    counts = _allocate(budget, day_weights)

    maker = _RowMaker(_numpy_seeded(f"{plan.seed}:checkins:{area.path}:{existing}"),
                      pools, sims, until)
    random = maker.random
    cut = until - int(ACTIVE_WINDOW.total_seconds())

    def day_rows(day_index: int, day: _Day) -> Columns:
        """The day's visits: the pinned ones, then the rest by popularity."""
        parts: list[Columns] = []
        pinned = forced.get(day_index, [])
        # An active venue's pinned visit is inside the last 7 days.
        parts.append(maker.rows(np.array([i for i in pinned if i < len(active)],
                                         dtype=np.int64), day, lo=max(day.lo, cut)))
        parts.append(maker.rows(np.array([i for i in pinned if i >= len(active)],
                                         dtype=np.int64), day))
        remaining = counts[day_index]
        if remaining:
            pinned_today = set(pinned)
            population = [i for i in eligible(day)
                          if i in pinned_today or rng.random() < regularity[i]]
            cumulative = list(accumulate(
                popularity[i] * day_weight[(sims[i].vtype, day)] for i in population
            ))
            if not cumulative or cumulative[-1] <= 0:  # everyone stayed home: a tiny area
                population = list(eligible(day))
                cumulative = list(accumulate(
                    popularity[i] * day_weight[(sims[i].vtype, day)] for i in population
                ))
            venues_drawn = np.array(population, dtype=np.int64)
            weights = np.array(cumulative)
            while remaining > 0:
                count = min(plan.batch, remaining)
                picked = np.searchsorted(weights, random.random(count) * weights[-1],
                                         side="right")
                parts.append(maker.rows(venues_drawn[np.minimum(picked, len(weights) - 1)],
                                        day))
                remaining -= count
        return Columns.concat(parts)

    # A visit's estimated end may be cut by the person's next arrival
    # elsewhere up to the longest dwell time later: a day is written once
    # the days that far ahead are made.
    ahead = max(1, -(-max(sim.dwell for sim in sims) // 86400))

    def batches() -> Iterator[tuple[str, _Day, int, Payload | None]]:
        """("begin", day, 0, None), then ("rows", day, count, payload) in
        batches of at most ``plan.batch``, then ("end", day, 0, None): day
        by day in time order."""
        window = Columns.empty()
        sizes: list[int] = []
        made: list[_Day] = []

        def flush(upto: int) -> Iterator[tuple[str, _Day, int, Payload | None]]:
            nonlocal window
            cut_estimated_ends(window)
            for _n in range(upto):
                size, day = sizes.pop(0), made.pop(0)
                rows, window = _by_arrival(window.take(slice(0, size))), window.take(
                    slice(size, None))
                yield "begin", day, 0, None
                for start in range(0, size, plan.batch):
                    part = rows.take(slice(start, start + plan.batch))
                    yield "rows", day, len(part), writer.prepare(part)
                yield "end", day, 0, None

        for day_index, day in enumerate(days):
            rows = day_rows(day_index, day)
            window = Columns.concat([window, rows])
            sizes.append(len(rows))
            made.append(day)
            if len(sizes) > ahead:
                yield from flush(1)
        yield from flush(len(sizes))

    def date_of(day: _Day) -> date:
        return local_day(datetime.fromtimestamp(day.lo, UTC))

    # PostgreSQL: a day whose partition is missing or empty is loaded into a
    # bare table, indexed once and attached as the partition, all in one
    # transaction (partitions.partition_bulk_*): maintaining five indexes row
    # by row made COPY five to ten times slower. Other days (with rows
    # already) take COPY into the partitioned table, one batch per
    # transaction.
    result.timings["prepare"] = clock.monotonic() - preparing
    preparing = clock.monotonic()
    free = set(partitions_clear_empty(date_of(days[0]), date_of(days[-1]))) if days else set()
    result.timings["partitions"] = clock.monotonic() - preparing
    writer = CheckInWriter()
    bar = ProgressBar(label="checkins", total=plan.checkins, stream=stream, enabled=show)
    started = clock.monotonic()
    open_day: ExitStack | None = None
    try:
        with writer.loading():
            for event, day, count, payload in in_background(batches()):
                if event == "begin" and date_of(day) in free:
                    open_day = ExitStack()
                    open_day.enter_context(transaction.atomic())
                    writer.table = partition_bulk_create(date_of(day))
                elif event == "rows" and payload is not None:
                    writer.write(payload)
                    bar.advance(count)
                    result.checkins_created += count
                elif event == "end":
                    if open_day is not None:
                        partition_bulk_attach(date_of(day))
                        writer.table = None
                        closing, open_day = open_day, None
                        closing.close()
                    if on_day is not None:
                        on_day(day.lo, day.hi)
    except BaseException:
        if open_day is not None:
            open_day.__exit__(*sys.exc_info())
            writer.table = None
        raise
    finally:
        # Days the load did not reach get their (empty) partitions back.
        if days:
            partitions_ensure(date_of(days[0]), date_of(days[-1]))
    bar.finish()
    result.load_seconds = clock.monotonic() - started


# --- The whole run ----------------------------------------------------------


@dataclass(frozen=True)
class SynthExtra:
    """Data another app adds to ``truyvet synth`` (vaccination's dose
    records, say) without checkins knowing it: registered from that app's
    ``AppConfig.ready`` with ``synth_extra_register``. ``add_arguments``
    adds its options to the command; ``run(options, area, stream)`` makes
    its data for the area once people exist and returns lines to print."""

    add_arguments: Callable[[Any], None]
    run: Callable[[dict[str, Any], AdministrativeUnit, TextIO | None], list[str]]


SYNTH_EXTRAS: list[SynthExtra] = []


def synth_extra_register(extra: SynthExtra) -> None:
    if extra not in SYNTH_EXTRAS:
        SYNTH_EXTRAS.append(extra)


def checkins_after_load_hook() -> Callable[..., object] | None:
    """``truyvet.checkins.services.recording.checkins_after_bulk_load`` when
    it exists."""
    hook = getattr(recording, "checkins_after_bulk_load", None)
    return hook if callable(hook) else None


class _DayRebuilder:
    """Calls the post-load hook for each day, as soon as the day is written,
    in ``workers`` threads of their own (each with its own database
    connection), so that the database derives days while the next ones
    load, and the days written last (the load ends with a burst of them)
    are derived side by side. The hook must take days in any order and two
    at once (``rollups_rebuild`` does: each day is its own transaction)."""

    def __init__(self, hook: Callable[..., object], workers: int = 2) -> None:
        self.hook = hook
        self.days: Queue[tuple[int, int] | None] = Queue()
        self.error: BaseException | None = None
        self.threads = [threading.Thread(target=self._run, name=f"synth-rollups-{n}",
                                         daemon=True) for n in range(workers)]
        for thread in self.threads:
            thread.start()

    def add(self, lo: int, hi: int) -> None:
        self.days.put((lo, hi))

    def _run(self) -> None:
        try:
            while (day := self.days.get()) is not None:
                if self.error is None:
                    self.hook(since=datetime.fromtimestamp(day[0], UTC),
                              until=datetime.fromtimestamp(day[1], UTC))
        except BaseException as error:  # handed to finish()
            self.error = error
        finally:
            connection.close()

    def finish(self) -> None:
        for _thread in self.threads:
            self.days.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            raise self.error


def synth_generate(*, plan: SynthPlan, progress: bool = False,
                   stream: TextIO | None = None) -> SynthResult:
    """Generates ``plan`` into the default database and returns what was
    made. See the package docstring for the guarantees."""
    plan.validate()
    area = synth_area(province=plan.province, district=plan.district)
    communes = _communes(area)
    until_at = plan.until or timezone.now()
    until = int(until_at.timestamp())
    since = until - plan.days * 86400
    result = SynthResult(area=area, since=datetime.fromtimestamp(since, UTC),
                         until=datetime.fromtimestamp(until, UTC))
    venues_target = plan.venues if plan.venues is not None else VENUES_PER_COMMUNE * len(
        communes
    )
    people_target = plan.people if plan.people is not None else max(
        PEOPLE_PER_VENUE * venues_target, plan.checkins // CHECKINS_PER_PERSON
    )

    started = clock.monotonic()
    result.venues_created, result.venues_total = _venues_ensure(
        area=area, communes=communes, target=venues_target, seed=plan.seed,
        since=result.since, show=progress, stream=stream,
    )
    result.timings["venues"] = clock.monotonic() - started
    started = clock.monotonic()
    result.people_created, result.people_total = _people_ensure(
        area=area, communes=communes, target=people_target, seed=plan.seed,
        since=result.since, show=progress, stream=stream,
    )
    result.timings["people"] = clock.monotonic() - started
    if plan.checkins:
        hook = checkins_after_load_hook()
        # On PostgreSQL outside a transaction each day's rollups are rebuilt
        # on a second connection while the next days load; otherwise (SQLite,
        # tests) once for the whole period at the end.
        rebuilder = (_DayRebuilder(hook) if hook is not None and connection.vendor == "postgresql"
                     and not connection.in_atomic_block else None)
        loaded = False
        try:
            _checkins_load(area=area, plan=plan, since=since, until=until, result=result,
                           show=progress, stream=stream,
                           on_day=rebuilder.add if rebuilder is not None else None)
            loaded = True
        finally:
            # Also after a failure half-way: the batches committed so far
            # are in the table and rollups must count them.
            started = clock.monotonic()
            if rebuilder is not None:
                rebuilder.finish()
            if hook is not None and result.checkins_created and (rebuilder is None or not loaded):
                hook(since=result.since, until=result.until)
            result.hook_called = hook is not None and bool(result.checkins_created)
            result.timings["rebuild_wait"] = clock.monotonic() - started
    return result
