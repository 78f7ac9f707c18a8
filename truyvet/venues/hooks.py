"""What venue pages let the apps above venues add (``truyvet.core.hooks``)."""

from __future__ import annotations

from truyvet.accounts.models import Viewer
from truyvet.core.hooks import hook
from truyvet.venues.models import Venue


@hook
def venue_page_sections(*, viewer: Viewer, venue: Venue, sections: list[str]) -> None:
    """The venue page (``venues:detail``) is being shown to ``viewer``, who
    may see the venue: append the HTML of each card to add to it, in the
    order received. Each receiver decides for itself who sees its card.
    Check-ins add the visits of the last 14 days with a link to the
    visitor log, for those who manage the venue."""
