"""The rules a dose record is checked against, on entry, on import and on
correction (context/vietnam.md §6). Pure functions over plain values, so
the import checks 100,000 rows without a model instance each.

Errors make a record impossible: a dose before birth, in the future,
before the previous dose (or after the next), a dose number skipped or
repeated. Warnings are deviations that happened in real life and must be
kept, but only with a reason: an interval shorter than the product allows,
a change of product within a primary course that the dated rules did not
allow, a product used before it was licensed, a booster before 6 months.

Messages are registered by code (``MESSAGES``) so that an import can store
codes and parameters and show them later in the reader's language.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truyvet.core.text import fold
from truyvet.vaccination.models import DoseKind, Vaccine, VaccineMix

# An additional dose (immunocompromised people) at least 28 days after the
# primary course; a booster at least 6 months after it (MoH, Nov 2021).
ADDITIONAL_MIN_DAYS = 28
BOOSTER_MIN_DAYS = 180
# Vietnam's campaign started on 8 March 2021; nothing earlier is a real dose.
CAMPAIGN_START = date(2021, 3, 8)

MESSAGES: dict[str, Promise] = {
    # Errors
    "future": _("Ngày tiêm %(day)s ở tương lai."),
    "before_birth": _("Ngày tiêm %(day)s trước ngày sinh."),
    "before_campaign": _("Ngày tiêm %(day)s trước khi chiến dịch tiêm chủng bắt đầu (08/03/2021)."),
    "before_previous": _("Mũi %(number)s (%(day)s) trước mũi %(previous)s đã tiêm ngày "
                         "%(previous_day)s."),
    "after_next": _("Mũi %(number)s (%(day)s) sau mũi %(next)s đã tiêm ngày %(next_day)s."),
    "skipped": _("Chưa có mũi %(missing)s: không thể ghi mũi %(number)s."),
    "repeated": _("Mũi %(number)s đã được ghi nhận (%(product)s, ngày %(day)s). Nếu sai, hãy gửi "
                  "yêu cầu điều chỉnh."),
    "beyond_primary": _("Liều cơ bản của %(product)s chỉ có %(doses)s mũi; mũi %(number)s phải là "
                        "mũi bổ sung hoặc nhắc lại."),
    "course_incomplete": _("Chưa tiêm đủ liều cơ bản (%(done)s/%(doses)s mũi %(product)s): mũi "
                           "%(number)s phải là mũi cơ bản."),
    "unknown_product": _("Không nhận ra tên vắc xin “%(value)s”."),
    "ambiguous_product": _("Tên vắc xin “%(value)s” có thể là %(names)s: hãy ghi rõ."),
    # Warnings
    "short_interval": _("Mũi %(number)s cách mũi trước %(days)s ngày, ngắn hơn tối thiểu "
                        "%(minimum)s ngày của %(product)s."),
    "mixed_course": _("Mũi %(number)s dùng %(product)s sau %(previous)s: quy định ngày "
                      "%(day)s chưa cho phép tiêm kết hợp hai loại này."),
    "not_licensed": _("%(product)s chỉ được cấp phép tại Việt Nam từ %(licensed)s."),
    "early_additional": _("Mũi bổ sung cách mũi trước %(days)s ngày, ngắn hơn tối thiểu "
                          "%(minimum)s ngày."),
    "early_booster": _("Mũi nhắc lại cách mũi cơ bản cuối %(days)s ngày, sớm hơn tối thiểu "
                       "%(minimum)s ngày (6 tháng)."),
    "needs_reason": _("Có điểm khác quy định: %(warnings)s Hãy ghi lý do để vẫn lưu mũi tiêm."),
}
WARNINGS = frozenset({"short_interval", "mixed_course", "not_licensed", "early_additional",
                      "early_booster"})


def message(code: str, params: dict[str, Any] | None = None) -> str:
    """The message of ``code`` in the active language."""
    template = str(MESSAGES.get(code, code))
    try:
        return template % (params or {})
    except (KeyError, TypeError, ValueError):
        return template


def show_day(day: date) -> str:
    return f"{day:%d/%m/%Y}"


@dataclass(frozen=True)
class Finding:
    code: str
    field: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def text(self) -> str:
        return message(self.code, self.params)

    @property
    def is_warning(self) -> bool:
        return self.code in WARNINGS


@dataclass(frozen=True)
class Shot:
    """A dose as the rules see it."""

    number: int
    kind: str
    product: str
    given_on: date


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    primary_doses: int
    min_interval_days: int
    licensed_on: date


_NOISE = frozenset({"vac", "xin", "vacxin", "vaccine", "vaccin", "vaxin", "covid", "19",
                    "covid19", "sars", "cov", "mui", "lieu", "tiem"})


def _words(text: str) -> str:
    folded = re.sub(r"[^a-z0-9&]+", " ", fold(text))
    return " ".join(word for word in folded.split() if word not in _NOISE)


class Catalogue:
    """The products and the dated mixing rules, read once per request or
    import (two queries)."""

    def __init__(self, vaccines: Iterable[Vaccine], mixes: Iterable[VaccineMix]) -> None:
        self.products: dict[str, Product] = {}
        self.aliases: dict[str, str] = {}
        for vaccine in vaccines:
            self.products[vaccine.code] = Product(
                code=vaccine.code, name=vaccine.name, primary_doses=vaccine.primary_doses,
                min_interval_days=vaccine.min_interval_days, licensed_on=vaccine.licensed_on)
            for alias in [vaccine.code, vaccine.name, *vaccine.aliases.splitlines()]:
                words = _words(alias)
                if words:
                    self.aliases.setdefault(words, vaccine.code)
        self.mixes = {(mix.previous_id, mix.following_id): mix.allowed_from for mix in mixes}
        # Longest first, so "sputnik v" is tried before a shorter alias inside it.
        self._ordered = sorted(self.aliases, key=len, reverse=True)
        self._found: dict[str, tuple[str | None, Finding | None]] = {}

    @classmethod
    def load(cls, using: str = "default") -> Catalogue:
        return cls(Vaccine.objects.using(using).all(), VaccineMix.objects.using(using).all())

    def name(self, code: str) -> str:
        product = self.products.get(code)
        return product.name if product else code

    def find(self, text: str) -> tuple[str | None, Finding | None]:
        """The product a name as people write it stands for ("Astra", "AZ",
        "Pfizer", "Vero cell", "Sinopharm (Vero Cell)"), or a finding."""
        if text not in self._found:
            self._found[text] = self._find(text)
        return self._found[text]

    def _find(self, text: str) -> tuple[str | None, Finding | None]:
        raw = (text or "").strip()
        words = _words(raw)
        if not words:
            return None, Finding("unknown_product", "vaccine", {"value": raw})
        if words in self.aliases:
            return self.aliases[words], None
        padded = f" {words} "
        found = {self.aliases[alias] for alias in self._ordered if f" {alias} " in padded}
        if len(found) == 1:
            return found.pop(), None
        if found:
            names = ", ".join(sorted(self.name(code) for code in found))
            return None, Finding("ambiguous_product", "vaccine", {"value": raw, "names": names})
        return None, Finding("unknown_product", "vaccine", {"value": raw})


@dataclass
class Verdict:
    number: int
    kind: str
    errors: list[Finding] = dataclasses.field(default_factory=list)
    warnings: list[Finding] = dataclasses.field(default_factory=list)

    @property
    def warning_codes(self) -> str:
        return ",".join(sorted({finding.code for finding in self.warnings}))


def course_of(history: Sequence[Shot], catalogue: Catalogue) -> tuple[int, int, str]:
    """(primary doses given, primary doses the course needs, product of the
    course): the course is that of the person's first dose."""
    primaries = [shot for shot in history if shot.kind == DoseKind.PRIMARY]
    if not primaries:
        return 0, 0, ""
    first = min(primaries, key=lambda shot: shot.number)
    product = catalogue.products.get(first.product)
    return len(primaries), product.primary_doses if product else 2, first.product


