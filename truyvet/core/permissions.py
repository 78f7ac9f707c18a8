"""Every permission decision, as named functions in one place.

Pages and API endpoints call these; nothing else compares roles. A role held
over a unit covers that unit and everything below it (``unit.contains``).
Functions answer for active, logged-in users only; anyone else gets False.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q

from truyvet.accounts.models import Role, RoleAssignment, User
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.venues.models import StaffRole, VenueStaff

if TYPE_CHECKING:
    from truyvet.accounts.models import Person

OFFICER_ROLES = frozenset({Role.PROVINCE_OFFICER, Role.DISTRICT_OFFICER, Role.COMMUNE_OFFICER})
# The tier of unit each officer role must be attached to.
OFFICER_LEVEL = {
    Role.PROVINCE_OFFICER: Level.PROVINCE,
    Role.DISTRICT_OFFICER: Level.DISTRICT,
    Role.COMMUNE_OFFICER: Level.COMMUNE,
}
_CACHE_ATTR = "_truyvet_role_assignments"


def _assignments(user: Any) -> list[RoleAssignment]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(RoleAssignment.objects.filter(user=user).select_related("unit"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_cached_roles(user: Any) -> None:
    """Called after a role change so the same request sees the new roles."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_system_admin(user: Any) -> bool:
    return any(a.role == Role.SYSTEM_ADMIN for a in _assignments(user))


def is_official(user: Any) -> bool:
    """Holds any administrative role (officer, health worker or admin)."""
    return bool(_assignments(user))


def is_officer(user: Any) -> bool:
    return is_system_admin(user) or any(a.role in OFFICER_ROLES for a in _assignments(user))


def scope_units(user: Any, roles: frozenset[str] | None = None) -> list[AdministrativeUnit]:
    """The units whose subtrees the user's roles (optionally only ``roles``) cover."""
    return [
        a.unit
        for a in _assignments(user)
        if a.unit is not None and (roles is None or a.role in roles)
    ]


def unit_scope_q(user: Any, path_field: str, roles: frozenset[str] | None = None) -> Q:
    """A filter for rows whose unit path (``path_field``) is in the user's scope.

    Matches nothing for a user without roles; everything for a system admin.
    """
    if is_system_admin(user):
        return Q()
    units = scope_units(user, roles)
    if not units:
        return Q(pk__in=[])
    condition = Q()
    for unit in units:
        condition |= Q(**{f"{path_field}__startswith": unit.path})
    return condition


def _covers(user: Any, unit: AdministrativeUnit | None, roles: frozenset[str] | None) -> bool:
    if is_system_admin(user):
        return True
    if unit is None:
        return False
    return any(scope.contains(unit) for scope in scope_units(user, roles))


