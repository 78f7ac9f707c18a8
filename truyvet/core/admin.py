"""The audit log in the Django admin: readable by staff, never writable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from truyvet.core.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only the services write (they check scope, validate and
    audit): staff may read them here, never add or change them, and delete
    them only where ``deletable`` says so."""

    deletable = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "actor", "purpose", "subject_person", "unit", "ip_address")
    list_filter = ("action",)
    list_select_related = ("actor", "subject_person", "unit")
    date_hierarchy = "at"
    search_fields = ("purpose", "target")
