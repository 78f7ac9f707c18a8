"""What check-in writes tell the apps above checkins (``truyvet.core.hooks``).

The invariant: **whoever writes check-in rows keeps the figures derived
from them right.** The reports' daily rollups (``truyvet.reports.rollups``)
count visits so that dashboards never read the check-in table, and checkins
cannot import reports. So every code path in checkins that inserts, moves or
bulk-loads check-in rows calls one of these hooks, synchronously and inside
the transaction that wrote the rows, and reports registers its receivers
from ``ReportsConfig.ready``. They note the write in the same transaction
(one insert: a visit and its note commit or roll back together), and the
worker folds the notes into the rollups every few seconds, each exactly
once (``rollups.rollups_fold``, decision 0022); a bulk load is folded at
once. The retention purge calls none of them (purged days are history; see
``rollups.py``).

Rows are ``(venue id, person id, arrival time)``, as the table has them.
Tests that drive each writing path and compare the rollups with a recount:
``truyvet/reports/tests/test_rollups_follow_the_services.py`` and
``test_rollups_agree.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest

from truyvet.accounts.models import Person, User
from truyvet.core.hooks import hook
from truyvet.venues.models import Venue

Row = tuple[int, int, datetime]


@hook
def checkins_added(*, rows: Sequence[Row]) -> None:
    """Check-in rows were just inserted: a scan (``checkin_record`` and the
    services built on it) or a run of an offline batch. Called once per
    transaction, after that transaction's inserts."""


@hook
def checkins_changed(*, rows: Sequence[Row]) -> None:
    """Rows whose venue, person or arrival changed, or that were deleted
    (other than by the retention purge), with both the old and the new
    values, after the change: a late-synced earlier scan merged into a visit
    moves its arrival back (``checkin_record`` and offline batches), and an
    account adopts the visits of its holder's guest records."""


@hook
def checkins_reloaded(*, since: datetime, until: datetime) -> None:
    """The check-ins of [since, until) were loaded in bulk, bypassing the
    services (``truyvet synth``): derive again from the table."""


@dataclass(frozen=True)
class ClaimedScan:
    """What an app above checkins recorded for a code it recognised at a
    door, in the door screen's terms (``services.door.ScanDisplay``).
    ``record_id`` is the client's scan id (or a new one): the app records
    the scan once under it, so an offline batch sent twice writes nothing new
    and answers ``duplicate``."""

    record_id: uuid.UUID
    at: datetime
    kind: str  # what was recorded, e.g. "checkpoint_pass"
    outcome: str  # "created"
    outcome_label: str
    duplicate: bool
    name: str  # masked
    birth_year: int | None
    card_colour: str | None
    method: str
    method_label: str
    lines: tuple[str, ...] = ()  # further lines for the door screen


@hook
def door_scan_claim(
    *, controller: User, venue: Venue, payload: str, scanned_at: datetime | None,
    scan_id: uuid.UUID | None, request: HttpRequest | None, claims: list[ClaimedScan],
) -> None:
    """A controller at ``venue`` scanned ``payload`` (the door page, the
    staff-scan API and offline batches call this before reading it as a
    personal, CCCD or national QR). A receiver that recognises the code as
    its own records it, checks who may (raising ``ServiceError`` to refuse)
    and appends what the door screen shows; one that does not leaves
    ``claims`` alone. Declarations claim declaration QRs at checkpoints."""


# --- What the personal QR page and the door show of a person's status ---------------


@dataclass(frozen=True)
class CardStatus:
    """A person's COVID card colour as an app above checkins computed it."""

    colour: str  # "green" | "yellow" | "red"
    label: str  # in the reader's language: "Thẻ vàng"
    reason: str  # why: "Đã tiêm mũi 1 ngày 01/11/2021 và đã qua 14 ngày."
    change_note: str  # "Thẻ vàng đến 12/12/2021, thẻ xanh từ đó." or ""
    valid_until: datetime  # a signed claim of this colour expires then (≤ 24 h ahead)


@hook
def card_status(*, people: Sequence[Person], at: datetime,
                found: dict[int, CardStatus]) -> None:
    """The personal QR page, its signed colour claim and the door screen
    (one scan, or a whole offline batch at once) need the card colour of
    ``people`` at ``at``: set ``found[person.pk]`` for each, with a fixed
    number of queries whatever their number. A person left out shows "no
    vaccination data". Certificates answers from doses, tests and
    recoveries."""