def check_dose(
    *,
    shot_number: int | None,
    kind: str | None,
    product: str,
    given_on: date,
    history: Sequence[Shot],
    birth_date: date | None,
    birth_year: int | None,
    today: date,
    catalogue: Catalogue,
) -> Verdict:
    """Checks a dose against the person's other doses (``history``, in any
    order, without the dose itself when it is being changed). A missing
    ``shot_number`` means the next one; a missing ``kind`` is worked out
    (primary until the course is complete, then booster)."""
    ordered = sorted(history, key=lambda shot: shot.number)
    number = shot_number if shot_number is not None else len(ordered) + 1
    verdict = Verdict(number=number, kind=kind or "")
    day = show_day(given_on)
    by_number = {shot.number: shot for shot in ordered}
    errors, warnings = verdict.errors, verdict.warnings

    if given_on > today:
        errors.append(Finding("future", "given_on", {"day": day}))
    if given_on < CAMPAIGN_START:
        errors.append(Finding("before_campaign", "given_on", {"day": day}))
    if birth_date is not None and given_on < birth_date:
        errors.append(Finding("before_birth", "given_on", {"day": day}))
    elif birth_date is None and birth_year is not None and given_on.year < birth_year:
        errors.append(Finding("before_birth", "given_on", {"day": day}))

    if number in by_number:
        existing = by_number[number]
        errors.append(Finding("repeated", "dose_number", {
            "number": number, "product": catalogue.name(existing.product),
            "day": show_day(existing.given_on)}))
        return verdict
    highest = ordered[-1].number if ordered else 0
    if number > highest + 1:
        errors.append(Finding("skipped", "dose_number",
                              {"missing": highest + 1, "number": number}))
        return verdict
    previous = by_number.get(number - 1)
    following = by_number.get(number + 1)
    if previous is not None and given_on < previous.given_on:
        errors.append(Finding("before_previous", "given_on", {
            "number": number, "day": day, "previous": previous.number,
            "previous_day": show_day(previous.given_on)}))
    if following is not None and given_on > following.given_on:
        errors.append(Finding("after_next", "given_on", {
            "number": number, "day": day, "next": following.number,
            "next_day": show_day(following.given_on)}))

    before = [shot for shot in ordered if shot.number < number]
    done, needed, course = course_of(before, catalogue)
    this = catalogue.products.get(product)
    if not needed:  # this dose starts the course
        needed, course = (this.primary_doses if this else 2), product
    resolved = kind or (DoseKind.PRIMARY if done < needed else DoseKind.BOOSTER)
    verdict.kind = resolved
    course_name = catalogue.name(course)
    if resolved == DoseKind.PRIMARY and done >= needed:
        errors.append(Finding("beyond_primary", "kind", {
            "product": course_name, "doses": needed, "number": number}))
    if resolved != DoseKind.PRIMARY and done < needed:
        errors.append(Finding("course_incomplete", "kind", {
            "done": done, "doses": needed, "product": course_name, "number": number}))

    if this is not None and given_on < this.licensed_on:
        warnings.append(Finding("not_licensed", "vaccine", {
            "product": this.name, "licensed": show_day(this.licensed_on)}))
    last = before[-1] if before else None
    if resolved == DoseKind.PRIMARY and last is not None:
        gap = (given_on - last.given_on).days
        minimum = catalogue.products[course].min_interval_days if course in \
            catalogue.products else 21
        if 0 <= gap < minimum:
            warnings.append(Finding("short_interval", "given_on", {
                "number": number, "days": gap, "minimum": minimum, "product": course_name}))
        previous_primary = [shot for shot in before if shot.kind == DoseKind.PRIMARY]
        if previous_primary and previous_primary[-1].product != product:
            earlier = previous_primary[-1].product
            allowed_from = catalogue.mixes.get((earlier, product))
            if allowed_from is None or given_on < allowed_from:
                warnings.append(Finding("mixed_course", "vaccine", {
                    "number": number, "product": catalogue.name(product),
                    "previous": catalogue.name(earlier), "day": day}))
    if resolved == DoseKind.ADDITIONAL and last is not None:
        gap = (given_on - last.given_on).days
        if 0 <= gap < ADDITIONAL_MIN_DAYS:
            warnings.append(Finding("early_additional", "given_on",
                                    {"days": gap, "minimum": ADDITIONAL_MIN_DAYS}))
    if resolved == DoseKind.BOOSTER:
        primaries = [shot for shot in before if shot.kind == DoseKind.PRIMARY]
        if primaries:
            gap = (given_on - primaries[-1].given_on).days
            if 0 <= gap < BOOSTER_MIN_DAYS:
                warnings.append(Finding("early_booster", "given_on",
                                        {"days": gap, "minimum": BOOSTER_MIN_DAYS}))
    return verdict


def warnings_text(warnings: Iterable[Finding]) -> str:
    return " ".join(finding.text for finding in warnings)
