"""Tracing records in the Django admin, for operators: read-only, because
every change to a case must go through the services (validation, audit,
alerts); the pages and the API are where officials work."""

from __future__ import annotations

from django.contrib import admin

from truyvet.core.admin import ReadOnlyAdmin
from truyvet.tracing.models import Case, ContactTask, ExposureSite, TraceRun


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "classification", "status", "unit", "window_start", "window_end",
                    "traced_at", "created_at")
    list_filter = ("classification", "status")
    list_select_related = ("unit",)
    exclude = ("person",)  # identities stay in the audited pages


@admin.register(TraceRun)
class TraceRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "case_id", "degree", "run_at", "visit_count", "contact_count",
                    "truncated", "duration_ms")
    list_filter = ("degree", "truncated")


@admin.register(ContactTask)
class ContactTaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "unit", "status", "created_at", "updated_at")
    list_filter = ("status",)
    list_select_related = ("unit",)
    exclude = ("contact",)


@admin.register(ExposureSite)
class ExposureSiteAdmin(ReadOnlyAdmin):
    list_display = ("id", "venue", "starts_at", "ends_at", "published_at", "withdrawn_at")
    list_select_related = ("venue",)
    exclude = ("case",)
