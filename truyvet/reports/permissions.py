"""Permission decisions about reports, as named functions.

Decision: dashboards, exports, reminders and report files are for officers
(commune, district, province) over the unit and for system admins; the
whole country only for system admins. Health workers and venue staff are
not among them. Dashboards hold counts only; the owners' contacts of
inactive venues are personal data, shown to the same officers (they call
them) and audited on every view and export.
"""

from __future__ import annotations

from truyvet.accounts.models import Viewer
from truyvet.accounts.permissions import can_manage_unit, is_officer, is_system_admin
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import Venue


def can_use_reports(user: Viewer) -> bool:
    """Opens the reports pages at all."""
    return is_officer(user)


def can_view_dashboard(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Sees the figures of ``unit`` and below; ``None`` is the whole country."""
    if unit is None:
        return is_system_admin(user)
    return can_manage_unit(user, unit)


def can_export_report(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Downloads the unit's tables and reports (XLSX, CSV, PDF) and makes
    ad-hoc report files."""
    return can_view_dashboard(user, unit)


def can_view_venue_contacts(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Sees the owners' names and phones of the unit's inactive venues."""
    return can_view_dashboard(user, unit)


def can_send_reminder(user: Viewer, venue: Venue) -> bool:
    """Sends an inactive venue's owners an SMS reminder."""
    return can_manage_unit(user, venue.commune)


def can_edit_reminder_template(user: Viewer, province: AdministrativeUnit) -> bool:
    """Sets the province's reminder SMS and its rule on inactive venues:
    the province's own officers (and system admins)."""
    return can_manage_unit(user, province)


def can_manage_report_recipients(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Adds and removes the e-mail addresses that get the unit's scheduled reports."""
    return can_view_dashboard(user, unit)
