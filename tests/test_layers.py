"""The layers' hooks (truyvet/core/hooks.py): a lower app calls them inside
its own write, and the apps above registered for them in AppConfig.ready.
(Which app may import which is checked by `make lint`: lint-imports.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.accounts import hooks as account_hooks
from truyvet.certificates.issuing.services import certificates_follow_corrected_dose
from truyvet.certificates.status_services import (
    card_status,
    recovery_from_case,
    status_follow_merged_person,
)
from truyvet.checkins import hooks as checkin_hooks
from truyvet.checkins.models import CheckIn
from truyvet.checkins.services import (
    checkin_record,
    checkins_follow_merged_person,
    checkins_offer_guest_visits,
)
from truyvet.checkins.tests.conftest import make_venue
from truyvet.checkins.views import venue_visits_section
from truyvet.core.hooks import hook
from truyvet.declarations.checkpoints import claim_door_scan
from truyvet.declarations.services import declarations_follow_merged_person
from truyvet.reports.models import AreaDay, RollupChange
from truyvet.reports.rollups import rollups_note_added, rollups_note_changed, rollups_reload
from truyvet.tracing import hooks as tracing_hooks
from truyvet.vaccination import hooks as vaccination_hooks
from truyvet.venues import hooks as venue_hooks
from truyvet.venues.models import VenueType
from truyvet.venues.services import venue_staff_claim


def test_each_hook_has_what_the_apps_above_registered() -> None:
    assert account_hooks.account_created.receivers == (venue_staff_claim,)
    # Registration offers the guest visits; only the holder adopts them (issue 12).
    assert account_hooks.account_registered.receivers == (checkins_offer_guest_visits,)
    assert account_hooks.person_merged.receivers == (
        checkins_follow_merged_person, status_follow_merged_person,
        declarations_follow_merged_person)
    # Scans note what they wrote; the worker folds the notes (decision 0022).
    assert checkin_hooks.checkins_added.receivers == (rollups_note_added,)
    assert checkin_hooks.checkins_changed.receivers == (rollups_note_changed,)
    assert checkin_hooks.checkins_reloaded.receivers == (rollups_reload,)
    assert venue_hooks.venue_page_sections.receivers == (venue_visits_section,)
    # A corrected dose revokes its certificates and re-issues them (decisions/0012).
    assert vaccination_hooks.dose_corrected.receivers == (certificates_follow_corrected_dose,)
    # A declaration QR scanned at a checkpoint's door page is a pass (issue 14).
    assert checkin_hooks.door_scan_claim.receivers == (claim_door_scan,)
    assert checkin_hooks.card_status.receivers == (card_status,)
    assert tracing_hooks.case_closed.receivers == (recovery_from_case,)


def test_a_hook_calls_each_receiver_once_in_order_and_lets_its_errors_through() -> None:
    calls: list[tuple[str, int]] = []

    @hook
    def something_happened(*, n: int) -> None:
        """A test hook."""

    def first(*, n: int) -> None:
        calls.append(("first", n))

    def second(*, n: int) -> None:
        calls.append(("second", n))
        raise ValueError("the second receiver failed")

    something_happened.register(first)
    something_happened.register(first)  # ready() may run twice: still once
    something_happened.register(second)
    with pytest.raises(ValueError, match="second receiver"):
        something_happened(n=7)
    assert calls == [("first", 7), ("second", 7)]


@pytest.mark.django_db
def test_a_visit_whose_figures_cannot_be_updated_is_not_stored(
    personas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollups' note is written inside the check-in's transaction: both
    or neither."""
    venue = make_venue(personas, name="Chợ Thanh Nhật", venue_type=VenueType.MARKET)

    def figures_fail(*, rows: Any) -> None:
        raise RuntimeError("the rollups could not be written")

    receivers: list[Any] = [rollups_note_added, figures_fail]
    monkeypatch.setattr(checkin_hooks.checkins_added, "_receivers", receivers)
    with pytest.raises(RuntimeError):
        checkin_record(venue=venue, person=personas.citizen.person,
                       arrived_at=timezone.now() - timedelta(minutes=5), method="manual")
    assert not CheckIn.objects.exists()
    assert not RollupChange.objects.exists()
    assert not AreaDay.objects.exists()
