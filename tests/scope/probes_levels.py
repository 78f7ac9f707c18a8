"""Scope probes for epidemic levels (issue 14 items 4 and 5).

The data: the Quảng Hòa commune where Lương Văn Đức lives is at level 4
today, so its residents list exists. Who may do what: the district and
province officers over a commune set its level (Quảng Hòa's officer, the
province officer, the admin); province officers edit the province's
thresholds; the commune's and district's officers see the residents of a
level-4 commune (here Quảng Hòa's officer and the admin: the brief names
commune and district officials, so the province officer is refused). The
levels themselves, their history and the thresholds are public.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from truyvet.declarations.level_thresholds import LevelThreshold
from truyvet.places.levels import commune_levels_set
from truyvet.places.models import CommuneLevel

from .framework import Probe, Req, World, secret_person_strings

API = "/api/v1/levels"
PAGE = "/levels"
SETTERS = frozenset({"admin", "province_officer", "neighbour_officer"})
PROVINCE = frozenset({"admin", "province_officer"})
RESIDENT_VIEWERS = frozenset({"admin", "neighbour_officer"})


def _commune(w: World) -> Any:
    return w.personas.units.quang_hoa_commune


def _world(w: World) -> None:
    commune_levels_set(actor=None, unit=_commune(w), level=4,
                       effective_from=timezone.localdate() - timedelta(days=1),
                       reason="Ổ dịch")
    w.extra["row"] = LevelThreshold.objects.create(
        province=w.personas.units.cao_bang, min_cases=20, max_cases=50, level=2)


def _levels(w: World) -> int:
    return CommuneLevel.objects.count()


def _thresholds(w: World) -> int:
    return LevelThreshold.objects.count()


def _nothing(w: World) -> list[str]:
    return []


def _new_level(w: World) -> dict[str, Any]:
    return {"level": 3, "effective_from": timezone.localdate().isoformat(),
            "reason": "Chùm ca mới"}


def _new_row() -> dict[str, Any]:
    return {"level": 3, "min_cases": 50, "max_cases": 150, "source": "QĐ tỉnh"}


PROBES = [
    Probe("POST /api/v1/levels/",
          lambda w: Req("POST", f"{API}/", {"unit": _commune(w).code, **_new_level(w)},
                        api=True),
          SETTERS, _nothing, setup=_world, state=_levels, ok_statuses=frozenset({201})),
    Probe("page levels:set",
          lambda w: Req("POST", f"{PAGE}/manage/set/", {"unit": _commune(w).pk,
                                                        **_new_level(w)}),
          SETTERS, _nothing, setup=_world, state=_levels, ok_statuses=frozenset({302})),
    Probe("GET /api/v1/levels/suggest",
          lambda w: Req("GET", f"{API}/suggest?commune={_commune(w).code}&coverage=80",
                        api=True),
          SETTERS, lambda w: ['"coverage_source": "entered"'], setup=_world),
    Probe("page levels:suggest",
          lambda w: Req("GET", f"{PAGE}/manage/suggest/?commune={_commune(w).pk}"),
          SETTERS, lambda w: ["Ca F0 là cư dân trong 7 ngày"], setup=_world),
    Probe("POST /api/v1/levels/thresholds",
          lambda w: Req("POST", f"{API}/thresholds",
                        {"province": w.personas.units.cao_bang.code, **_new_row()}, api=True),
          PROVINCE, _nothing, setup=_world, state=_thresholds, ok_statuses=frozenset({201})),
    Probe("page levels:thresholds",
          lambda w: Req("POST", f"{PAGE}/manage/thresholds/",
                        {"province": w.personas.units.cao_bang.code, **_new_row()}),
          PROVINCE, _nothing, setup=_world, state=_thresholds, ok_statuses=frozenset({302})),
    Probe("DELETE /api/v1/levels/thresholds/{threshold_id}",
          lambda w: Req("DELETE", f"{API}/thresholds/{w.extra['row'].pk}", api=True),
          PROVINCE, _nothing, setup=_world, state=_thresholds, ok_statuses=frozenset({204})),
    Probe("page levels:threshold_delete",
          lambda w: Req("POST", f"{PAGE}/manage/thresholds/{w.extra['row'].pk}/delete/",
                        {"province": w.personas.units.cao_bang.code}),
          PROVINCE, _nothing, setup=_world, state=_thresholds, ok_statuses=frozenset({302})),
    Probe("GET /api/v1/levels/residents/{code}",
          lambda w: Req("GET", f"{API}/residents/{_commune(w).code}", api=True),
          RESIDENT_VIEWERS, secret_person_strings, setup=_world),
    Probe("GET /api/v1/levels/residents/{code}/export",
          lambda w: Req("GET", f"{API}/residents/{_commune(w).code}/export", api=True),
          RESIDENT_VIEWERS, _nothing, setup=_world),
    Probe("page levels:residents", lambda w: Req("GET", f"{PAGE}/residents/"),
          RESIDENT_VIEWERS, lambda w: [_commune(w).full_name], setup=_world),
    Probe("page levels:residents_commune",
          lambda w: Req("GET", f"{PAGE}/residents/{_commune(w).code}/"),
          RESIDENT_VIEWERS, secret_person_strings, setup=_world),
    Probe("page levels:residents_export",
          lambda w: Req("GET", f"{PAGE}/residents/{_commune(w).code}/export.xlsx"),
          RESIDENT_VIEWERS, _nothing, setup=_world),
]

PUBLIC = {
    "GET /api/v1/levels/": "epidemic levels are published for everyone (Resolution 128)",
    "GET /api/v1/levels/communes/{code}/history": "a commune's published levels and reasons",
    "GET /api/v1/levels/thresholds": "the criteria a level is computed from are published",
    "page levels:overview": "the public levels page: places and levels, nobody's data",
    "page levels:unit": "the public levels page of one area",
}
