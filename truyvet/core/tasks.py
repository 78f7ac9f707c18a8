"""Background jobs owned by core, run by the django-q2 worker (``truyvet worker``).

``outbox_deliver_due`` runs every minute from the schedule that
``schedule_outbox`` writes after every ``migrate`` (see
``truyvet.tracing.apps``), and once more right after any commit that
enqueued an SMS or e-mail (``truyvet.core.outbox.outbox_kick``).
"""

from __future__ import annotations

from typing import Any

from truyvet.core import outbox

OUTBOX_TASK_NAME = "outbox: deliver due messages"
OUTBOX_TASK_FUNC = "truyvet.core.tasks.outbox_deliver_due"


def outbox_deliver_due() -> dict[str, Any]:
    """Delivers due outbox messages; returns counts for the task log."""
    report = outbox.outbox_deliver_due()
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


def schedule_outbox(*, using: str = "default") -> None:
    """Creates the every-minute delivery schedule once; an operator's later
    changes to it are kept."""
    from django_q.models import Schedule

    schedules = Schedule.objects.using(using)
    if schedules.filter(name=OUTBOX_TASK_NAME).exists():
        return
    schedules.create(
        name=OUTBOX_TASK_NAME, func=OUTBOX_TASK_FUNC, schedule_type=Schedule.MINUTES,
        minutes=1, repeats=-1,
    )
