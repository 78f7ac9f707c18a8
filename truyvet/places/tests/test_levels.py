"""Epidemic levels per commune: a dated history read back as it was on any
day, and every bad input refused with nothing half-saved."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from truyvet.core.errors import NotFound, ServiceError
from truyvet.core.models import AuditEvent
from truyvet.places.levels import (
    commune_for_level,
    commune_level_at,
    commune_levels_at,
    commune_levels_on,
    commune_levels_set,
    level_badge,
    levels_exist,
    with_levels,
)
from truyvet.places.models import AdministrativeUnit, CommuneLevel, Level

pytestmark = pytest.mark.django_db
TODAY = date(2021, 11, 15)


def put(units: Any, unit: Any, level: Any, day: Any, reason: str = "", actor: Any = None) -> Any:
    return commune_levels_set(actor=actor, unit=unit, level=level, effective_from=day,
                              reason=reason, today=TODAY)


def test_the_level_on_a_day_is_the_latest_entry_effective_by_then(units: Any) -> None:
    assert not levels_exist() and commune_level_at(units.thanh_nhat, TODAY) is None
    put(units, units.ha_lang, 1, date(2021, 10, 20), "Quyết định của tỉnh")
    put(units, units.thanh_nhat, 2, date(2021, 11, 1), "Ca cộng đồng")
    put(units, units.thanh_nhat, 1, date(2021, 11, 8))
    def level(day: date) -> int | None:
        entry = commune_level_at(units.thanh_nhat, day)
        return entry.level if entry else None
    assert [level(date(2021, 10, 19)), level(date(2021, 10, 20)), level(date(2021, 10, 31)),
            level(date(2021, 11, 1)), level(date(2021, 11, 7)), level(date(2021, 11, 8))] == [
        None, 1, 1, 2, 2, 1]
    # A datetime is read on its local day: 23:30 UTC on 31 Oct is 1 Nov in Vietnam.
    late = datetime(2021, 10, 31, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert commune_level_at(units.thanh_nhat.pk, late).level == 2  # type: ignore[union-attr]
    many = commune_levels_at([units.thanh_nhat, units.an_lac], date(2021, 11, 2))
    assert {k: v.level for k, v in many.items()} == {units.thanh_nhat.pk: 2, units.an_lac.pk: 1}
    on = commune_levels_on([(units.thanh_nhat.pk, date(2021, 11, 2)),
                            (units.thanh_nhat.pk, date(2021, 11, 9)),
                            (units.an_lac.pk, date(2021, 10, 1))])
    assert {k: v.level for k, v in on.items()} == {
        (units.thanh_nhat.pk, date(2021, 11, 2)): 2, (units.thanh_nhat.pk, date(2021, 11, 9)): 1}
    annotated = with_levels(AdministrativeUnit.objects.filter(pk=units.thanh_nhat.pk),
                            date(2021, 11, 3)).get()
    assert (annotated.epidemic_level, annotated.level_since) == (2, date(2021, 11, 1))  # type: ignore[attr-defined]


def test_a_district_sets_every_commune_in_one_go_and_each_is_audited(personas: Any) -> None:
    units = personas.units
    changes = put(units, units.ha_lang, "1", date(2021, 10, 20), "Quyết định 1/QĐ-UBND",
                  actor=personas.district_officer)
    communes = AdministrativeUnit.objects.filter(path__startswith=units.ha_lang.path,
                                                 level=Level.COMMUNE).count()
    assert len(changes) == communes == CommuneLevel.objects.count() > 1
    events = AuditEvent.objects.filter(target__startswith="commune_level:")
    assert events.count() == communes
    assert {e.actor_id for e in events} == {personas.district_officer.pk}


@pytest.mark.parametrize(("level", "day", "reason", "code"), [
    (0, date(2021, 11, 1), "", "level_out_of_range"),
    (5, date(2021, 11, 1), "", "level_out_of_range"),
    ("đỏ", date(2021, 11, 1), "", "level_out_of_range"),
    (2, date(2021, 10, 25), "", "backdated_without_reason"),
    (2, "", "", "required"),
    (2, "2021-13-01", "", "invalid_date"),
    (2, date(2201, 11, 1), "", "date_out_of_range"),
    (2, date(1021, 11, 1), "", "date_out_of_range"),
])
def test_bad_inputs_are_refused_and_nothing_is_saved(
    units: Any, level: Any, day: Any, reason: str, code: str
) -> None:
    put(units, units.thanh_nhat, 1, date(2021, 10, 30), "Quyết định của tỉnh")
    with pytest.raises(ServiceError) as refused:
        put(units, units.ha_lang, level, day, reason)
    assert code in {e.code for e in refused.value.errors}
    assert CommuneLevel.objects.count() == 1


def test_an_earlier_effective_date_is_accepted_with_a_reason(units: Any) -> None:
    put(units, units.thanh_nhat, 1, date(2021, 10, 30))
    put(units, units.thanh_nhat, 2, date(2021, 10, 25), "Đính chính: ca bệnh từ 25/10")
    assert commune_level_at(units.thanh_nhat, date(2021, 10, 27)).level == 2  # type: ignore[union-attr]
    assert commune_level_at(units.thanh_nhat, date(2021, 10, 30)).level == 1  # type: ignore[union-attr]


def test_an_unknown_commune_or_a_province_is_not_a_place_to_set_a_level(units: Any) -> None:
    with pytest.raises(NotFound):
        commune_for_level(987654321)
    with pytest.raises(NotFound):
        commune_for_level(units.cao_bang.pk)
    assert commune_for_level(units.ha_lang.pk) == units.ha_lang


def test_a_badge_says_the_level_in_words_and_names_its_colour() -> None:
    badge = level_badge(4)
    assert (badge.colour, badge.colour_name, badge.label) == ("red", "Đỏ",
                                                              "Cấp 4 – Nguy cơ rất cao")
    assert "Cấp 4" in badge.text and "Đỏ" in badge.text


def test_the_scans_memory_of_levels_sees_this_process_at_once_and_others_within_the_bound(
    units: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decision 0015: a checkpoint scan reads both ends' levels from memory.
    A level set through this process is seen by the next scan; an entry
    written by another process (here bulk_create, which sends no signal,
    stands in for it) is seen once ``LEVELS_CACHE_SECONDS`` have passed."""
    from truyvet.core import memory
    from truyvet.places import levels

    put(units, units.thanh_nhat, 2, date(2021, 11, 1), "Ca cộng đồng")

    def cached(day: date) -> dict[int, int]:
        found = commune_levels_at([units.thanh_nhat, units.an_lac], day, cached=True)
        return {k: v.level for k, v in found.items()}

    assert cached(TODAY) == {units.thanh_nhat.pk: 2}
    put(units, units.thanh_nhat, 3, TODAY, "Ổ dịch mới")
    assert cached(TODAY) == {units.thanh_nhat.pk: 3}  # this process: at once
    assert cached(date(2021, 11, 14)) == {units.thanh_nhat.pk: 2}  # the history, by day
    CommuneLevel.objects.bulk_create([CommuneLevel(
        commune=units.an_lac, level=4, effective_from=TODAY, reason="khác")])
    assert cached(TODAY) == {units.thanh_nhat.pk: 3}  # another process: not yet
    clock = memory.time.monotonic() + levels.LEVELS_CACHE_SECONDS + 0.1
    monkeypatch.setattr(memory.time, "monotonic", lambda: clock)
    assert cached(TODAY) == {units.thanh_nhat.pk: 3, units.an_lac.pk: 4}
    # The memory answers as the database does.
    assert cached(TODAY) == {k: v.level for k, v in commune_levels_at(
        [units.thanh_nhat, units.an_lac], TODAY).items()}
