"""Permission decisions about tracing, as named functions.

Decision: health workers and officers (commune, district, province) whose
unit covers a case's unit view it, manage it (register, edit the window,
isolate, reclassify, close), trace it and send its alerts; the same people
see the full identity of contacts who live in their scope and work the
contact tasks of their communes. A system admin is deliberately NOT among
them (purpose limitation: keys and settings are not tracing), unless they
also hold one of those roles over the unit. Citizens and venue staff never
are. Officials reach anyone's movements only through a case.
"""

from __future__ import annotations

from django.db.models import Q

from truyvet.accounts.models import Role, Viewer
from truyvet.accounts.permissions import OFFICER_ROLES, scope_units
from truyvet.places.models import AdministrativeUnit
from truyvet.tracing.models import Case, Contact, ContactTask

TRACING_ROLES = frozenset({Role.HEALTH_WORKER, *OFFICER_ROLES})


def _covers_for_tracing(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    if unit is None:
        return False
    return any(scope.contains(unit) for scope in scope_units(user, TRACING_ROLES))


def can_use_tracing(user: Viewer) -> bool:
    """Opens the tracing pages at all (cases list, contact tasks)."""
    return bool(scope_units(user, TRACING_ROLES))


def tracing_scope_q(user: Viewer, path_field: str) -> Q:
    """Rows whose unit (``path_field``) lies in the user's tracing scope;
    nothing for anyone else, system admins included."""
    units = scope_units(user, TRACING_ROLES)
    if not units:
        return Q(pk__in=[])
    condition = Q()
    for unit in units:
        condition |= Q(**{f"{path_field}__startswith": unit.path})
    return condition


def can_register_case(user: Viewer, unit: AdministrativeUnit | None) -> bool:
    """Registers a case for someone living in ``unit``."""
    return _covers_for_tracing(user, unit)


def can_view_case(user: Viewer, case: Case) -> bool:
    """Sees the case, its timeline and its contacts (out-of-scope ones masked)."""
    return _covers_for_tracing(user, case.unit)


def can_manage_case(user: Viewer, case: Case) -> bool:
    """Edits the window, records isolation, reclassifies and closes the case."""
    return _covers_for_tracing(user, case.unit)


def can_trace(user: Viewer, case: Case) -> bool:
    """Runs the exposure search, expands to F2, sends alerts and publishes
    exposure sites for the case."""
    return _covers_for_tracing(user, case.unit)


def can_view_contact_identity(user: Viewer, contact: Contact) -> bool:
    """Sees who a contact is (name, phone) rather than a masked form: only
    officials whose scope covers where the contact lives."""
    return _covers_for_tracing(user, contact.unit)


def can_work_contact_task(user: Viewer, task: ContactTask) -> bool:
    """Follows up a contact handed to their commune."""
    return _covers_for_tracing(user, task.unit)
