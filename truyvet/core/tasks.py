"""Background jobs owned by core, run by the django-q2 worker (``truyvet worker``).

``outbox_deliver_due`` runs every minute from the schedule that
``schedules_ensure`` writes (idempotent; called after ``migrate``), and once
more right after any commit that enqueued an SMS or e-mail.
"""

from __future__ import annotations

from typing import Any

from truyvet.core import outbox

OUTBOX_SCHEDULE_NAME = "outbox_deliver_due"


def outbox_deliver_due() -> dict[str, Any]:
    """Delivers due outbox messages; returns counts for the task log."""
    report = outbox.outbox_deliver_due()
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


def schedules_ensure() -> None:
    """Creates or updates core's schedules in django-q2's table."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=OUTBOX_SCHEDULE_NAME,
        defaults={
            "func": "truyvet.core.tasks.outbox_deliver_due",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
