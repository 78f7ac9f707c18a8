"""Local days: the one definition of which day a moment falls on and where a
day begins and ends.

Times are stored in UTC; a "day" in this product (a check-in partition, a
rollup's day, a report's period, a visitor log's date filter, a case's
window) is a date in settings.TIME_ZONE (Asia/Ho_Chi_Minh), midnight to
midnight. Check-in partitions and the report rollups must cut days at the
same instants, so both ask this module.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def local_zone() -> ZoneInfo:
    """settings.TIME_ZONE (ZoneInfo keeps one instance per name)."""
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    """The local date of an aware ``moment``; a naive one is refused rather
    than read in the server's own zone."""
    if timezone.is_naive(moment):
        raise ValueError("times must be timezone-aware to find their local day")
    return moment.astimezone(local_zone()).date()


def day_start(day: date) -> datetime:
    """Local midnight at the start of ``day``, aware."""
    return datetime.combine(day, day_time.min, tzinfo=local_zone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day as an aware half-open interval [start, end)."""
    return day_start(day), day_start(day + timedelta(days=1))


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The local days ``first`` to ``last`` (inclusive) as an aware half-open
    interval [start of first, end of last)."""
    return day_start(first), day_start(last + timedelta(days=1))
