"""Who may take each step of issuing a certificate (QĐ 5772/QĐ-BYT's three
steps, plus the request and revocation):

- **request**: the person themselves (from their own view), and whoever
  may verify the record;
- **verify**: the staff of the site that gave the dose or did the test, and
  health workers over that site (over the person's commune when the record
  names no site of ours, as for a recovery);
- **approve**: the site's owner and admins, and those health workers;
- **sign** and **revoke**: the province, i.e. province officers over the
  certificate's issuing authority (a province) and health workers whose
  role is held over the whole province;
- a system admin may revoke, and sees every certificate.
"""

from __future__ import annotations

from typing import Any

from truyvet.accounts.models import Role
from truyvet.accounts.permissions import is_system_admin, scope_units
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.venues.models import StaffRole
from truyvet.venues.permissions import venue_role

_SITE_MANAGERS = frozenset({StaffRole.OWNER, StaffRole.ADMIN})
_HEALTH = frozenset({Role.HEALTH_WORKER})
_PROVINCE = frozenset({Role.PROVINCE_OFFICER, Role.HEALTH_WORKER})


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _covers(user: Any, unit: AdministrativeUnit | None, roles: frozenset[str]) -> bool:
    return unit is not None and any(s.contains(unit) for s in scope_units(user, roles))


def _record_unit(certificate: Any) -> AdministrativeUnit | None:
    site = certificate.site
    unit: AdministrativeUnit | None = (site.commune if site is not None
                                       else certificate.person.commune)
    return unit


def can_request_certificate(user: Any, person: Any, *, site: Any = None) -> bool:
    if not _active(user):
        return False
    if getattr(user, "person_id", None) == person.pk:
        return True
    if site is not None and venue_role(user, site) is not None:
        return True
    return _covers(user, site.commune if site is not None else person.commune, _HEALTH)


def can_verify_certificate(user: Any, certificate: Any) -> bool:
    if not _active(user):
        return False
    if certificate.site is not None and venue_role(user, certificate.site) is not None:
        return True
    return _covers(user, _record_unit(certificate), _HEALTH)


def can_approve_certificate(user: Any, certificate: Any) -> bool:
    if not _active(user):
        return False
    if certificate.site is not None and venue_role(user, certificate.site) in _SITE_MANAGERS:
        return True
    return _covers(user, _record_unit(certificate), _HEALTH)


def can_sign_certificate(user: Any, certificate: Any) -> bool:
    """Province officers over the authority, and health workers whose role
    is held over the province itself."""
    if not _active(user):
        return False
    authority = certificate.authority
    return any(
        unit.contains(authority) and (role == Role.PROVINCE_OFFICER or unit.level
                                      == Level.PROVINCE)
        for role, unit in _roles(user)
    )


def _roles(user: Any) -> list[tuple[str, AdministrativeUnit]]:
    return [(role, unit) for role in _PROVINCE for unit in scope_units(user, frozenset({role}))]


def can_revoke_certificate(user: Any, certificate: Any) -> bool:
    return is_system_admin(user) or can_sign_certificate(user, certificate)


def can_view_certificate(user: Any, certificate: Any) -> bool:
    """The holder, and everyone who takes or may take a step on it."""
    if not _active(user):
        return False
    return (getattr(user, "person_id", None) == certificate.person_id
            or is_system_admin(user) or can_verify_certificate(user, certificate)
            or can_sign_certificate(user, certificate))


def province_of(unit: AdministrativeUnit | None) -> AdministrativeUnit | None:
    while unit is not None and unit.level != Level.PROVINCE:
        unit = unit.parent
    return unit
