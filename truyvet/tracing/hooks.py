"""What tracing's writes tell the apps above tracing (``truyvet.core.hooks``)."""

from __future__ import annotations

from truyvet.core.hooks import hook
from truyvet.tracing.models import Case


@hook
def case_closed(*, case: Case) -> None:
    """``case`` was just closed (``services.case_close``), with its outcome
    and ``closed_at`` set, inside the transaction that closed it.
    Certificates records a recovery when the outcome is "recovered"."""
