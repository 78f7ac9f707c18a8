"""Django admin for staff. People are listed masked, and roles, claims on
records and phone history can only be read here: granting, revoking and
deciding go through the pages or the API, which check scope and write the
audit log. Staff sign in through the app's login (core.views.admin_login)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from truyvet.accounts.models import IdentityClaim, Person, PersonPhoneHistory, RoleAssignment, User
from truyvet.core.admin import ReadOnlyAdmin


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("id", "masked_name", "birth_year", "masked_id", "masked_phone", "commune")
    list_select_related = ("commune",)
    search_fields = ("name_folded", "=phone", "=id_number")
    raw_id_fields = ("commune",)
    readonly_fields = ("name_folded", "created_at", "updated_at")


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("__str__", "person", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff")
    list_select_related = ("person",)
    search_fields = ("=phone",)
    raw_id_fields = ("person",)
    fields = (
        "phone", "person", "is_active", "is_staff", "is_superuser", "phone_verified_at",
        "date_joined", "last_login",
    )
    readonly_fields = ("phone_verified_at", "date_joined", "last_login")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Accounts come from registration with an OTP or `truyvet createadmin`.
        return False


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("user", "role", "unit", "granted_by", "granted_at")
    list_filter = ("role",)
    list_select_related = ("user", "unit", "granted_by")
    search_fields = ("=user__phone", "unit__code")


@admin.register(IdentityClaim)
class IdentityClaimAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "user", "details_match", "unit", "created_at", "decided_by")
    list_filter = ("status", "details_match")
    list_select_related = ("user", "unit", "decided_by")
    exclude = ("code_hash",)


@admin.register(PersonPhoneHistory)
class PersonPhoneHistoryAdmin(ReadOnlyAdmin):
    list_display = ("id", "person_id", "__str__", "reason", "replaced_at", "changed_by")
    list_filter = ("reason",)
    list_select_related = ("changed_by",)
    search_fields = ("=phone", "=replaced_by")
