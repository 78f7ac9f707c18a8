"""JSON endpoints for test results, recoveries and the card colour (issue 16),
mounted at /api/v1/certificates/status/. Same services and selectors as the
pages (``status_views``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from truyvet.certificates import status_selectors as selectors
from truyvet.certificates import status_services as services
from truyvet.core.api_auth import logged_in
from truyvet.core.errors import ServiceError

router = Router(tags=["certificates: colour, tests, recoveries"])


class ColourOut(Schema):
    colour: str = Field(description="green, yellow or red")
    label: str
    reason: str
    change_note: str
    changes_at: datetime | None
    next_colour: str | None


class TestOut(Schema):
    id: int
    kind: str
    result: str
    sampled_at: datetime
    facility: str
    source: str


class RecoveryOut(Schema):
    first_positive_on: date
    recovered_on: date


class MyStatusOut(Schema):
    colour: ColourOut
    tests: list[TestOut]
    recoveries: list[RecoveryOut]


class TestIn(Schema):
    full_name: str = ""
    birth: str = Field("", description="dd/mm/yyyy or yyyy")
    sex: str = ""
    phone: str = ""
    id_number: str = ""
    kind: str = Field("", description="pcr or rapid")
    result: str = Field("", description="negative or positive")
    sampled_at: str = Field("", description="ISO 8601 or dd/mm/yyyy HH:MM (local time)")
    test_name: str = Field("", description="The test's name (DCC nm), optional")
    device_id: str = Field("", description="A rapid test's number in the EU list (DCC ma)")


class ImportError_(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    ok: bool
    rows: int
    saved: int
    errors: list[ImportError_]


class RuleIn(Schema):
    province: str = Field("", description="Province code; blank for the whole country")
    effective_from: str = ""
    full_course_days: int | None = None
    recovery_days: int | None = None
    first_dose_days: int | None = None
    pcr_hours: int | None = None
    rapid_hours: int | None = None
    positive_days: int | None = None
    reason: str = ""


class RuleOut(Schema):
    id: int
    province: str
    province_code: str
    effective_from: date
    full_course_days: int
    recovery_days: int
    first_dose_days: int
    pcr_hours: int
    rapid_hours: int
    positive_days: int
    reason: str
    created_at: datetime


def _caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _test(test: Any) -> dict[str, Any]:
    return {"id": test.pk, "kind": test.kind, "result": test.result,
            "sampled_at": test.sampled_at, "facility": test.facility.name, "source": test.source}


@router.get("/me", response=MyStatusOut, auth=logged_in, url_name="certificates_status_me",
            summary="My card colour, why and until when, my tests and recoveries")
def my_status(request: HttpRequest) -> dict[str, Any]:
    person = _caller(request).person
    status = selectors.person_colour(person)
    return {
        "colour": {"colour": status.colour, "label": status.label, "reason": status.reason,
                   "change_note": status.change_note, "changes_at": status.changes_at,
                   "next_colour": status.next_colour},
        "tests": [_test(t) for t in selectors.person_tests(person)],
        "recoveries": list(selectors.person_recoveries(person)
                           .values("first_positive_on", "recovered_on")),
    }


@router.post("/sites/{code}/tests", response={201: TestOut}, auth=logged_in,
             url_name="certificates_status_test_enter",
             summary="Enter a test result at a testing site (its staff)")
def test_enter(request: HttpRequest, code: str, payload: TestIn) -> Any:
    user = _caller(request)
    site = selectors.testing_site_for(viewer=user, code=code)
    test = services.test_result_enter(actor=user, site=site, data=payload.dict(),
                                      request=request)
    return Status(201, _test(test))


@router.post("/sites/{code}/tests/import", response={200: ImportOut, 400: ImportOut},
             auth=logged_in, url_name="certificates_status_tests_import",
             summary="Import a testing site's list (.xlsx/.csv), all or nothing")
def tests_import(request: HttpRequest, code: str, file: File[UploadedFile]) -> Any:
    """With one bad row nothing is saved (400) and every bad cell is listed."""
    user = _caller(request)
    site = selectors.testing_site_for(viewer=user, code=code)
    report = services.tests_import(actor=user, site=site, upload=file,
                                   filename=file.name or "", request=request)
    body = {"ok": not report.errors, "rows": report.rows, "saved": report.saved,
            "errors": [{"row": r, "column": c, "message": m} for r, c, m in report.errors]}
    return Status(400 if report.errors else 200, body)


@router.get("/rules", response=list[RuleOut], auth=logged_in,
            url_name="certificates_status_rules", summary="The card colour's rules")
def rules_list(request: HttpRequest) -> list[dict[str, Any]]:
    return selectors.colour_rules(_caller(request).person.commune)


@router.post("/rules", response={201: RuleOut}, auth=logged_in,
             url_name="certificates_status_rule_add",
             summary="Add a dated rule for a province (its province officers)")
def rule_add(request: HttpRequest, payload: RuleIn) -> Any:
    user = _caller(request)
    province = selectors.province_for_rule(code=payload.province)
    rule = services.colour_rule_add(actor=user, province=province, data=payload.dict(),
                                    request=request)
    found = [r for r in selectors.colour_rules(None) if r["id"] == rule.pk]
    if not found:
        raise ServiceError("rule not found after saving", code="internal")
    return Status(201, found[0])
