"""The demo's two weeks of Hạ Lang check-ins."""

from __future__ import annotations

from collections.abc import Callable

from truyvet.checkins.models import CheckIn
from truyvet.checkins.synth.generate import SynthPlan, synth_area, synth_generate
from truyvet.venues.models import Venue, VenueStatus

DEMO_PROVINCE = "04"
DEMO_DISTRICT = "048"  # Hạ Lang
DEMO_SEED = 20211125
DEMO_DAYS = 14
DEMO_CHECKINS = 20_000
DEMO_PEOPLE = 3_000  # residents of Hạ Lang in all, the demo accounts included
DEMO_VENUES = 300  # only when no earlier step registered Hạ Lang venues
DEMO_ACTIVE_SHARE = 0.10
DEMO_LAPSED_SHARE = 0.05


def demo_checkins(say: Callable[[str], None]) -> None:
    """Two weeks of check-ins up to now over Hạ Lang's active venues (the
    venues step's, or ``DEMO_VENUES`` generated here when there are none),
    by ``DEMO_PEOPLE`` residents. Seeded, and skipped when Hạ Lang already has
    half as many check-ins, so running the demo again adds nothing."""
    ha_lang = synth_area(province=DEMO_PROVINCE, district=DEMO_DISTRICT)
    in_ha_lang = {"venue__commune__path__startswith": ha_lang.path}
    if CheckIn.objects.filter(**in_ha_lang).count() >= DEMO_CHECKINS // 2:
        return
    has_venues = Venue.objects.filter(
        commune__path__startswith=ha_lang.path, status=VenueStatus.ACTIVE
    ).exists()
    say(f"Generating {DEMO_DAYS} days of check-ins in {ha_lang.name} "
        f"({DEMO_CHECKINS:,} visits by {DEMO_PEOPLE:,} residents)")
    synth_generate(plan=SynthPlan(
        province=DEMO_PROVINCE, district=DEMO_DISTRICT,
        venues=0 if has_venues else DEMO_VENUES, people=DEMO_PEOPLE,
        checkins=DEMO_CHECKINS, days=DEMO_DAYS, seed=DEMO_SEED,
        active_share=DEMO_ACTIVE_SHARE, lapsed_share=DEMO_LAPSED_SHARE,
    ))
