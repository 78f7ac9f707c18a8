"""The card colour at the boundary days (issue 16 acceptance): day 13 and 14
after a dose, 72 h after a PCR, 180 days after a recovery, and a rule change
by its effective date."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from truyvet.certificates import colour as c
from truyvet.core.time import day_start

DOSE_DAY = date(2021, 11, 1)
SAMPLED = datetime.fromisoformat("2021-11-10T09:30:00+07:00")
RECOVERED = date(2021, 6, 1)


def _noon(day: date) -> datetime:
    return day_start(day) + timedelta(hours=12)


one_dose = c.Inputs(doses=[c.DoseIn(DOSE_DAY, 1, completes_course=False)])
full_course = c.Inputs(doses=[c.DoseIn(date(2021, 9, 1), 1, False),
                              c.DoseIn(DOSE_DAY, 2, completes_course=True)])
pcr = c.Inputs(tests=[c.TestIn("pcr", False, SAMPLED)])
rapid = c.Inputs(tests=[c.TestIn("rapid", False, SAMPLED)])
recovered = c.Inputs(recoveries=[c.RecoveryIn(date(2021, 5, 10), RECOVERED)])
positive_after_dose = c.Inputs(doses=full_course.doses,
                               tests=[c.TestIn("rapid", True, SAMPLED)])
TIGHTER = c.Rule(effective_from=date(2021, 12, 1), full_course_days=21, pcr_hours=48)

CASES = [
    # (what, inputs, at, rule, expected colour)
    ("first dose, day 13", one_dose, _noon(DOSE_DAY + timedelta(days=13)), c.DEFAULT_RULE, c.RED),
    ("first dose, day 14 at midnight", one_dose, day_start(DOSE_DAY + timedelta(days=14)),
     c.DEFAULT_RULE, c.YELLOW),
    ("full course, day 13", full_course, _noon(DOSE_DAY + timedelta(days=13)), c.DEFAULT_RULE,
     c.YELLOW),
    ("full course, day 14", full_course, _noon(DOSE_DAY + timedelta(days=14)), c.DEFAULT_RULE,
     c.GREEN),
    ("negative PCR, 71 h 59", pcr, SAMPLED + timedelta(hours=72, seconds=-1), c.DEFAULT_RULE,
     c.YELLOW),
    ("negative PCR, 72 h", pcr, SAMPLED + timedelta(hours=72), c.DEFAULT_RULE, c.RED),
    ("negative PCR, before the sample", pcr, SAMPLED - timedelta(minutes=1), c.DEFAULT_RULE,
     c.RED),
    ("negative rapid test does not count by default", rapid, SAMPLED + timedelta(hours=1),
     c.DEFAULT_RULE, c.RED),
    ("recovered, day 179", recovered, _noon(RECOVERED + timedelta(days=179)), c.DEFAULT_RULE,
     c.GREEN),
    ("recovered, day 180", recovered, _noon(RECOVERED + timedelta(days=180)), c.DEFAULT_RULE,
     c.RED),
    ("a positive test outranks a full course", positive_after_dose,
     SAMPLED + timedelta(hours=1), c.DEFAULT_RULE, c.RED),
    ("a positive test, 14 days on", positive_after_dose, SAMPLED + timedelta(days=14),
     c.DEFAULT_RULE, c.GREEN),
    ("tighter rule: full course day 20", full_course, _noon(DOSE_DAY + timedelta(days=20)),
     TIGHTER, c.YELLOW),
    ("tighter rule: full course day 21", full_course, _noon(DOSE_DAY + timedelta(days=21)),
     TIGHTER, c.GREEN),
    ("tighter rule: PCR at 48 h", pcr, SAMPLED + timedelta(hours=48), TIGHTER, c.RED),
]


@pytest.mark.parametrize(("what", "inputs", "at", "rule", "expected"), CASES,
                         ids=[case[0] for case in CASES])
def test_colour_at_the_boundaries(what: str, inputs: c.Inputs, at: datetime, rule: c.Rule,
                                  expected: str) -> None:
    verdict = c.colour_at(inputs, rule, at)
    assert verdict.colour == expected, (what, verdict.reason)
    assert verdict.reason


def _rule_for(found: list[c.Rule]):  # type: ignore[no-untyped-def]
    def pick(moment: datetime) -> c.Rule:
        current = found[0]
        for rule in found:
            if day_start(rule.effective_from) <= moment:
                current = rule
        return current
    return pick


def test_a_rule_change_applies_from_its_effective_day_and_is_the_next_change() -> None:
    # Full course on 1 Nov: green from 15 Nov under the default. From 20 Nov
    # the province demands 30 days: yellow again from 20 Nov, green once
    # more from 1 Dec (day 30 after the dose).
    stricter = c.Rule(effective_from=date(2021, 11, 20), full_course_days=30)
    found = [c.DEFAULT_RULE, stricter]
    pick = _rule_for(found)
    before = _noon(date(2021, 11, 19))
    assert c.colour_at(full_course, pick(before), before).colour == c.GREEN
    on_change = day_start(date(2021, 11, 20))
    assert pick(on_change) is stricter
    assert c.colour_at(full_course, pick(on_change), on_change).colour == c.YELLOW
    change = c.next_change(full_course, pick, found, before)
    assert change == c.Change(at=on_change, colour=c.YELLOW)
    # ... and green again from day 30 after the dose.
    back = c.next_change(full_course, pick, found, on_change)
    assert back == c.Change(at=day_start(DOSE_DAY + timedelta(days=30)), colour=c.GREEN)


def test_the_change_note_says_until_when_and_what_comes_next() -> None:
    at = _noon(DOSE_DAY + timedelta(days=3))
    found = [c.DEFAULT_RULE]
    change = c.next_change(full_course, _rule_for(found), found, at)
    assert change == c.Change(at=day_start(DOSE_DAY + timedelta(days=14)), colour=c.GREEN)
    note = c.change_note(c.YELLOW, change)
    assert note == "Thẻ vàng đến 15/11/2021, thẻ xanh từ đó."
    pcr_change = c.next_change(pcr, _rule_for(found), found, SAMPLED)
    assert pcr_change == c.Change(at=SAMPLED + timedelta(hours=72), colour=c.RED)
    assert c.change_note(c.YELLOW, pcr_change) == "Thẻ vàng đến 09:30 13/11/2021, thẻ đỏ từ đó."
