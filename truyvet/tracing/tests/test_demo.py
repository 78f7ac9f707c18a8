"""The Hạ Lang demo's tracing step: two traced F0 cases whose timelines and
contacts the district officer sees, whose alerts reach the demo citizens'
inboxes, and nothing added twice."""

from __future__ import annotations

from typing import Any

from truyvet.accounts.models import User
from truyvet.core.outbox import inbox_for
from truyvet.site.demo import demo_accounts, demo_cases, demo_venues
from truyvet.tracing import selectors, services
from truyvet.tracing.models import Case, Contact


def test_the_demo_has_two_traced_f0_cases_the_district_officer_can_work(units: Any) -> None:
    said: list[str] = []
    demo_accounts(said.append)
    demo_venues(said.append)

    demo_cases(said.append)

    cases = list(Case.objects.filter(unit__parent=units.ha_lang))
    assert len(cases) == 2 and all(c.classification == "confirmed" for c in cases)
    officer = User.objects.get(phone="+84901000003")
    hoa = User.objects.get(phone="+84901000009")
    duc = User.objects.get(phone="+84901000010")
    for case in cases:
        assert case.traced_at is not None
        assert len(selectors.case_timeline(viewer=officer, case=case)) >= 3
    rows = [r for c in cases for r in selectors.case_contacts_for(viewer=officer, case=c)]
    by_person = {r.contact.person_id: r for r in rows}
    assert not by_person[hoa.person_id].masked
    assert by_person[duc.person_id].masked  # he lives in Quảng Hòa

    for case in cases:
        services.exposure_notify(actor=officer, case=case, publish_sites=True)
    assert inbox_for(hoa).exists() and inbox_for(duc).exists()

    before = (Case.objects.count(), Contact.objects.count())
    demo_cases(said.append)
    assert (Case.objects.count(), Contact.objects.count()) == before
