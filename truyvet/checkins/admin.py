"""System admins see check-ins read-only: visits are recorded by scans and
removed by the retention purge, never edited by hand."""

from __future__ import annotations

from django.contrib import admin

from truyvet.checkins.models import CheckIn, PersonalQrKey, ScanIdentity
from truyvet.core.admin import ReadOnlyAdmin


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("arrived_at", "venue", "method", "departure_kind", "ends_at", "received_at")
    list_filter = ("method", "departure_kind")
    search_fields = ("venue__code",)
    date_hierarchy = "arrived_at"
    list_select_related = ("venue",)
    raw_id_fields = ("venue", "person", "recorded_by")


@admin.register(PersonalQrKey)
class PersonalQrKeyAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("ref", "version", "created_at", "rotated_at", "revoked_at")
    search_fields = ("ref",)
    raw_id_fields = ("person",)


@admin.register(ScanIdentity)
class ScanIdentityAdmin(ReadOnlyAdmin):
    deletable = True
    list_display = ("kind", "value", "created_at")
    raw_id_fields = ("person",)
