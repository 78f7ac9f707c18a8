"""Django admin for staff: venues and their staff are read-only here, since
registration, status changes and staff changes go through the services,
which check scope, verify phones and write the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from truyvet.core.admin import ReadOnlyAdmin
from truyvet.venues.models import Venue, VenueStaff


class StaffInline(admin.TabularInline):
    model = VenueStaff
    fields = ("role", "phone", "user", "added_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    fk_name = "venue"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Venue)
class VenueAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "venue_type", "commune", "status", "qr_version",
                    "possible_duplicate_of", "created_at")
    list_filter = ("status", "venue_type")
    list_select_related = ("commune", "possible_duplicate_of")
    search_fields = ("=code", "name_folded")
    raw_id_fields = ("commune", "possible_duplicate_of", "created_by")
    inlines = [StaffInline]


@admin.register(VenueStaff)
class VenueStaffAdmin(ReadOnlyAdmin):
    list_display = ("venue", "role", "phone", "user", "added_at")
    list_filter = ("role",)
    list_select_related = ("venue", "user")
    search_fields = ("=phone", "venue__code")
    raw_id_fields = ("venue", "user", "added_by")
