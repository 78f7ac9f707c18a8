"""System admins see check-ins read-only: visits are recorded by scans and
removed by the retention purge, never edited by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from truyvet.checkins.models import CheckIn, PersonalQrKey, ScanIdentity


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ("arrived_at", "venue", "method", "departure_kind", "ends_at", "received_at")
    list_filter = ("method", "departure_kind")
    search_fields = ("venue__code",)
    date_hierarchy = "arrived_at"
    list_select_related = ("venue",)
    raw_id_fields = ("venue", "person", "recorded_by")


@admin.register(PersonalQrKey)
class PersonalQrKeyAdmin(ReadOnlyAdmin):
    list_display = ("ref", "version", "created_at", "rotated_at", "revoked_at")
    search_fields = ("ref",)
    raw_id_fields = ("person",)


@admin.register(ScanIdentity)
class ScanIdentityAdmin(ReadOnlyAdmin):
    list_display = ("kind", "value", "created_at")
    raw_id_fields = ("person",)
