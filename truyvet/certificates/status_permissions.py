"""Who may record test results and set the card colour's rules (issue 16).

- A **testing site's staff** (owner, admin, controller of a venue of type
  "testing") enter results at their site; its owner and admins import lists.
  Health workers over the site's commune may do both.
- A **province officer** (or a system admin for the national rows) adds a
  colour rule for their province; rules are never edited, a new dated row
  replaces the old from its day.
"""

from __future__ import annotations

from typing import Any

from truyvet.accounts.models import Role
from truyvet.accounts.permissions import is_system_admin, scope_units
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.venues.models import StaffRole, VenueStatus, VenueType
from truyvet.venues.permissions import venue_role

_MANAGERS = frozenset({StaffRole.OWNER, StaffRole.ADMIN})


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_testing_site(venue: Any) -> bool:
    return venue is not None and venue.venue_type == VenueType.TESTING


def _health_worker_over(user: Any, unit: AdministrativeUnit | None) -> bool:
    return unit is not None and any(
        scope.contains(unit) for scope in scope_units(user, frozenset({Role.HEALTH_WORKER})))


def can_enter_test(user: Any, site: Any) -> bool:
    if not _active(user) or not is_testing_site(site) or site.status != VenueStatus.ACTIVE:
        return False
    return venue_role(user, site) is not None or _health_worker_over(user, site.commune)


def can_view_site_tests(user: Any, site: Any) -> bool:
    """The results entered at a site name the people tested: its staff and
    the health workers over it."""
    if not _active(user) or not is_testing_site(site):
        return False
    return venue_role(user, site) is not None or _health_worker_over(user, site.commune)


def can_import_tests(user: Any, site: Any) -> bool:
    if not _active(user) or not is_testing_site(site) or site.status != VenueStatus.ACTIVE:
        return False
    return venue_role(user, site) in _MANAGERS or _health_worker_over(user, site.commune)


def can_set_colour_rule(user: Any, province: AdministrativeUnit | None) -> bool:
    if not _active(user):
        return False
    if province is None:
        return is_system_admin(user)
    if province.level != Level.PROVINCE:
        return False
    return is_system_admin(user) or any(
        scope.contains(province)
        for scope in scope_units(user, frozenset({Role.PROVINCE_OFFICER})))


def can_view_colour_rules(user: Any) -> bool:
    return _active(user)
