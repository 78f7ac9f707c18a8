"""The Hạ Lang demo's card-colour step: a testing site, results, a recovery
through tracing, Cao Bằng's dated rule; residents have colours; a second
run adds nothing."""

from __future__ import annotations

from typing import Any

from truyvet.accounts.models import User
from truyvet.certificates.models import ColourRule, Recovery, TestResult
from truyvet.certificates.status_selectors import person_colour
from truyvet.site.demo import DEMO_STEPS, demo_accounts, demo_card_colours


def test_the_demo_gives_ha_lang_colours_and_runs_once(units: Any) -> None:
    said: list[str] = []
    demo_accounts(said.append)
    demo_card_colours(said.append)

    hoa = User.objects.get(phone="+84901000009").person
    assert person_colour(hoa).colour == "yellow"  # a negative PCR; no doses in this test
    recovery = Recovery.objects.get()
    assert recovery.case is not None and person_colour(recovery.person).colour == "green"
    assert ColourRule.objects.get().province == units.cao_bang
    assert any("Card colours of the first" in line for line in said)

    before = (TestResult.objects.count(), Recovery.objects.count(), ColourRule.objects.count())
    demo_card_colours(said.append)
    assert (TestResult.objects.count(), Recovery.objects.count(),
            ColourRule.objects.count()) == before
    names = [step.__name__ for step in DEMO_STEPS]
    assert names.index("demo_card_colours") > names.index("demo_vaccination")
