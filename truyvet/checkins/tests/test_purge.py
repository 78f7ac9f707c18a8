"""Retention: check-ins older than the retention period are deleted by a
daily job on the task queue, and by `truyvet purge-checkins`."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from truyvet.checkins.models import CheckIn, ScanReceipt
from truyvet.checkins.services import checkin_record
from truyvet.checkins.tasks import PURGE_TASK_FUNC, checkins_purge_expired, schedule_purge


def visits_at(venue: Any, person: Any, *ages: timedelta) -> list[CheckIn]:
    """Visits recorded now, then moved back to ``ages`` ago (a scan that old
    would be refused today)."""
    made = []
    now = timezone.now()
    for index, age in enumerate(ages):
        visit = checkin_record(venue=venue, person=person, method="citizen_scan",
                               arrived_at=now - timedelta(hours=index)).checkin
        CheckIn.objects.filter(pk=visit.pk).update(
            arrived_at=now - age, ends_at=now - age + timedelta(hours=1)
        )
        made.append(visit)
    return made


@pytest.mark.django_db
class TestPurge:
    def test_old_rows_go_recent_rows_stay_and_the_count_is_right(
        self, personas: Any, restaurant: Any
    ) -> None:
        old = visits_at(restaurant, personas.citizen.person,
                        timedelta(days=22), timedelta(days=30), timedelta(days=400))
        recent = visits_at(restaurant, personas.other_citizen.person,
                           timedelta(days=20), timedelta(hours=3))
        assert checkins_purge_expired(chunk=2) == 3
        remaining = set(CheckIn.objects.values_list("pk", flat=True))
        assert remaining == {v.pk for v in recent}
        assert not remaining & {v.pk for v in old}
        assert checkins_purge_expired() == 0

    def test_the_retention_period_is_a_setting(
        self, personas: Any, restaurant: Any, settings: Any
    ) -> None:
        settings.CHECKIN_RETENTION_DAYS = 10
        visits_at(restaurant, personas.citizen.person, timedelta(days=11), timedelta(days=9))
        assert checkins_purge_expired() == 1

    def test_receipts_of_purged_visits_go_with_them(
        self, personas: Any, restaurant: Any
    ) -> None:
        now = timezone.now()
        visit = checkin_record(venue=restaurant, person=personas.citizen.person,
                               method="citizen_scan", arrived_at=now).checkin
        checkin_record(venue=restaurant, person=personas.citizen.person, method="citizen_scan",
                       arrived_at=now + timedelta(minutes=1), checkin_id=uuid.uuid4())
        assert ScanReceipt.objects.count() == 1
        CheckIn.objects.filter(pk=visit.pk).update(arrived_at=now - timedelta(days=30),
                                                   ends_at=now - timedelta(days=30))
        assert checkins_purge_expired() == 1
        assert not ScanReceipt.objects.exists()

    def test_the_cutoff_is_exact_to_the_microsecond_and_keeps_no_extra_day(
        self, personas: Any, restaurant: Any, settings: Any
    ) -> None:
        """Runs on every database (on SQLite the row-by-row delete is the
        whole purge): what arrived before now minus the retention period
        goes, what arrived at that moment or later stays."""
        now = timezone.now()
        cutoff = now - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
        ages = {
            "a day and a second before": now - cutoff + timedelta(days=1, seconds=1),
            "23 hours before": now - cutoff + timedelta(hours=23),
            "a microsecond before": now - cutoff + timedelta(microseconds=1),
            "at the cutoff": now - cutoff,
            "a microsecond after": now - cutoff - timedelta(microseconds=1),
            "an hour after": now - cutoff - timedelta(hours=1),
        }
        made = dict(zip(ages, visits_at(restaurant, personas.citizen.person, *ages.values()),
                        strict=True))
        # visits_at counts from its own "now", a moment before the purge's.
        for name, visit in made.items():
            CheckIn.objects.filter(pk=visit.pk).update(arrived_at=now - ages[name])

        assert checkins_purge_expired(now=now) == 3

        left = set(CheckIn.objects.values_list("pk", flat=True))
        assert {name for name, visit in made.items() if visit.pk in left} == {
            "at the cutoff", "a microsecond after", "an hour after"}

    def test_the_command_purges_and_reports(self, personas: Any, restaurant: Any) -> None:
        visits_at(restaurant, personas.citizen.person, timedelta(days=25))
        out = StringIO()
        call_command("purge_checkins", stdout=out)
        assert "Deleted 1 check-ins" in out.getvalue()
        assert not CheckIn.objects.exists()

    def test_the_daily_job_is_scheduled_once(self, db: Any) -> None:
        schedule_purge()
        schedule_purge()
        jobs = Schedule.objects.filter(func=PURGE_TASK_FUNC)
        assert jobs.count() == 1
        job = jobs.get()
        assert job.schedule_type == Schedule.DAILY and job.repeats < 0
        assert job.next_run > timezone.now()

    def test_the_scheduled_job_runs_through_the_task_queue(
        self, personas: Any, restaurant: Any, settings: Any
    ) -> None:
        from django_q.tasks import async_task, result

        settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
        visits_at(restaurant, personas.citizen.person, timedelta(days=25), timedelta(days=1))
        task_id = async_task(PURGE_TASK_FUNC, sync=True)
        assert result(task_id) == 1
        assert CheckIn.objects.count() == 1
