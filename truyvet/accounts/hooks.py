"""What account writes let the apps above accounts do (``truyvet.core.hooks``).

accounts sits below venues and check-ins, so it cannot call them. They
register here from their ``AppConfig.ready``; the account services call these
hooks inside their own transaction, so a receiver's failure rolls the
account back with it.
"""

from __future__ import annotations

from truyvet.accounts.models import Person, User
from truyvet.core.hooks import hook


@hook
def account_created(*, user: User) -> None:
    """An account now exists for ``user.phone``, proved by an OTP
    (``account_register``) or vouched for by the operator (``account_create``:
    ``truyvet createadmin``, the demo). Every service that creates an account
    calls it. Venues link the staff invitations waiting for that number
    (``venue_staff_claim``)."""


@hook
def account_registered(*, user: User) -> None:
    """The holder of ``user.phone`` registered, proving the number with an
    OTP; called by ``account_register`` after ``account_created``. Check-ins
    offer the holder the visits recorded with the guest form under that
    phone and name (``checkins_offer_guest_visits``); nothing moves until
    the holder adopts them (``checkins_adopt_guest``), since anyone can type
    a name and a phone."""


@hook
def person_merged(*, source: Person, target: Person) -> None:
    """``source``'s record was folded into ``target``, which now stands for
    the same human being: an account claimed an existing record
    (``identity_claim_confirm`` and the claim by a code sent to the record's
    phone). Called inside that transaction. Apps that keep rows per person
    move ``source``'s rows to ``target``: check-ins move the visits
    (``checkins_follow_merged_person``)."""
