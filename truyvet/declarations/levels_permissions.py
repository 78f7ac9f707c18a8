"""Who may set epidemic levels, edit the thresholds and see the residents of
level-4 communes (issue 14 items 4 and 5), as named functions over the roles
of accounts.permissions."""

from __future__ import annotations

from truyvet.accounts.models import Role, Viewer
from truyvet.accounts.permissions import is_system_admin, scope_units
from truyvet.places.models import AdministrativeUnit, Level

# Resolution 128: the district and the province declare levels; a commune
# officer proposes (by calling the district), not declares.
LEVEL_SETTERS = frozenset({Role.PROVINCE_OFFICER, Role.DISTRICT_OFFICER})
THRESHOLD_EDITORS = frozenset({Role.PROVINCE_OFFICER})
# The commune and district officials of a level-4 commune follow its residents.
RESIDENT_VIEWERS = frozenset({Role.DISTRICT_OFFICER, Role.COMMUNE_OFFICER})


def _covers(user: Viewer, unit: AdministrativeUnit, roles: frozenset[str]) -> bool:
    return is_system_admin(user) or any(s.contains(unit) for s in scope_units(user, roles))


def can_set_level(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Sets the level of the commune ``unit`` or of every commune of the
    district ``unit``: a district or province officer whose area covers it."""
    if unit is None or unit.level == Level.PROVINCE:
        return False
    return _covers(user, unit, LEVEL_SETTERS)


def can_set_levels(user: Viewer) -> bool:
    """Sees the page for setting levels at all."""
    return is_system_admin(user) or bool(scope_units(user, LEVEL_SETTERS))


def can_edit_thresholds(user: Viewer, province: AdministrativeUnit | None) -> bool:
    if province is None or province.level != Level.PROVINCE:
        return False
    return _covers(user, province, THRESHOLD_EDITORS)


def can_view_residents(user: Viewer, commune: AdministrativeUnit | None) -> bool:
    """The residents list of a commune (at level 4, checked by the selector):
    its commune officers and its district's officers. Province officers and
    health workers are not in the brief's list and are refused."""
    if commune is None or commune.level != Level.COMMUNE:
        return False
    return _covers(user, commune, RESIDENT_VIEWERS)


def can_list_residents(user: Viewer) -> bool:
    return is_system_admin(user) or bool(scope_units(user, RESIDENT_VIEWERS))
