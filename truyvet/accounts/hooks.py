"""What account writes let the apps above accounts do (``truyvet.core.hooks``).

accounts sits below venues and check-ins, so it cannot call them. They
register here from their ``AppConfig.ready``; the account services call these
hooks inside their own transaction, so a receiver's failure rolls the
account back with it.
"""

from __future__ import annotations

from truyvet.accounts.models import User
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
    move the visits recorded with the guest form under that phone and name
    to the account (``checkins_adopt_guest``)."""
