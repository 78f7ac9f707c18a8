"""Writes for test results, recoveries and the card colour's rules (issue 16).

Every write validates first and writes in one transaction: a bad field, a
bad row of an imported list, a rule that would rewrite history, and nothing
is saved. Each write is audited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person
from truyvet.certificates import status_permissions as permissions
from truyvet.certificates.models import (
    ColourRule,
    Recovery,
    TestKind,
    TestOutcome,
    TestResult,
    TestSource,
)
from truyvet.checkins.hooks import CardStatus
from truyvet.core.errors import ErrorCollector, NotAllowed, ServiceError
from truyvet.core.services import audit_event
from truyvet.core.text import clean_line
from truyvet.core.time import local_day, local_zone
from truyvet.places.models import AdministrativeUnit
from truyvet.tracing.models import Case, CaseOutcome
from truyvet.vaccination.people import Identity, identity_clean, people_match, person_for_dose
from truyvet.venues.models import Venue

INVALID_INPUT = _("Thông tin chưa hợp lệ, vui lòng kiểm tra lại.")
# A result may be entered up to this long after its sample was taken.
MAX_RESULT_AGE_DAYS = 30


# --- The colour, for the checkins hook -------------------------------------------------------


def card_status(*, people: Sequence[Person], at: datetime,
                found: dict[int, CardStatus]) -> None:
    """Receiver of ``checkins.hooks.card_status``."""
    from truyvet.certificates.status_selectors import person_colours

    for pk, status in person_colours(people, at).items():
        found[pk] = CardStatus(colour=status.colour, label=status.label, reason=status.reason,
                               change_note=status.change_note, valid_until=status.valid_until)


# --- Test results ---------------------------------------------------------------------------


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return None  # a day alone is not a sample time
    else:
        text = " ".join(str(value or "").split())
        moment = None
        for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M",
                        "%Y-%m-%d %H:%M:%S"):
            try:
                moment = datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
        if moment is None:
            moment = parse_datetime(text.replace(" ", "T")) if text else None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=local_zone())
    return moment


_KIND_WORDS: dict[str, str] = {"pcr": TestKind.PCR, "rt-pcr": TestKind.PCR, "rtpcr": TestKind.PCR,
               "rapid": TestKind.RAPID, "test nhanh": TestKind.RAPID,
               "test nhanh khang nguyen": TestKind.RAPID, "khang nguyen": TestKind.RAPID,
               "rapid antigen": TestKind.RAPID, "antigen": TestKind.RAPID}
_RESULT_WORDS: dict[str, str] = {"negative": TestOutcome.NEGATIVE, "am tinh": TestOutcome.NEGATIVE,
                 "am": TestOutcome.NEGATIVE, "-": TestOutcome.NEGATIVE,
                 "positive": TestOutcome.POSITIVE, "duong tinh": TestOutcome.POSITIVE,
                 "duong": TestOutcome.POSITIVE, "+": TestOutcome.POSITIVE}


def _word(value: Any, words: dict[str, str]) -> str | None:
    from truyvet.core.text import fold

    return words.get(" ".join(fold(str(value or "")).split()))


@dataclass
class TestFields:
    __test__ = False
    identity: Identity
    kind: str
    result: str
    sampled_at: datetime
    test_name: str = ""
    device_id: str = ""


_DEVICE_ID = re.compile(r"[0-9]{1,20}")  # the EU list of rapid antigen tests numbers them


def clean_test(data: dict[str, Any], *, now: datetime) -> tuple[TestFields | None,
                                                                list[tuple[str, str]]]:
    """Reads one result as typed (form, API or a row of a list): the person's
    details and the test. Returns the fields, or the (field, message) of
    every problem."""
    problems: list[tuple[str, str]] = []
    identity, findings = identity_clean(
        full_name=data.get("full_name", ""), birth=data.get("birth", ""),
        sex=data.get("sex", ""), phone=data.get("phone", ""),
        id_number=data.get("id_number", ""), today=local_day(now))
    problems += [(f.field, f.text) for f in findings]
    kind = _word(data.get("kind"), _KIND_WORDS)
    if kind is None:
        problems.append(("kind", str(_("Loại xét nghiệm phải là PCR hoặc test nhanh."))))
    result = _word(data.get("result"), _RESULT_WORDS)
    if result is None:
        problems.append(("result", str(_("Kết quả phải là âm tính hoặc dương tính."))))
    sampled_at = _aware(data.get("sampled_at"))
    if sampled_at is None:
        problems.append(("sampled_at", str(_("Thời điểm lấy mẫu phải có ngày và giờ, ví dụ "
                                              "05/12/2021 08:30."))))
    elif sampled_at > now + timedelta(minutes=5):
        problems.append(("sampled_at", str(_("Thời điểm lấy mẫu ở tương lai."))))
    elif sampled_at < now - timedelta(days=MAX_RESULT_AGE_DAYS):
        problems.append(("sampled_at", str(_("Mẫu lấy cách đây hơn %(days)s ngày: không nhận "
                                              "kết quả cũ như vậy.")
                                            % {"days": MAX_RESULT_AGE_DAYS})))
    lines = ErrorCollector()
    test_name = clean_line(data.get("test_name"), lines, "test_name")[:120]
    device_id = clean_line(data.get("device_id"), lines, "device_id")
    problems += [(e.field, str(e.message)) for e in lines.errors]
    if device_id and not _DEVICE_ID.fullmatch(device_id):
        problems.append(("device_id", str(_("Mã thiết bị test nhanh là số trong danh sách của "
                                             "EU, ví dụ 1232."))))
    if device_id and kind == TestKind.PCR:
        problems.append(("device_id", str(_("Mã thiết bị chỉ dành cho test nhanh."))))
    if problems:
        return None, problems
    assert kind and result and sampled_at
    return TestFields(identity=identity, kind=kind, result=result, sampled_at=sampled_at,
                      test_name=test_name, device_id=device_id), []


def _audit_test(actor: Any, site: Venue, test: TestResult, request: HttpRequest | None) -> Any:
    return audit_event(
        actor=actor, action="test.record", request=request, subject_person=test.person,
        purpose=str(_("Nhập kết quả xét nghiệm tại %(site)s") % {"site": site.name}),
        target=f"venue:{site.code}", unit=site.commune,
        detail={"kind": test.kind, "result": test.result, "source": test.source,
                "sampled_at": test.sampled_at.isoformat()})


def test_result_enter(*, actor: Any, site: Venue, data: dict[str, Any],
                      request: HttpRequest | None = None,
                      now: datetime | None = None) -> TestResult:
    """A result entered by the testing site's staff. The person is found by
    document number, else phone, name and birth date, else created without
    a login (as at a vaccination site)."""
    if not permissions.can_enter_test(actor, site):
        raise NotAllowed(_("Bạn không nhập kết quả xét nghiệm tại địa điểm này."))
    now = now or timezone.now()
    fields, problems = clean_test(data, now=now)
    if fields is None:
        errors = ErrorCollector()
        for name, message in problems:
            errors.add(name, message)
        errors.raise_if_any(INVALID_INPUT)
    assert fields is not None
    with transaction.atomic():
        person = person_for_dose(identity=fields.identity)
        if TestResult.objects.filter(person=person, kind=fields.kind, facility=site,
                                     sampled_at=fields.sampled_at).exists():
            raise ServiceError(_("Kết quả của mẫu này đã được nhập."), code="duplicate_test")
        test = TestResult.objects.create(
            person=person, kind=fields.kind, result=fields.result, sampled_at=fields.sampled_at,
            facility=site, source=TestSource.ENTERED, test_name=fields.test_name,
            device_id=fields.device_id,
            entered_by=actor if getattr(actor, "is_authenticated", False) else None)
        _audit_test(actor, site, test, request).save()
    return test


# --- Recoveries -----------------------------------------------------------------------------


def recovery_from_case(*, case: Case) -> None:
    """Receiver of ``tracing.hooks.case_closed``: a case closed as recovered
    gives a recovery, dated from the first positive test (the case's test
    date, or the person's earliest positive result around the case, or the
    day the case was registered)."""
    if case.outcome != CaseOutcome.RECOVERED or Recovery.objects.filter(case=case).exists():
        return
    closed_on = local_day(case.closed_at or timezone.now())
    window = case.window_start - timedelta(days=14)
    candidates = [local_day(moment) for moment in TestResult.objects.filter(
        person_id=case.person_id, result=TestOutcome.POSITIVE, sampled_at__gte=window,
        sampled_at__lte=case.closed_at or timezone.now()).values_list("sampled_at", flat=True)]
    if case.test_date:
        candidates.append(case.test_date)
    first = min(candidates) if candidates else local_day(case.created_at)
    Recovery.objects.create(person_id=case.person_id, case=case,
                            first_positive_on=min(first, closed_on), recovered_on=closed_on)


def status_follow_merged_person(*, source: Person, target: Person) -> None:
    """Receiver of ``accounts.hooks.person_merged``: the account's own
    record was folded into the record it claimed, so its test results and
    recoveries move along (a result the target already has stays behind as
    the duplicate it is)."""
    held = set(TestResult.objects.filter(person=target)
               .values_list("kind", "sampled_at", "facility_id"))
    movable = [pk for pk, kind, sampled_at, facility_id in TestResult.objects.filter(
        person=source).values_list("pk", "kind", "sampled_at", "facility_id")
        if (kind, sampled_at, facility_id) not in held]
    TestResult.objects.filter(pk__in=movable).update(person=target)
    Recovery.objects.filter(person=source).update(person=target)


# --- The colour's rules ---------------------------------------------------------------------

RULE_FIELDS = ("full_course_days", "recovery_days", "first_dose_days", "pcr_hours",
               "rapid_hours", "positive_days")
RULE_LIMITS = {"full_course_days": 365, "recovery_days": 730, "first_dose_days": 365,
               "pcr_hours": 720, "rapid_hours": 720, "positive_days": 365}


def colour_rule_add(*, actor: Any, province: AdministrativeUnit | None, data: dict[str, Any],
                    request: HttpRequest | None = None,
                    today: date | None = None) -> ColourRule:
    """A new rule for ``province`` (the whole country when None) from its
    effective day. The day must not have started (history is not rewritten)
    and must be after the province's latest rule."""
    if not permissions.can_set_colour_rule(actor, province):
        raise NotAllowed(_("Bạn không có quyền đặt quy tắc màu thẻ cho tỉnh này."))
    today = today or local_day(timezone.now())
    errors = ErrorCollector()
    values: dict[str, int] = {}
    for name in RULE_FIELDS:
        raw = data.get(name)
        try:
            number = int(str(raw).strip())
        except (TypeError, ValueError):
            errors.add(name, _("Hãy nhập một số nguyên."), "required")
            continue
        if not 0 <= number <= RULE_LIMITS[name]:
            errors.add(name, _("Giá trị phải từ 0 đến %(max)s.") % {"max": RULE_LIMITS[name]},
                       "out_of_range")
        values[name] = number
    effective = data.get("effective_from")
    if isinstance(effective, str):
        try:
            effective = date.fromisoformat(effective.strip())
        except ValueError:
            effective = None
    if not isinstance(effective, date):
        errors.add("effective_from", _("Hãy nhập ngày áp dụng (YYYY-MM-DD)."), "required")
    elif effective <= today:
        errors.add("effective_from", _("Ngày áp dụng phải sau hôm nay: không sửa quy tắc đã "
                                       "áp dụng."), "in_the_past")
    reason = " ".join(str(data.get("reason") or "").split())[:300]
    if not reason:
        errors.add("reason", _("Hãy ghi lý do (văn bản quy định) của thay đổi."), "required")
    errors.raise_if_any(INVALID_INPUT)
    assert isinstance(effective, date)
    with transaction.atomic():
        latest = (ColourRule.objects.select_for_update().filter(province=province)
                  .order_by("-effective_from").first())
        if latest is not None and latest.effective_from >= effective:
            raise ServiceError(
                _("Đã có quy tắc áp dụng từ %(day)s: quy tắc mới phải áp dụng sau ngày đó.")
                % {"day": latest.effective_from.strftime("%d/%m/%Y")},
                code="rule_not_after_latest")
        rule = ColourRule.objects.create(
            province=province, effective_from=effective, reason=reason,
            created_by=actor if getattr(actor, "is_authenticated", False) else None, **values)
        audit_event(
            actor=actor, action="colour.rule", request=request, unit=province,
            purpose=str(_("Đặt quy tắc màu thẻ từ %(day)s") % {
                "day": effective.strftime("%d/%m/%Y")}),
            target=f"colour_rule:{rule.pk}",
            detail={"effective_from": effective.isoformat(), "reason": reason, **values},
        ).save()
    return rule