def can_view_unit(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Sees figures and lists for the unit: any official whose scope covers it."""
    return _covers(user, unit, None)


def can_manage_unit(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Approves, suspends and registers things in the unit: officers only."""
    return _covers(user, unit, OFFICER_ROLES)


def can_view_person(user: Any, person: Person) -> bool:
    """The person themselves, or an official whose scope covers where they live."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if getattr(user, "person_id", None) == person.pk:
        return True
    return _covers(user, person.commune, None)


def can_search_people(user: Any) -> bool:
    return is_official(user)


def can_register_person(user: Any, commune: AdministrativeUnit | None) -> bool:
    """Officials and health workers create records for people without a login."""
    return _covers(user, commune, None)


def can_grant_role(user: Any, role: str, unit: AdministrativeUnit | None) -> bool:
    """Admins grant anything. Officers grant officer and health-worker roles
    inside their own scope, never system admin and never above their own tier."""
    if is_system_admin(user):
        return True
    if role == Role.SYSTEM_ADMIN or unit is None:
        return False
    return _covers(user, unit, OFFICER_ROLES)


def granting_level(user: Any, unit: AdministrativeUnit | None) -> int | None:
    """The tier from which ``user`` acts on ``unit``: the level of their
    widest officer unit that covers it (1 province, 2 district, 3 commune).
    None for a system admin, whose grants only a system admin revokes (and
    for anyone not covering the unit)."""
    if is_system_admin(user) or unit is None:
        return None
    levels = [scope.level for scope in scope_units(user, OFFICER_ROLES) if scope.contains(unit)]
    return min(levels) if levels else None


def can_revoke_role(user: Any, assignment: RoleAssignment) -> bool:
    """Revokes ``assignment``: someone who could grant it, acting from the
    tier that granted it or a wider one. A commune officer cannot undo what
    the district granted; grants made by a system admin or the console
    (``granted_level`` NULL) only a system admin undoes."""
    if is_system_admin(user):
        return True
    if not can_grant_role(user, assignment.role, assignment.unit):
        return False
    mine = granting_level(user, assignment.unit)
    granted = assignment.granted_level
    return mine is not None and granted is not None and mine <= granted


def can_decide_identity_claim(user: Any, claim: Any) -> bool:
    """Confirms or refuses a claim on an existing record (the person shows
    their card at the office): officers whose scope covers the claim's unit,
    never on a claim of their own nor on their own record."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if claim.user_id == user.pk or claim.record_id == getattr(user, "person_id", None):
        return False
    return _covers(user, claim.unit, OFFICER_ROLES)


def can_list_identity_claims(user: Any) -> bool:
    return is_officer(user)


def can_view_roles(user: Any, unit: AdministrativeUnit | None) -> bool:
    return can_manage_unit(user, unit)


def can_view_audit(user: Any, unit: AdministrativeUnit | None) -> bool:
    """The audit log of a unit is for admins and officers over it."""
    return _covers(user, unit, OFFICER_ROLES)


def can_view_any_audit(user: Any) -> bool:
    return is_officer(user)


def can_list_roles(user: Any) -> bool:
    """Opens the roles page and API: officers (for their scope) and admins."""
    return is_officer(user)


def can_register_people(user: Any) -> bool:
    """Opens the form for people without a login; where each person may live
    is then checked with ``can_register_person``."""
    return is_official(user)


def can_grant_role_kind(user: Any, role: str) -> bool:
    """Whether ``role`` is one the user may grant over some unit, so that
    forms offer only those; ``can_grant_role`` decides for a given unit."""
    if is_system_admin(user):
        return True
    return role != Role.SYSTEM_ADMIN and is_officer(user)


# --- Venues (issue 3) -------------------------------------------------------------
#
# Venue roles are memberships (venues.VenueStaff), read from the database on
# every call and never cached on the user, so a removed staff member loses
# access with their very next request.


def venue_role(user: Any, venue: Any) -> str | None:
    """The user's staff role at ``venue`` (owner, admin, controller) or None.
    An invitation not yet accepted is no role."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return (
        VenueStaff.objects.filter(venue_id=venue.pk, user_id=user.pk, accepted_at__isnull=False)
        .values_list("role", flat=True)
        .first()
    )


def _venue_roles_in(user: Any, venue: Any, roles: frozenset[str]) -> bool:
    return venue_role(user, venue) in roles


_VENUE_MANAGERS = frozenset({StaffRole.OWNER, StaffRole.ADMIN})
_VENUE_STAFF = frozenset({StaffRole.OWNER, StaffRole.ADMIN, StaffRole.CONTROLLER})


def can_register_venue(user: Any) -> bool:
    """Any logged-in person registers their own venue (self-service); where
    an officer registers on someone's behalf is checked with
    ``can_register_venue_for_unit``."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def can_register_venue_for_unit(user: Any, commune: AdministrativeUnit | None) -> bool:
    """Registers venues for others (activated at once, bulk import): officers
    over the commune."""
    return can_manage_unit(user, commune)


def can_import_venues(user: Any) -> bool:
    """Opens the bulk import page; each row's commune is then checked with
    ``can_register_venue_for_unit``."""
    return is_officer(user)


def can_view_venue(user: Any, venue: Any) -> bool:
    """The venue's staff, and officials whose scope covers its commune."""
    return can_view_unit(user, venue.commune) or venue_role(user, venue) is not None


def can_manage_venue(user: Any, venue: Any) -> bool:
    """Edits details, prints posters, revokes the QR: the owner and venue
    admins, and officers over the commune."""
    return can_manage_unit(user, venue.commune) or _venue_roles_in(user, venue, _VENUE_MANAGERS)


def can_manage_venue_staff(user: Any, venue: Any, role: str) -> bool:
    """Adds or removes a staff member holding ``role``: the owner manages
    admins and controllers, a venue admin manages controllers, officers over
    the commune manage everyone (owners included)."""
    if can_manage_unit(user, venue.commune):
        return True
    mine = venue_role(user, venue)
    if mine == StaffRole.OWNER:
        return role in (StaffRole.ADMIN, StaffRole.CONTROLLER)
    if mine == StaffRole.ADMIN:
        return role == StaffRole.CONTROLLER
    return False


def can_view_venue_staff(user: Any, venue: Any) -> bool:
    return can_manage_venue(user, venue)


def can_view_visitor_log(user: Any, venue: Any) -> bool:
    """Who came, even masked, is for the owner and venue admins only: not
    controllers, and not officers (tracing reaches visits through a case)."""
    return _venue_roles_in(user, venue, _VENUE_MANAGERS)


def can_change_venue_status(user: Any, venue: Any) -> bool:
    """Approves, suspends, closes and reopens: officers over the commune."""
    return can_manage_unit(user, venue.commune)


def can_scan_at_venue(user: Any, venue: Any) -> bool:
    """Checks people in at the door: the venue's controllers, admins and owner."""
    return _venue_roles_in(user, venue, _VENUE_STAFF)


def venue_staff_since(user: Any, venue: Any) -> Any:
    """When the user became the venue's owner, admin or controller, or None
    when they are none of these (``can_scan_at_venue`` is then False): one
    query for both whether they may scan there and how long they have,
    which bounds how far back their scans may be dated."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return (
        VenueStaff.objects.filter(venue_id=venue.pk, user_id=user.pk, role__in=_VENUE_STAFF)
        .values_list("added_at", flat=True)
        .first()
    )


def can_print_posters_for_unit(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Downloads every poster of a commune or district in one PDF."""
    return can_manage_unit(user, unit)


# --- Check-ins (issue 4) -----------------------------------------------------------
#
# Scanning at a venue is ``can_scan_at_venue`` above. There is deliberately no
# permission to list another person's visits: officials reach visits only
# through a case (tracing).


def can_checkout_checkin(user: Any, checkin: Any) -> bool:
    """Ends a visit by tapping "leaving": only the person who made it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return getattr(user, "person_id", None) == checkin.person_id


def can_print_personal_qr_card(user: Any, person: Person) -> bool:
    """Prints the 5 × 5 cm personal QR card: the person themselves, and
    officials whose scope covers where the person lives, for people without
    an account of their own (no smartphone; each print is audited). A card
    is a live credential that checks its holder in anywhere, so nobody
    prints one for someone who has an account: they print their own."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if getattr(user, "person_id", None) == person.pk:
        return True
    if not _covers(user, person.commune, None):
        return False
    return not User.objects.filter(person_id=person.pk).exists()


# --- Tracing (issue 5) ---------------------------------------------------------------
#
# Decision: health workers and officers (commune, district, province) whose
# unit covers a case's unit view it, manage it (register, edit the window,
# isolate, reclassify, close), trace it and send its alerts; the same people
# see the full identity of contacts who live in their scope and work the
# contact tasks of their communes. A system admin is deliberately NOT among
# them (purpose limitation: keys and settings are not tracing), unless they
# also hold one of those roles over the unit. Citizens and venue staff never
# are. Officials reach anyone's movements only through a case.

TRACING_ROLES = frozenset({Role.HEALTH_WORKER, *OFFICER_ROLES})


def _covers_for_tracing(user: Any, unit: AdministrativeUnit | None) -> bool:
    if unit is None:
        return False
    return any(scope.contains(unit) for scope in scope_units(user, TRACING_ROLES))


def can_use_tracing(user: Any) -> bool:
    """Opens the tracing pages at all (cases list, contact tasks)."""
    return bool(scope_units(user, TRACING_ROLES))


def tracing_scope_q(user: Any, path_field: str) -> Q:
    """Rows whose unit (``path_field``) lies in the user's tracing scope;
    nothing for anyone else, system admins included."""
    units = scope_units(user, TRACING_ROLES)
    if not units:
        return Q(pk__in=[])
    condition = Q()
    for unit in units:
        condition |= Q(**{f"{path_field}__startswith": unit.path})
    return condition


def can_register_case(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Registers a case for someone living in ``unit``."""
    return _covers_for_tracing(user, unit)


def can_view_case(user: Any, case: Any) -> bool:
    """Sees the case, its timeline and its contacts (out-of-scope ones masked)."""
    return _covers_for_tracing(user, case.unit)


def can_manage_case(user: Any, case: Any) -> bool:
    """Edits the window, records isolation, reclassifies and closes the case."""
    return _covers_for_tracing(user, case.unit)


def can_trace(user: Any, case: Any) -> bool:
    """Runs the exposure search, expands to F2, sends alerts and publishes
    exposure sites for the case."""
    return _covers_for_tracing(user, case.unit)


def can_view_contact_identity(user: Any, contact: Any) -> bool:
    """Sees who a contact is (name, phone) rather than a masked form: only
    officials whose scope covers where the contact lives."""
    return _covers_for_tracing(user, contact.unit)


def can_work_contact_task(user: Any, task: Any) -> bool:
    """Follows up a contact handed to their commune."""
    return _covers_for_tracing(user, task.unit)


# --- Reports (issue 6) ----------------------------------------------------------------
#
# Decision: dashboards, exports, reminders and report files are for officers
# (commune, district, province) over the unit and for system admins; the
# whole country only for system admins. Health workers and venue staff are
# not among them. Dashboards hold counts only; the owners' contacts of
# inactive venues are personal data, shown to the same officers (they call
# them) and audited on every view and export.


def can_use_reports(user: Any) -> bool:
    """Opens the reports pages at all."""
    return is_officer(user)


def can_view_dashboard(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Sees the figures of ``unit`` and below; ``None`` is the whole country."""
    if unit is None:
        return is_system_admin(user)
    return _covers(user, unit, OFFICER_ROLES)


def can_export_report(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Downloads the unit's tables and reports (XLSX, CSV, PDF) and makes
    ad-hoc report files."""
    return can_view_dashboard(user, unit)


def can_view_venue_contacts(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Sees the owners' names and phones of the unit's inactive venues."""
    return can_view_dashboard(user, unit)


def can_send_reminder(user: Any, venue: Any) -> bool:
    """Sends an inactive venue's owners an SMS reminder."""
    return can_manage_unit(user, venue.commune)


def can_manage_report_recipients(user: Any, unit: AdministrativeUnit | None) -> bool:
    """Adds and removes the e-mail addresses that get the unit's scheduled reports."""
    return can_view_dashboard(user, unit)


def can_manage_trust_lists(user: Any) -> bool:
    """Certificate trust lists (signing certificates, issuer keys,
    revocations) decide which certificates the whole system accepts."""
    return is_system_admin(user)
