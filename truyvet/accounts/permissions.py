"""Permission decisions over administrative roles, as named functions.

A role (``accounts.RoleAssignment``) held over a unit covers that unit and
everything below it (``unit.contains``). Pages, endpoints and the permission
modules of the apps above (venues, check-ins, tracing, reports) build on
these; nothing else compares roles. Functions answer for active, logged-in
users only; anyone else gets False.
"""

from __future__ import annotations

from django.db.models import Q

from truyvet.accounts.models import IdentityClaim, Person, Role, RoleAssignment, Viewer
from truyvet.places.models import AdministrativeUnit, Level

OFFICER_ROLES = frozenset({Role.PROVINCE_OFFICER, Role.DISTRICT_OFFICER, Role.COMMUNE_OFFICER})
# The tier of unit each officer role must be attached to.
OFFICER_LEVEL = {
    Role.PROVINCE_OFFICER: Level.PROVINCE,
    Role.DISTRICT_OFFICER: Level.DISTRICT,
    Role.COMMUNE_OFFICER: Level.COMMUNE,
}
_CACHE_ATTR = "_truyvet_role_assignments"


def _assignments(user: Viewer) -> list[RoleAssignment]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(RoleAssignment.objects.filter(user=user).select_related("unit"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_cached_roles(user: Viewer) -> None:
    """Called after a role change so the same request sees the new roles."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_system_admin(user: Viewer) -> bool:
    return any(a.role == Role.SYSTEM_ADMIN for a in _assignments(user))


def is_official(user: Viewer) -> bool:
    """Holds any administrative role (officer, health worker or admin)."""
    return bool(_assignments(user))


def is_officer(user: Viewer) -> bool:
    return is_system_admin(user) or any(a.role in OFFICER_ROLES for a in _assignments(user))


def scope_units(user: Viewer, roles: frozenset[str] | None = None) -> list[AdministrativeUnit]:
    """The units whose subtrees the user's roles (optionally only ``roles``) cover."""
    return [
        a.unit
        for a in _assignments(user)
        if a.unit is not None and (roles is None or a.role in roles)
    ]


def unit_scope_q(user: Viewer, path_field: str, roles: frozenset[str] | None = None) -> Q:
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


def _covers(user: Viewer, unit: AdministrativeUnit | None, roles: frozenset[str] | None) -> bool:
    if is_system_admin(user):
        return True
    if unit is None:
        return False
    return any(scope.contains(unit) for scope in scope_units(user, roles))


def can_view_unit(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Sees figures and lists for the unit: any official whose scope covers it."""
    return _covers(user, unit, None)


def can_manage_unit(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Approves, suspends and registers things in the unit: officers only."""
    return _covers(user, unit, OFFICER_ROLES)


def can_view_person(user: Viewer, person: Person) -> bool:
    """The person themselves, or an official whose scope covers where they live."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if getattr(user, "person_id", None) == person.pk:
        return True
    return _covers(user, person.commune, None)


def can_search_people(user: Viewer) -> bool:
    return is_official(user)


def can_register_person(user: Viewer, commune: AdministrativeUnit | None) -> bool:
    """Officials and health workers create records for people without a login."""
    return _covers(user, commune, None)


def can_grant_role(user: Viewer, role: str, unit: AdministrativeUnit | None) -> bool:
    """Admins grant anything. Officers grant officer and health-worker roles
    inside their own scope, never system admin and never above their own tier."""
    if is_system_admin(user):
        return True
    if role == Role.SYSTEM_ADMIN or unit is None:
        return False
    return _covers(user, unit, OFFICER_ROLES)


def granting_level(user: Viewer, unit: AdministrativeUnit | None) -> int | None:
    """The tier from which ``user`` acts on ``unit``: the level of their
    widest officer unit that covers it (1 province, 2 district, 3 commune).
    None for a system admin, whose grants only a system admin revokes (and
    for anyone not covering the unit)."""
    if is_system_admin(user) or unit is None:
        return None
    levels = [scope.level for scope in scope_units(user, OFFICER_ROLES) if scope.contains(unit)]
    return min(levels) if levels else None


def can_revoke_role(user: Viewer, assignment: RoleAssignment) -> bool:
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


def can_decide_identity_claim(user: Viewer, claim: IdentityClaim) -> bool:
    """Confirms or refuses a claim on an existing record (the person shows
    their card at the office): officers whose scope covers the claim's unit,
    never on a claim of their own nor on their own record."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if claim.user_id == user.pk or claim.record_id == getattr(user, "person_id", None):
        return False
    return _covers(user, claim.unit, OFFICER_ROLES)


def can_list_identity_claims(user: Viewer) -> bool:
    return is_officer(user)


def can_view_roles(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    return can_manage_unit(user, unit)


def can_view_audit(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """The audit log of a unit is for admins and officers over it."""
    return _covers(user, unit, OFFICER_ROLES)


def can_view_any_audit(user: Viewer) -> bool:
    return is_officer(user)


def can_list_roles(user: Viewer) -> bool:
    """Opens the roles page and API: officers (for their scope) and admins."""
    return is_officer(user)


def can_register_people(user: Viewer) -> bool:
    """Opens the form for people without a login; where each person may live
    is then checked with ``can_register_person``."""
    return is_official(user)


def can_grant_role_kind(user: Viewer, role: str) -> bool:
    """Whether ``role`` is one the user may grant over some unit, so that
    forms offer only those; ``can_grant_role`` decides for a given unit."""
    if is_system_admin(user):
        return True
    return role != Role.SYSTEM_ADMIN and is_officer(user)
