"""Trust lists in the Django admin, for system admins only: listed with the
date each was last refreshed, and removable; importing (which parses and
validates the file) goes through the trust-list page and its service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from truyvet.certificates.models import TrustList, VerificationTally
from truyvet.certificates.permissions import can_manage_trust_lists
from truyvet.core.admin import ReadOnlyAdmin


@admin.register(TrustList)
class TrustListAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "issuer_url", "entry_count", "refreshed_at", "refreshed_by")
    list_filter = ("kind",)
    search_fields = ("name", "issuer_url")
    exclude = ("content",)
    deletable = True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_manage_trust_lists(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage_trust_lists(request.user) and super().has_view_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage_trust_lists(request.user) and super().has_delete_permission(
            request, obj
        )


@admin.register(VerificationTally)
class VerificationTallyAdmin(ReadOnlyAdmin):
    list_display = ("day", "kind", "valid", "count")
    list_filter = ("kind", "valid")
    date_hierarchy = "day"


# --- Test results, recoveries and the card colour (issue 16) ---------------------------
from truyvet.certificates import status_admin  # noqa: E402, F401  (registers its admins)
