"""Django admin for staff. People are listed masked, and roles can only be
read here: granting and revoking go through the roles page or the API, which
check scope and write the audit log."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from truyvet.accounts.models import Person, RoleAssignment, User
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
