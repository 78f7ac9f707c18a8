"""Who may do what with vaccination records, as named functions.

Decisions (issue 15):

- **Site staff** (the venue's owner, admins and controllers) record doses at
  their site and see the doses given there; the owner and admins import the
  site's lists and review correction requests about doses their site
  recorded.
- **Health workers** over a unit do everything site staff do for every site
  in the unit, see the doses of the unit's residents, review every request
  routed to the unit (a missing dose, a site that is gone), and see coverage.
- **Commune, district and province officers** see the doses of their unit's
  residents (audited), file requests on a resident's behalf, see coverage
  and load population figures. They do not record or change doses.
- **Citizens** see their own doses and file requests about them.
- A **system admin** sees everything but records nothing.

Unit-role checks come from ``truyvet.accounts.permissions`` and venue-role checks
from ``truyvet.venues.permissions``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from truyvet.accounts.models import Role
from truyvet.accounts.permissions import OFFICER_ROLES, is_system_admin, scope_units
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import StaffRole, VenueType
from truyvet.venues.permissions import venue_role

HEALTH_ROLES = frozenset({Role.HEALTH_WORKER})
OFFICIAL_ROLES = frozenset({Role.HEALTH_WORKER, *OFFICER_ROLES})
_SITE_MANAGERS = frozenset({StaffRole.OWNER, StaffRole.ADMIN})


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _covers(user: Any, unit: AdministrativeUnit | None, roles: frozenset[str]) -> bool:
    if unit is None:
        return False
    return any(scope.contains(unit) for scope in scope_units(user, roles))


def is_site(venue: Any) -> bool:
    return venue is not None and venue.venue_type == VenueType.VACCINATION


def is_health_worker(user: Any) -> bool:
    return bool(scope_units(user, HEALTH_ROLES))


def scope_q(user: Any, path_field: str, roles: frozenset[str] = OFFICIAL_ROLES) -> Q:
    """Rows whose unit path (``path_field``) is in the user's scope for
    ``roles``; everything for a system admin, nothing without roles."""
    if is_system_admin(user):
        return Q()
    units = scope_units(user, roles)
    if not units:
        return Q(pk__in=[])
    condition = Q()
    for unit in units:
        condition |= Q(**{f"{path_field}__startswith": unit.path})
    return condition


# --- Sites and doses -------------------------------------------------------------------------


def can_record_dose(user: Any, site: Any) -> bool:
    """Records a dose given at ``site``: its staff, and health workers over it."""
    if not _active(user) or not is_site(site):
        return False
    return venue_role(user, site) is not None or _covers(user, site.commune, HEALTH_ROLES)


def can_import_doses(user: Any, site: Any) -> bool:
    """Uploads the site's list: its owner and admins, and health workers."""
    if not _active(user) or not is_site(site):
        return False
    return venue_role(user, site) in _SITE_MANAGERS or _covers(user, site.commune, HEALTH_ROLES)


def can_view_site(user: Any, site: Any) -> bool:
    """Sees the doses given at ``site``: its staff, officials over its
    commune, system admins."""
    if not _active(user) or not is_site(site):
        return False
    return (is_system_admin(user) or venue_role(user, site) is not None
            or _covers(user, site.commune, OFFICIAL_ROLES))


def can_change_dose(user: Any, dose: Any) -> bool:
    """Corrects or deletes a dose directly (with a reason kept in its
    history): the managers of the site that recorded it and health workers
    over that site or over where the person lives."""
    if not _active(user):
        return False
    site = dose.site
    if site is not None and venue_role(user, site) in _SITE_MANAGERS:
        return True
    return (_covers(user, site.commune if site is not None else None, HEALTH_ROLES)
            or _covers(user, dose.person.commune, HEALTH_ROLES))


def can_view_doses_of(user: Any, person: Any) -> bool:
    """Sees a person's whole record: the person, and officials over where
    they live (audited)."""
    if not _active(user):
        return False
    if getattr(user, "person_id", None) == person.pk:
        return True
    return is_system_admin(user) or _covers(user, person.commune, OFFICIAL_ROLES)


def can_merge_people(user: Any, person: Any) -> bool:
    """Moves the doses of a duplicate record onto the right one: health
    workers over where the person lives."""
    return _active(user) and _covers(user, person.commune, HEALTH_ROLES)


def can_use_vaccination_desk(user: Any) -> bool:
    """Opens the officials' vaccination pages (queue, coverage, people)."""
    return _active(user) and (is_system_admin(user) or bool(scope_units(user, OFFICIAL_ROLES)))


# --- Correction requests ---------------------------------------------------------------------


def can_file_correction(user: Any, person: Any) -> bool:
    """The person themselves, or a commune officer (any officer or health
    worker) over where they live, on their behalf."""
    if not _active(user):
        return False
    if getattr(user, "person_id", None) == person.pk:
        return True
    return _covers(user, person.commune, OFFICIAL_ROLES)


def can_review_correction(user: Any, request: Any) -> bool:
    """The site that recorded the dose (its owner and admins), or health
    workers over the site or over the unit the request was routed to."""
    if not _active(user):
        return False
    site = request.review_site
    if site is not None and venue_role(user, site) in _SITE_MANAGERS:
        return True
    if site is not None and _covers(user, site.commune, HEALTH_ROLES):
        return True
    return _covers(user, request.review_unit, HEALTH_ROLES)


def can_view_correction(user: Any, request: Any) -> bool:
    """The person, whoever filed it, its reviewers, and officials over where
    the person lives; with its evidence (each view audited)."""
    if not _active(user):
        return False
    if getattr(user, "person_id", None) == request.person_id:
        return True
    if request.filed_by_id is not None and request.filed_by_id == user.pk:
        return True
    return can_review_correction(user, request) or _covers(user, request.person.commune,
                                                           OFFICIAL_ROLES)


def correction_queue_q(user: Any) -> Q:
    """The requests ``user`` reviews: those routed to sites they manage or
    to units where they are health workers."""
    condition = Q(pk__in=[])
    if not _active(user):
        return condition
    managed = Q(review_site__staff__user=user, review_site__staff__role__in=_SITE_MANAGERS)
    condition |= managed
    for unit in scope_units(user, HEALTH_ROLES):
        condition |= Q(review_unit__path__startswith=unit.path)
        condition |= Q(review_site__commune__path__startswith=unit.path)
    return condition


# --- Coverage and population ------------------------------------------------------------------


def can_view_coverage(user: Any, unit: AdministrativeUnit | None) -> bool:
    """The figures of ``unit`` (None: the whole country, system admins only):
    officers and health workers over it."""
    if not _active(user):
        return False
    if unit is None:
        return is_system_admin(user)
    return is_system_admin(user) or _covers(user, unit, OFFICIAL_ROLES)


def is_national_viewer(user: Any) -> bool:
    """Sees the whole country's coverage: system admins."""
    return _active(user) and is_system_admin(user)


def coverage_units(user: Any) -> list[AdministrativeUnit]:
    """The units whose coverage the user's roles open, outermost only."""
    units = sorted({unit.pk: unit for unit in scope_units(user, OFFICIAL_ROLES)}.values(),
                   key=lambda unit: unit.path)
    kept: list[AdministrativeUnit] = []
    for unit in units:
        if not any(outer.contains(unit) for outer in kept):
            kept.append(unit)
    return kept


def population_scope_of(user: Any) -> list[AdministrativeUnit] | None:
    """Where ``user`` may load population figures (the rule registered with
    ``truyvet.places.population``): officers over their units, everywhere
    for a system admin."""
    if is_system_admin(user):
        return None
    return scope_units(user, OFFICER_ROLES)
