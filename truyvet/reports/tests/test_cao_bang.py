"""Cao Bằng seeded with ``truyvet synth`` (a small share of its 5,677
venues here; the full size is measured by bench/reports_bench.py): the
province dashboard's 7-day active count equals a direct SQL recount."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from truyvet.checkins.models import CheckIn
from truyvet.checkins.synth import SynthPlan, synth_generate
from truyvet.core.time import day_bounds
from truyvet.places.models import AdministrativeUnit
from truyvet.reports.rollups import rollups_rebuild
from truyvet.reports.selectors import Scope, dashboard_for, period_clean
from truyvet.venues.models import Venue


def _sql_count(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def test_the_province_7_day_active_count_matches_a_direct_sql_recount(personas: Any) -> None:
    now = timezone.now()
    result = synth_generate(plan=SynthPlan(province="04", venues=400, people=1500,
                                           checkins=4000, days=14, until=now, seed=5677))
    rollups_rebuild(since=result.since, until=result.until + timedelta(seconds=1))
    province = AdministrativeUnit.objects.get(scheme="2021", code="04", level=1)
    since, until = period_clean(since=None, until=None)
    board = dashboard_for(viewer=personas.province_officer, scope=Scope(unit=province),
                          since=since, until=until, now=now)

    venue, unit, checkin = (connection.ops.quote_name(m._meta.db_table)
                            for m in (Venue, AdministrativeUnit, CheckIn))
    in_province = (f"FROM {venue} v JOIN {unit} u ON u.id = v.commune_id "  # noqa: S608 - names from the models, values bound
                   "WHERE u.path LIKE %s AND v.status <> 'closed'")
    active_sql = (f"SELECT COUNT(*) {in_province} AND EXISTS (SELECT 1 FROM {checkin} c "  # noqa: S608 - names from the models, values bound
                  "WHERE c.venue_id = v.id AND c.arrived_at > %s)")
    seven_days_ago = connection.ops.adapt_datetimefield_value(now - timedelta(days=7))
    one_day_ago = connection.ops.adapt_datetimefield_value(now - timedelta(days=1))

    assert board.totals.registered == _sql_count(f"SELECT COUNT(*) {in_province}",
                                                 [province.path + "%"]) == 400
    active_7d = _sql_count(active_sql, [province.path + "%", seven_days_ago])
    assert board.totals.active_7d == active_7d == result.active_venues == round(0.074 * 400)
    assert board.totals.active_1d == _sql_count(active_sql, [province.path + "%", one_day_ago])
    assert board.totals.scans == CheckIn.objects.filter(
        arrived_at__gte=day_bounds(since)[0]).count()