# --- Import ---------------------------------------------------------------------------------


# A problem about a person's field is shown in the column it came from.
_FIELD_COLUMN = {"birth_date": "birth"}


def _column(header: Any, name: str) -> str:
    key = _FIELD_COLUMN.get(name, name)
    return str(header.labels.get(key, key))


@dataclass
class ImportReport:
    rows: int = 0
    saved: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)


def tests_import(*, actor: Any, site: Venue, upload: IO[bytes], filename: str,
                 request: HttpRequest | None = None,
                 now: datetime | None = None) -> ImportReport:
    """Imports a testing site's list, all or nothing: see ``testing_results``."""
    from truyvet.certificates import testing_results

    if not permissions.can_import_tests(actor, site):
        raise NotAllowed(_("Bạn không nhập danh sách xét nghiệm tại địa điểm này."))
    now = now or timezone.now()
    rows, header = testing_results.read_rows(upload=upload, filename=filename)
    report = ImportReport(rows=len(rows))
    cleaned: list[tuple[int, TestFields]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, values in rows:
        fields, problems = clean_test(values, now=now)
        for name, message in problems:
            report.errors.append((number, _column(header, name), message))
        if fields is None:
            continue
        key = (fields.identity.id_number or fields.identity.phone, fields.kind,
               fields.sampled_at.isoformat())
        if key in seen:
            report.errors.append((number, _column(header, "sampled_at"), str(
                _("Trùng với dòng %(row)s (cùng người, loại và thời điểm lấy mẫu).")
                % {"row": seen[key]})))
            continue
        seen[key] = number
        cleaned.append((number, fields))
    for (number, _fields), match in zip(cleaned, people_match([f.identity for _n, f in cleaned]),
                                       strict=True):
        if match.finding is not None:
            report.errors.append((number, _column(header, match.finding.field),
                                  match.finding.text))
    if report.errors:
        report.errors.sort()
        return report
    with transaction.atomic():
        events = []
        for _number, fields in cleaned:
            person = person_for_dose(identity=fields.identity)
            test, created = TestResult.objects.get_or_create(
                person=person, kind=fields.kind, facility=site, sampled_at=fields.sampled_at,
                defaults={"result": fields.result, "source": TestSource.IMPORTED,
                          "entered_by": actor, "test_name": fields.test_name,
                          "device_id": fields.device_id})
            if created:
                report.saved += 1
                events.append(_audit_test(actor, site, test, request))
        for event in events:
            event.save()
    return report
