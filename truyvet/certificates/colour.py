"""The COVID card colour (BRIEF §3 G): green, yellow or red, from a person's
doses, test results and recoveries, under the rules of their province on
the day.

Pure functions over plain values (``Inputs``, ``Rule``): the selectors
(``status_selectors``) load them, the table-driven tests feed them directly.

The default rules, each "within" meaning strictly less than:
- green: a full primary course plus 14 days (from the local day of the
  course's last dose), or recovered (case closed) within 180 days;
- yellow: a first dose plus 14 days, or a negative PCR sampled within 72 h;
- red: a positive test within 14 days that no recovery followed; otherwise.
A positive test outranks everything else. Days are local days
(``core.time``): day 14 after a dose given on 1 December starts at local
midnight on 15 December.

When will the colour change? Every rule boundary of the person's records
after ``at`` (and every later rule change) is a candidate instant; the
first one whose colour differs is the change (``next_change``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truyvet.core.time import day_start, local_day, local_zone

GREEN, YELLOW, RED = "green", "yellow", "red"
COLOURS = (GREEN, YELLOW, RED)
LABELS: dict[str, Promise] = {
    GREEN: _("Thẻ xanh"), YELLOW: _("Thẻ vàng"), RED: _("Thẻ đỏ"),
}
# A signed claim on the personal QR is valid for at most this long.
CLAIM_MAX_HOURS = 24


@dataclass(frozen=True)
class Rule:
    effective_from: date
    full_course_days: int = 14
    recovery_days: int = 180
    first_dose_days: int = 14
    pcr_hours: int = 72
    rapid_hours: int = 0
    positive_days: int = 14
    province_id: int | None = None
    rule_id: int | None = None  # the ColourRule row, None for the built-in default


DEFAULT_RULE = Rule(effective_from=date(2021, 1, 1))


@dataclass(frozen=True)
class DoseIn:
    given_on: date
    dose_number: int
    completes_course: bool  # the dose that completes the primary course (or any later one)


@dataclass(frozen=True)
class TestIn:
    __test__ = False
    kind: str  # "pcr" | "rapid"
    positive: bool
    sampled_at: datetime


@dataclass(frozen=True)
class RecoveryIn:
    first_positive_on: date
    recovered_on: date


@dataclass(frozen=True)
class Inputs:
    doses: Sequence[DoseIn] = ()
    tests: Sequence[TestIn] = ()
    recoveries: Sequence[RecoveryIn] = ()


@dataclass(frozen=True)
class Verdict:
    colour: str
    reason: str


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _t(moment: datetime) -> str:
    return moment.astimezone(local_zone()).strftime("%H:%M %d/%m/%Y")


def colour_at(inputs: Inputs, rule: Rule, at: datetime) -> Verdict:
    """The colour at ``at`` under ``rule``, with the reason in words."""
    today = local_day(at)
    last_recovery = max((r.recovered_on for r in inputs.recoveries), default=None)
    positives = [t for t in inputs.tests if t.positive and t.sampled_at <= at
                 and at < t.sampled_at + timedelta(days=rule.positive_days)
                 and (last_recovery is None or local_day(t.sampled_at) > last_recovery)]
    if positives:
        latest = max(positives, key=lambda t: t.sampled_at)
        return Verdict(RED, str(_("Xét nghiệm dương tính (lấy mẫu %(at)s).")
                                % {"at": _t(latest.sampled_at)}))
    completing = [d for d in inputs.doses if d.completes_course
                  and today >= d.given_on + timedelta(days=rule.full_course_days)]
    if completing:
        dose = min(completing, key=lambda d: d.given_on)
        return Verdict(GREEN, str(_("Đã tiêm đủ liều cơ bản (mũi %(number)s ngày %(day)s) và "
                                    "đã qua %(days)s ngày.")
                                  % {"number": dose.dose_number, "day": _d(dose.given_on),
                                     "days": rule.full_course_days}))
    recovered = [r for r in inputs.recoveries if r.recovered_on <= today
                 and today < r.recovered_on + timedelta(days=rule.recovery_days)]
    if recovered:
        recovery = max(recovered, key=lambda r: r.recovered_on)
        return Verdict(GREEN, str(_("Đã khỏi bệnh ngày %(day)s (trong vòng %(days)s ngày).")
                                  % {"day": _d(recovery.recovered_on),
                                     "days": rule.recovery_days}))
    first = [d for d in inputs.doses
             if today >= d.given_on + timedelta(days=rule.first_dose_days)]
    if first:
        dose = min(first, key=lambda d: d.given_on)
        return Verdict(YELLOW, str(_("Đã tiêm mũi %(number)s ngày %(day)s và đã qua %(days)s "
                                     "ngày.")
                                   % {"number": dose.dose_number, "day": _d(dose.given_on),
                                      "days": rule.first_dose_days}))
    negatives = [t for t in inputs.tests if not t.positive and t.sampled_at <= at
                 and at < t.sampled_at + timedelta(hours=_valid_hours(rule, t.kind))]
    if negatives:
        test = max(negatives, key=lambda t: t.sampled_at)
        label = _("PCR") if test.kind == "pcr" else _("test nhanh")
        return Verdict(YELLOW, str(_("Xét nghiệm %(kind)s âm tính (lấy mẫu %(at)s), còn hiệu lực "
                                     "%(hours)s giờ.")
                                   % {"kind": label, "at": _t(test.sampled_at),
                                      "hours": _valid_hours(rule, test.kind)}))
    return Verdict(RED, str(_("Chưa tiêm vắc xin đủ 14 ngày, không có xét nghiệm âm tính còn "
                              "hiệu lực và chưa khỏi bệnh trong thời hạn.")))


def _valid_hours(rule: Rule, kind: str) -> int:
    return rule.pcr_hours if kind == "pcr" else rule.rapid_hours


def _boundaries(inputs: Inputs, rules: Sequence[Rule]) -> set[datetime]:
    """Every instant at which some rule could change the colour."""
    found: set[datetime] = set()
    for rule in rules:
        found.add(day_start(rule.effective_from))
        for dose in inputs.doses:
            found.add(day_start(dose.given_on + timedelta(days=rule.full_course_days)))
            found.add(day_start(dose.given_on + timedelta(days=rule.first_dose_days)))
        for test in inputs.tests:
            found.add(test.sampled_at)
            found.add(test.sampled_at + timedelta(hours=_valid_hours(rule, test.kind)))
            found.add(test.sampled_at + timedelta(days=rule.positive_days))
            found.add(day_start(local_day(test.sampled_at) + timedelta(days=1)))
        for recovery in inputs.recoveries:
            found.add(day_start(recovery.recovered_on))
            found.add(day_start(recovery.recovered_on + timedelta(days=rule.recovery_days)))
    return found


@dataclass(frozen=True)
class Change:
    at: datetime
    colour: str


def next_change(inputs: Inputs, rule_for: Callable[[datetime], Rule], rules: Sequence[Rule],
                at: datetime) -> Change | None:
    """The first instant after ``at`` at which the colour differs from the
    colour at ``at``, and that colour; None if nothing known will change it."""
    now = colour_at(inputs, rule_for(at), at).colour
    for moment in sorted(m for m in _boundaries(inputs, rules) if m > at):
        colour = colour_at(inputs, rule_for(moment), moment).colour
        if colour != now:
            return Change(at=moment, colour=colour)
    return None


def change_note(colour: str, change: Change | None) -> str:
    """ "Thẻ vàng đến 12/12/2021, thẻ xanh từ đó." """
    if change is None:
        return ""
    when = _t(change.at) if _has_time(change.at) else _d(local_day(change.at))
    return str(_("%(now)s đến %(day)s, %(next)s từ đó.") % {
        "now": LABELS[colour], "day": when, "next": str(LABELS[change.colour]).lower(),
    })


def _has_time(moment: datetime) -> bool:
    """Whether ``moment`` is not a local midnight (a test's expiry is to the hour)."""
    return day_start(local_day(moment)) != moment
