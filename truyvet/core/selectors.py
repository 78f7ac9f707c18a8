"""Reads owned by core: the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from truyvet.core.models import AuditEvent
from truyvet.core.permissions import OFFICER_ROLES, is_system_admin, scope_units


def audit_events_visible_to(
    user: Any, *, action: str | None = None, since: datetime | None = None
) -> QuerySet[AuditEvent]:
    """The events an officer may read: those filed under a unit in their scope
    (admins: all)."""
    events = AuditEvent.objects.select_related("actor", "unit", "subject_person")
    if not is_system_admin(user):
        condition = Q(pk__in=[])
        for unit in scope_units(user, OFFICER_ROLES):
            condition |= Q(unit__path__startswith=unit.path)
        events = events.filter(condition)
    if action:
        events = events.filter(action=action)
    if since:
        events = events.filter(at__gte=since)
    return events


def audit_events_about(person_id: int) -> QuerySet[AuditEvent]:
    """What officials did with this person's data, for the person to see."""
    return (
        AuditEvent.objects.filter(subject_person_id=person_id)
        .exclude(actor__person_id=person_id)
        .select_related("actor", "actor__person")
    )


def home_sections_for(user: Any) -> list[dict[str, Any]]:
    """The blocks a user's home page shows, one per kind of work they do.

    Each later domain adds its links here; the page itself has no role logic.
    """
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from truyvet.core import permissions

    if not getattr(user, "is_authenticated", False):
        return []
    from truyvet.checkins.selectors import home_links_for
    from truyvet.reports.selectors import home_links_for as report_links_for
    from truyvet.tracing.selectors import home_links_for as tracing_links_for
    from truyvet.vaccination.selectors import home_links_for as vaccination_links_for
    from truyvet.venues.selectors import home_links_for as venue_links_for

    checkin_links = home_links_for(user)
    venue_links = venue_links_for(user)
    tracing_links = tracing_links_for(user)
    vaccination_links = vaccination_links_for(user)
    sections: list[dict[str, Any]] = [
        {
            "title": _("Của tôi"),
            "links": [(reverse("accounts:profile"), _("Thông tin cá nhân")),
                      *checkin_links["mine"], *venue_links["mine"], *tracing_links["mine"],
                      *vaccination_links["mine"]],
        }
    ]
    if checkin_links["control"]:
        sections.append({"title": _("Kiểm soát ra vào"), "links": checkin_links["control"]})
    if vaccination_links["official"] and not permissions.is_official(user):
        # Site staff without an official role: their vaccination sites.
        sections.append({"title": _("Tiêm chủng"), "links": vaccination_links["official"]})
    if permissions.is_official(user):
        links = [(reverse("accounts:people"), _("Tra cứu người dân"))]
        if permissions.is_officer(user):
            links.append((reverse("accounts:roles"), _("Phân quyền cán bộ")))
            links.append((reverse("accounts:audit"), _("Nhật ký truy cập")))
        links.extend(venue_links["official"])
        links.extend(tracing_links["official"])
        links.extend(report_links_for(user))
        links.extend(vaccination_links["official"])
        if permissions.is_officer(user):
            links.append((reverse("places:population"), _("Số dân theo xã")))
        links.append((reverse("places:search"), _("Đơn vị hành chính")))
        sections.append({"title": _("Công việc cán bộ"), "links": links})
    return sections
