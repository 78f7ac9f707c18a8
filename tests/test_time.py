"""Local days (truyvet.core.time): the day a moment falls on and where a day
begins and ends are those of Vietnam (UTC+7, no daylight saving), whatever
the server's own zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from truyvet.core.time import day_bounds, day_start, local_day, period_bounds


def test_a_moment_after_five_pm_utc_falls_on_the_next_local_day() -> None:
    assert local_day(datetime(2021, 9, 30, 16, 59, tzinfo=UTC)) == date(2021, 9, 30)
    assert local_day(datetime(2021, 9, 30, 17, 0, tzinfo=UTC)) == date(2021, 10, 1)


def test_a_naive_moment_is_refused_rather_than_read_in_the_servers_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(datetime(2021, 9, 30, 12, 0))  # noqa: DTZ001 - the point of the test


def test_a_local_day_runs_from_vietnam_midnight_to_the_next() -> None:
    start, end = day_bounds(date(2021, 10, 1))

    assert start == datetime(2021, 9, 30, 17, 0, tzinfo=UTC) == day_start(date(2021, 10, 1))
    assert end - start == timedelta(days=1)
    assert local_day(start) == date(2021, 10, 1)
    assert local_day(end - timedelta(microseconds=1)) == date(2021, 10, 1)
    assert local_day(end) == date(2021, 10, 2)


def test_a_period_covers_its_first_and_last_days_whole() -> None:
    start, end = period_bounds(date(2021, 10, 1), date(2021, 10, 7))

    assert start == day_bounds(date(2021, 10, 1))[0]
    assert end == day_bounds(date(2021, 10, 7))[1]
