"""Test results, recoveries and colour rules in the Django admin (issue 16):
read-only, as every service-written record; writes go through the pages,
the API and their services, which validate and audit."""

from __future__ import annotations

from django.contrib import admin

from truyvet.certificates.models import ColourRule, Recovery, TestResult
from truyvet.core.admin import ReadOnlyAdmin


@admin.register(TestResult)
class TestResultAdmin(ReadOnlyAdmin):
    __test__ = False
    list_display = ("id", "kind", "result", "sampled_at", "facility", "source")
    list_filter = ("kind", "result", "source")


@admin.register(Recovery)
class RecoveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "first_positive_on", "recovered_on", "case")


@admin.register(ColourRule)
class ColourRuleAdmin(ReadOnlyAdmin):
    list_display = ("province", "effective_from", "full_course_days", "recovery_days",
                    "first_dose_days", "pcr_hours", "rapid_hours", "positive_days", "reason")
