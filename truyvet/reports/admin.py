"""System admins see report files, reminders and recipients. The rollups
(composite keys, millions of rows) are not in the admin: they are rebuilt
with ``truyvet rebuild_rollups``, never edited by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from truyvet.core.admin import ReadOnlyAdmin
from truyvet.reports.models import GeneratedReport, ReportRecipient, VenueReminder


@admin.register(GeneratedReport)
class GeneratedReportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "unit", "since", "until", "file_format", "size")
    list_filter = ("kind", "file_format")
    raw_id_fields = ("unit", "created_by")
    date_hierarchy = "created_at"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(VenueReminder)
class VenueReminderAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("sent_at", "venue", "recipients", "sent_by")
    raw_id_fields = ("venue", "sent_by")
    date_hierarchy = "sent_at"


@admin.register(ReportRecipient)
class ReportRecipientAdmin(admin.ModelAdmin):
    list_display = ("email", "unit", "added_at", "added_by")
    raw_id_fields = ("unit", "added_by")
    search_fields = ("email",)
