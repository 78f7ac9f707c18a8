"""Scope probes for test results, recoveries and the card colour (issue 16).

The data: a testing site in Thị trấn Thanh Nhật (Hạ Lang) run by the venue
owner, with the controller on its staff. Lương Văn Đức (Quảng Hòa) had a
negative PCR there. Its results name the people tested: the site's staff
and Hạ Lang's health worker see them; the site's owner and the health
worker import lists. A province's colour rules are set by its province
officers (and the system admin); nobody else changes them.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from django.utils import timezone

from truyvet.certificates.models import ColourRule, TestResult

from .framework import ROLES, Probe, Req, World

SITE_STAFF = frozenset({"venue_owner", "controller", "health_worker"})
SITE_MANAGERS = frozenset({"venue_owner", "health_worker"})
RULE_SETTERS = frozenset({"admin", "province_officer"})
# The rules name no one: every signed-in persona reads them.
LOGGED_IN = frozenset(ROLES) - {"anonymous"}
RULE_REASON = "Công văn 77/UBND-VX"


def _sampled(hours_ago: float) -> str:
    return timezone.localtime(timezone.now() - timedelta(hours=hours_ago)).strftime(
        "%d/%m/%Y %H:%M")


def _entry(hours_ago: float = 1) -> dict[str, Any]:
    return {"full_name": "Lương Văn Đức", "birth": "03/02/1985", "id_number": "004085654321",
            "kind": "pcr", "result": "negative", "sampled_at": _sampled(hours_ago)}


def _world(world: World) -> None:
    from truyvet.certificates import status_services, status_views
    from truyvet.certificates.tests.status_fixtures import make_testing_site

    personas = world.personas
    site = make_testing_site(personas)
    status_services.test_result_enter(actor=personas.venue_owner, site=site, data=_entry(5))
    for name in SITE_MANAGERS:
        status_views.remember_import_errors(site, getattr(personas, name),
                                            [[3, "Kết quả", "Kết quả phải là âm tính"]])
    world.extra["site"] = site


def _a_rule(world: World) -> None:
    ColourRule.objects.create(province=world.personas.units.cao_bang,
                              effective_from=timezone.localdate(), full_course_days=14,
                              recovery_days=180, first_dose_days=14, pcr_hours=72,
                              rapid_hours=0, positive_days=14, reason=RULE_REASON)


def _site(world: World) -> Any:
    return world.extra["site"]


def _masked(world: World) -> list[str]:
    return [world.secret_person.masked_name]


def _nothing(world: World) -> list[str]:
    return []


def _tests(world: World) -> int:
    return TestResult.objects.count()


def _rules(world: World) -> int:
    return ColourRule.objects.count()


def _list() -> io.BytesIO:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Họ và tên", "Ngày sinh", "Số CMND/CCCD", "Loại xét nghiệm", "Kết quả",
                  "Thời điểm lấy mẫu"])
    sheet.append(["Lương Văn Đức", "03/02/1985", "004085654321", "Test nhanh", "Âm tính",
                  _sampled(2)])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "xet-nghiem.xlsx"
    return buffer


def _rule(world: World) -> dict[str, Any]:
    return {"province": world.personas.units.cao_bang.code,
            "effective_from": (timezone.localdate() + timedelta(days=2)).isoformat(),
            "full_course_days": 14, "recovery_days": 180, "first_dose_days": 14,
            "pcr_hours": 48, "rapid_hours": 0, "positive_days": 14, "reason": "CV 1/UBND"}


PROBES: list[Probe] = [
    Probe(
        endpoint="page certificates:status_site_tests",
        request=lambda w: Req("GET", f"/certificates/status/tests/{_site(w).code}/"),
        allowed=SITE_STAFF, secrets=_masked, setup=_world,
    ),
    Probe(
        endpoint="page certificates:status_site_tests", label="enter",
        request=lambda w: Req("POST", f"/certificates/status/tests/{_site(w).code}/",
                              _entry(1)),
        allowed=SITE_STAFF, secrets=_nothing, setup=_world, state=_tests,
        ok_statuses=frozenset({302}),
    ),
    Probe(
        endpoint="page certificates:status_site_tests_import",
        request=lambda w: Req("POST", f"/certificates/status/tests/{_site(w).code}/import/",
                              {"file": _list()}),
        allowed=SITE_MANAGERS, secrets=_nothing, setup=_world, state=_tests,
        ok_statuses=frozenset({302}),
    ),
    Probe(
        endpoint="page certificates:status_site_tests_report",
        request=lambda w: Req(
            "GET", f"/certificates/status/tests/{_site(w).code}/import/errors.xlsx"),
        allowed=SITE_MANAGERS, secrets=_nothing, setup=_world,
    ),
    Probe(
        endpoint="page certificates:status_rules",
        request=lambda w: Req("GET", "/certificates/status/rules/"),
        allowed=LOGGED_IN, secrets=lambda w: [RULE_REASON], setup=_a_rule,
    ),
    Probe(
        endpoint="page certificates:status_rules", label="add",
        request=lambda w: Req("POST", "/certificates/status/rules/", _rule(w)),
        allowed=RULE_SETTERS, secrets=_nothing, state=_rules, ok_statuses=frozenset({302}),
    ),
    Probe(
        endpoint="POST /api/v1/certificates/status/sites/{code}/tests",
        request=lambda w: Req("POST", f"/api/v1/certificates/status/sites/{_site(w).code}/tests",
                              _entry(1), api=True),
        allowed=SITE_STAFF, secrets=_nothing, setup=_world, state=_tests,
        ok_statuses=frozenset({201}),
    ),
    Probe(
        endpoint="POST /api/v1/certificates/status/sites/{code}/tests/import",
        request=lambda w: Req(
            "POST", f"/api/v1/certificates/status/sites/{_site(w).code}/tests/import",
            {"file": _list()}, api=True, json=False),
        allowed=SITE_MANAGERS, secrets=_nothing, setup=_world, state=_tests,
    ),
    Probe(
        endpoint="POST /api/v1/certificates/status/rules",
        request=lambda w: Req("POST", "/api/v1/certificates/status/rules", _rule(w), api=True),
        allowed=RULE_SETTERS, secrets=_nothing, state=_rules, ok_statuses=frozenset({201}),
    ),
]

PUBLIC = {
    "page certificates:status_tests_template": "an empty template with a made-up example row",
    "GET /api/v1/certificates/status/me": "the caller's own colour, tests and recoveries only",
    "GET /api/v1/certificates/status/rules": "the colour rules name no one",
}
