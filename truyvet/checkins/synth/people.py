"""Residents drawn as columns, for ``truyvet synth``'s bulk load.

Half a million people never become model instances: a chunk of residents is
drawn with one numpy call per attribute (``PeopleDrawer.draw``) and comes
out as ``PeopleColumns``, each column already the text that
``bulk.columns_write`` sends (one ``COPY`` per chunk on PostgreSQL). The
distributions are those of the row-by-row generator this replaced (see the
package docstring): Tày-Nùng surnames, middle names by sex, ages in three
bands, an address in the home commune ("Xóm/Thôn <hamlet>", or "Tổ <n>" in
towns), a mobile number for 85% of those over 12 and a chip ID card (CCCD)
for 60% of those 14 and over, laid out as the real ones are.

Nothing here touches the database; ``generate._people_ensure`` checks the
drawn ID numbers against it and writes the chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from truyvet.accounts.identity import cccd_century_digit
from truyvet.accounts.models import IdKind, Sex
from truyvet.checkins.synth import vocabulary as vocab
from truyvet.checkins.synth.columns import Tables
from truyvet.core.text import fold

_VIETNAM_BORN = 1900  # CCCD century digits start at 1900
REGISTERED_BEFORE_DAYS = 120
# Shares and bands of the row-by-row generator.
MALE_SHARE = 0.5
CHILD_SHARE, ADULT_SHARE = 0.12, 0.73  # ages 6-17, 18-59; the rest 60-90
PHONE_FROM_AGE, PHONE_SHARE = 12, 0.85
CCCD_FROM_AGE, CCCD_SHARE = 14, 0.6
TOWN_GROUP_SHARE, TOWN_NUMBER_SHARE, TOWN_GROUPS, TOWN_NUMBERS = 0.6, 0.4, 12, 180
THON_SHARE = 0.3


@dataclass(frozen=True)
class Commune:
    """What drawing residents needs of a commune."""

    pk: int
    weight: float  # towns have more people than upland communes
    town: bool  # addresses "Tổ <n>" rather than hamlets
    province: int  # the province code's number: "04" -> 4
    hamlets: tuple[str, ...]


@dataclass
class PeopleColumns:
    """Residents as the text of their columns (``None`` is NULL), named by
    ``Person``'s attribute names; ``id_number`` may still be thinned out by
    ``drop_ids`` before writing."""

    full_name: list[str]
    name_folded: list[str]
    birth_year: list[str]
    sex: list[str]
    commune_id: list[str]
    street: list[str]
    phone: list[str]
    created_at: list[str]
    id_number: NDArray[np.int64]  # 0: none
    birth_date: list[str | None]

    def __len__(self) -> int:
        return len(self.full_name)

    def ids(self) -> list[str]:
        """The ID numbers drawn (12 digits), in row order."""
        return [f"{value:012d}" for value in self.id_number[self.id_number > 0].tolist()]

    def drop_ids(self, numbers: set[str]) -> int:
        """Removes the ID numbers in ``numbers`` (and their dates of birth,
        which came with the card), and an ID drawn twice in this chunk after
        its first holder; returns how many were dropped."""
        values = self.id_number
        holders = np.flatnonzero(values > 0)
        _unique, first = np.unique(values[holders], return_index=True)
        repeated = np.ones(len(holders), dtype=bool)
        repeated[first] = False
        taken = np.array([f"{v:012d}" in numbers for v in values[holders].tolist()], dtype=bool)
        dropped = holders[repeated | taken]
        values[dropped] = 0
        for index in dropped.tolist():
            self.birth_date[index] = None
        return len(dropped)

    def as_text(self, *, now: str) -> dict[str, Sequence[str | None] | str]:
        """Every column of a new ``Person`` row, by attribute name: a list of
        texts, or one text for the whole column."""
        numbers = [f"{v:012d}" if v else None for v in self.id_number.tolist()]
        return {
            "full_name": self.full_name, "name_folded": self.name_folded,
            "birth_date": self.birth_date, "birth_year": self.birth_year, "sex": self.sex,
            "id_kind": [IdKind.CCCD.value if number else "" for number in numbers],
            "id_number": numbers, "phone": self.phone, "commune_id": self.commune_id,
            "street": self.street, "language": "", "created_at": self.created_at,
            "updated_at": now,
        }


def _weighted(pairs: Sequence[tuple[str, float]]) -> tuple[list[str], NDArray[np.float64]]:
    return [value for value, _weight in pairs], np.cumsum([weight for _v, weight in pairs])


def _folded(words: Sequence[str]) -> list[str]:
    """Each word folded on its own: a name's folded form is its words' folded
    forms joined by spaces (``fold`` works character by character and the
    words have no spaces; the tests compare with ``fold`` of the whole)."""
    return [fold(word) for word in words]


def utc_texts(seconds: NDArray[np.int64], suffix: str = "") -> list[str]:
    """Whole UTC epoch seconds as "YYYY-MM-DD HH:MM:SS" + ``suffix``: the
    text Django stores on SQLite ("+00:00" makes it exact for PostgreSQL)."""
    iso = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return [f"{text[:10]} {text[11:]}{suffix}" for text in iso.tolist()]


class PeopleDrawer:
    """Draws residents of ``communes`` (by their weights) in chunks, from one
    seeded numpy generator: the same seed gives the same people."""

    def __init__(self, random: np.random.Generator, communes: Sequence[Commune], *,
                 reference_year: int, since: int, time_suffix: str) -> None:
        self.random = random
        self.reference_year = reference_year
        self.since = since
        self.time_suffix = time_suffix
        self.commune_cumulative = np.cumsum([commune.weight for commune in communes])
        self.commune_pk = np.array([commune.pk for commune in communes], dtype=np.int64)
        self.commune_text = [str(commune.pk) for commune in communes]
        self.town = np.array([commune.town for commune in communes], dtype=bool)
        self.province = np.array([commune.province for commune in communes], dtype=np.int64)
        # Rural addresses: each commune's hamlets laid end to end, each as
        # ("Xóm h", "Thôn h"); a hamlet "Bản ..." is never a "Thôn".
        addresses: list[str] = []
        self.hamlet_start = np.zeros(len(communes), dtype=np.int64)
        self.hamlet_count = np.ones(len(communes), dtype=np.int64)
        thon_allowed: list[bool] = []
        for index, commune in enumerate(communes):
            self.hamlet_start[index] = len(thon_allowed)
            self.hamlet_count[index] = max(len(commune.hamlets), 1)
            for hamlet in commune.hamlets or ("",):
                addresses += [f"Xóm {hamlet}", f"Thôn {hamlet}"]
                thon_allowed.append(not hamlet.startswith("Bản"))
        self.rural = addresses
        self.thon_allowed = np.array(thon_allowed, dtype=bool)
        self.town_groups = ([f"Tổ {n}" for n in range(1, TOWN_GROUPS + 1)]
                            + [f"Tổ dân phố {n}" for n in range(1, TOWN_GROUPS + 1)])
        self.surnames, self.surname_cumulative = _weighted(vocab.SURNAMES)
        self.surnames_folded = _folded(self.surnames)
        male_middle, male_cumulative = _weighted(vocab.MIDDLE_MALE)
        female_middle, female_cumulative = _weighted(vocab.MIDDLE_FEMALE)
        self.middle = Tables([male_cumulative, female_cumulative])
        self.middles = male_middle + female_middle
        self.middles_folded = _folded(self.middles)
        self.givens = list(vocab.GIVEN_MALE) + list(vocab.GIVEN_FEMALE)
        self.givens_folded = _folded(self.givens)
        self.given_start = np.array([0, len(vocab.GIVEN_MALE)], dtype=np.int64)
        self.given_count = np.array([len(vocab.GIVEN_MALE), len(vocab.GIVEN_FEMALE)],
                                    dtype=np.int64)
        self.prefixes, self.prefix_cumulative = _weighted(vocab.MOBILE_PREFIXES)

    def _pick(self, cumulative: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
        found = np.searchsorted(cumulative, u * cumulative[-1], side="right")
        return np.minimum(found, len(cumulative) - 1).astype(np.int64)

    def draw(self, count: int) -> PeopleColumns:
        u = self.random.random((16, count))
        commune = self._pick(self.commune_cumulative, u[0])
        female = (u[1] >= MALE_SHARE).astype(np.int64)
        surname = self._pick(self.surname_cumulative, u[2])
        middle = self.middle.draw(female, u[3]) + self.middle.starts[female]
        given = self.given_start[female] + (u[4] * self.given_count[female]).astype(np.int64)
        age = np.where(u[5] < CHILD_SHARE, 6 + (u[6] * 12).astype(np.int64),
                       np.where(u[5] < CHILD_SHARE + ADULT_SHARE,
                                18 + (u[6] * 42).astype(np.int64),
                                60 + (u[6] * 31).astype(np.int64)))
        year = self.reference_year - age

        surnames, middles, givens = self.surnames, self.middles, self.givens
        folded = (self.surnames_folded, self.middles_folded, self.givens_folded)
        parts = list(zip(surname.tolist(), middle.tolist(), given.tolist(), strict=True))
        full_name = [f"{surnames[s]} {middles[m]} {givens[g]}" for s, m, g in parts]
        name_folded = [f"{folded[0][s]} {folded[1][m]} {folded[2][g]}" for s, m, g in parts]

        # Addresses: a hamlet in the countryside, a residential group in towns.
        town = self.town[commune]
        hamlet = self.hamlet_start[commune] + (u[7] * self.hamlet_count[commune]).astype(
            np.int64)
        thon = (u[8] < THON_SHARE) & self.thon_allowed[hamlet]
        rural = 2 * hamlet + thon
        group = (u[8] >= TOWN_GROUP_SHARE) * TOWN_GROUPS + (u[9] * TOWN_GROUPS).astype(np.int64)
        numbered = u[10] < TOWN_NUMBER_SHARE
        house = 1 + (u[11] * TOWN_NUMBERS).astype(np.int64)
        groups, hamlets = self.town_groups, self.rural
        street = [
            (f"Số {n}, {groups[g]}" if numbered_here else groups[g]) if in_town else hamlets[r]
            for in_town, g, numbered_here, n, r in zip(
                town.tolist(), group.tolist(), numbered.tolist(), house.tolist(),
                rural.tolist(), strict=True)
        ]

        created = self.since - (u[12] * REGISTERED_BEFORE_DAYS * 86400).astype(np.int64)
        has_phone = (age >= PHONE_FROM_AGE) & (u[13] < PHONE_SHARE)
        prefix = self._pick(self.prefix_cumulative, u[14])
        line = (u[15] * 10_000_000).astype(np.int64)
        prefixes = self.prefixes
        phone = [f"+84{prefixes[p]}{n:07d}" if has else ""
                 for has, p, n in zip(has_phone.tolist(), prefix.tolist(), line.tolist(),
                                      strict=True)]

        # Chip ID cards from 14: "0" + the province of birth registration,
        # the century/sex digit, the year's last two digits, six digits.
        extra = self.random.random((4, count))
        carded = (age >= CCCD_FROM_AGE) & (year >= _VIETNAM_BORN) & (extra[0] < CCCD_SHARE)
        pairs, back = np.unique(year * 2 + female, return_inverse=True)
        digit = np.array([cccd_century_digit(birth_year=int(pair // 2),
                                             sex=Sex.FEMALE if pair % 2 else Sex.MALE)
                          for pair in pairs.tolist()], dtype=np.int64)[back]
        number = (self.province[commune] * 1_000_000_000 + digit * 100_000_000
                  + (year % 100) * 1_000_000 + (extra[1] * 1_000_000).astype(np.int64))
        month = 1 + (extra[2] * 12).astype(np.int64)
        day = 1 + (extra[3] * 28).astype(np.int64)
        birth_date: list[str | None] = [
            f"{y:04d}-{m:02d}-{d:02d}" if has else None
            for has, y, m, d in zip(carded.tolist(), year.tolist(), month.tolist(),
                                    day.tolist(), strict=True)
        ]
        return PeopleColumns(
            full_name=full_name, name_folded=name_folded,
            birth_year=[str(y) for y in year.tolist()],
            sex=[Sex.FEMALE.value if f else Sex.MALE.value for f in female.tolist()],
            commune_id=[self.commune_text[c] for c in commune.tolist()],
            street=street, phone=phone,
            created_at=utc_texts(created, self.time_suffix),
            id_number=np.where(carded, number, 0), birth_date=birth_date,
        )
