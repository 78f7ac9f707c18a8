"""Tracing records in the Django admin, for operators: read-only, because
every change to a case must go through the services (validation, audit,
alerts); the pages and the API are where officials work."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from truyvet.tracing.models import Case, ContactTask, ExposureSite, TraceRun


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnly):
    list_display = ("id", "classification", "status", "unit", "window_start", "window_end",
                    "traced_at", "created_at")
    list_filter = ("classification", "status")
    list_select_related = ("unit",)
    exclude = ("person",)  # identities stay in the audited pages


@admin.register(TraceRun)
class TraceRunAdmin(ReadOnly):
    list_display = ("id", "case_id", "degree", "run_at", "visit_count", "contact_count",
                    "truncated", "duration_ms")
    list_filter = ("degree", "truncated")


@admin.register(ContactTask)
class ContactTaskAdmin(ReadOnly):
    list_display = ("id", "unit", "status", "created_at", "updated_at")
    list_filter = ("status",)
    list_select_related = ("unit",)
    exclude = ("contact",)


@admin.register(ExposureSite)
class ExposureSiteAdmin(ReadOnly):
    list_display = ("id", "venue", "starts_at", "ends_at", "published_at", "withdrawn_at")
    list_select_related = ("venue",)
    exclude = ("case",)
