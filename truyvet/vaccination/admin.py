"""Vaccination records in the Django admin: readable by staff, written only
by the services (which check scope, validate, keep history and rollups).
The rollups are not here: ``truyvet rebuild_coverage`` recounts them."""

from __future__ import annotations

from django.contrib import admin

from truyvet.core.admin import ReadOnlyAdmin
from truyvet.vaccination.models import (
    CorrectionRequest,
    Dose,
    DoseChange,
    DoseImport,
    Vaccine,
    VaccineMix,
)


@admin.register(Vaccine)
class VaccineAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "dcc_product", "dcc_manufacturer", "dcc_vaccine_type",
                    "primary_doses", "min_interval_days", "licensed_on")


@admin.register(VaccineMix)
class VaccineMixAdmin(ReadOnlyAdmin):
    list_display = ("previous", "following", "allowed_from", "source")


@admin.register(Dose)
class DoseAdmin(ReadOnlyAdmin):
    list_display = ("given_on", "person", "dose_number", "kind", "vaccine", "site", "source")
    list_filter = ("vaccine", "kind", "source")
    list_select_related = ("person", "vaccine", "site")
    raw_id_fields = ("person", "site", "recorded_by", "import_batch")
    date_hierarchy = "given_on"


@admin.register(DoseChange)
class DoseChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "action", "dose_ref", "person", "changed_by", "reason")
    list_filter = ("action",)
    list_select_related = ("person", "changed_by")


@admin.register(DoseImport)
class DoseImportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "site", "filename", "status", "rows", "imported", "skipped",
                    "rejected")
    list_filter = ("status",)
    list_select_related = ("site",)


@admin.register(CorrectionRequest)
class CorrectionRequestAdmin(ReadOnlyAdmin):
    list_display = ("filed_at", "kind", "status", "person", "review_site", "review_unit")
    list_filter = ("status", "kind")
    list_select_related = ("person", "review_site", "review_unit")
