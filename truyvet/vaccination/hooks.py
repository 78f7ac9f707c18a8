"""What vaccination lets the apps above it do (``truyvet.core.hooks``)."""

from __future__ import annotations

from typing import Any

from truyvet.accounts.models import Person
from truyvet.core.hooks import hook


@hook
def dose_corrected(*, person: Person, dose_id: int | None, actor: Any, reason: str) -> None:
    """A correction request about ``person``'s record was approved and
    carried out, inside its transaction: ``dose_id`` is the dose it was
    about (changed, or deleted as not the person's; None for a dose added
    as missing). Certificates revoke what was issued from the old values
    and re-issue from the new ones."""
