"""Reads of check-ins, each scoped to who is asking.

A citizen reads their own visits. A controller looks people up at the venue
they stand at, masked and audited. Nobody else lists a person's movements:
officials reach visits only through a case (tracing, issue 5), never here.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.checkins.models import CheckIn
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.core.text import fold
from truyvet.venues import permissions as venue_permissions
from truyvet.venues.models import StaffRole, Venue, VenueStaff

HISTORY_DAYS = 21
LOOKUP_LIMIT = 10
_DIGITS = re.compile(r"\d")
_VENUE_RELATED = ("venue", "venue__commune", "venue__commune__parent",
                  "venue__commune__parent__parent")


def checkins_of_me(*, user: Any, days: int = HISTORY_DAYS) -> QuerySet[CheckIn]:
    """The user's own visits of the last ``days`` days, newest first, with
    each venue's commune and its parents (for "Nơi đã đến")."""
    if not getattr(user, "is_authenticated", False):
        return CheckIn.objects.none()
    since = timezone.now() - timedelta(days=days)
    return (
        CheckIn.objects.filter(person_id=user.person_id, arrived_at__gte=since)
        .select_related(*_VENUE_RELATED)
        .order_by("-arrived_at")
    )


def checkin_of_me(*, user: Any, checkin_id: uuid.UUID | str) -> CheckIn:
    """One of the user's own visits; NotFound for anyone else's."""
    try:
        key = uuid.UUID(str(checkin_id))
    except ValueError:
        raise NotFound(_("Không tìm thấy lượt đến này.")) from None
    person_id = getattr(user, "person_id", None)
    found = (
        CheckIn.objects.select_related(*_VENUE_RELATED).filter(pk=key, person_id=person_id).first()
        if person_id is not None else None
    )
    if found is None:
        raise NotFound(_("Không tìm thấy lượt đến này."))
    return found


def checkin_by_id(checkin_id: uuid.UUID | str) -> CheckIn:
    """A visit by id for a service that checks access itself (check-out with
    a guest token); NotFound when the id is unknown or malformed."""
    try:
        key = uuid.UUID(str(checkin_id))
    except ValueError:
        raise NotFound(_("Không tìm thấy lượt đến này.")) from None
    found = CheckIn.objects.select_related(*_VENUE_RELATED).filter(pk=key).first()
    if found is None:
        raise NotFound(_("Không tìm thấy lượt đến này."))
    return found


def venues_scannable_by(user: Any) -> QuerySet[Venue]:
    """The venues the user checks people in at (owner, admin or controller),
    by name."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Venue.objects.none()
    venue_ids = VenueStaff.objects.filter(
        user_id=user.pk,
        role__in=[StaffRole.OWNER, StaffRole.ADMIN, StaffRole.CONTROLLER],
    ).values("venue_id")
    return (
        Venue.objects.filter(pk__in=venue_ids)
        .select_related("commune", "commune__parent", "commune__parent__parent")
        .order_by("name_folded", "pk")
    )


def venue_for_controller(*, user: Any, code: str) -> Venue:
    """The venue with ``code`` if the user scans there; NotFound otherwise
    (the same answer whether the code exists or not)."""
    venue = (
        Venue.objects.select_related("commune", "commune__parent", "commune__parent__parent")
        .filter(code=(code or "").strip().upper())
        .first()
    )
    if venue is None or not venue_permissions.can_scan_at_venue(user, venue):
        raise NotFound(_("Không tìm thấy địa điểm bạn kiểm soát với mã này."))
    return venue


def people_lookup(
    *, controller: Any, venue: Venue, query: str, request: HttpRequest | None = None
) -> list[Person]:
    """People a controller may pick for a manual entry at ``venue``.

    Only people in the venue's context are found: its visitors within the
    retention period, and (by number only) the residents of its commune.
    Text with digits must be a whole phone number or document number (the
    visitor tells it at the door; no prefix search, so numbers cannot be
    enumerated). Text without digits matches the names of its visitors.
    Anyone else is simply typed in, and the manual entry finds them by
    document number or phone and name. At most 10 results; the caller shows
    them masked. Every lookup is audited under the venue's commune.
    """
    if not venue_permissions.can_scan_at_venue(controller, venue):
        raise NotAllowed(
            _("Bạn không phải người kiểm soát của địa điểm này."), code="not_venue_staff"
        )
    text = " ".join((query or "").split())[:100]
    since = timezone.now() - timedelta(days=settings.CHECKIN_RETENTION_DAYS)
    visitors = Q(pk__in=CheckIn.objects.filter(venue=venue, arrived_at__gte=since).values(
        "person_id"
    ))
    condition: Q | None = None
    kind = ""
    if _DIGITS.search(text):
        kind = "number"
        compact = re.sub(r"\s", "", text).upper()
        number = Q(id_number=compact)
        try:
            number |= Q(phone=normalize_phone(text))
        except PhoneError:
            pass
        condition = number & (visitors | Q(commune_id=venue.commune_id))
    elif len(fold(text)) >= 2:
        kind = "name"
        condition = visitors & Q(name_folded__contains=fold(text))
    if condition is None:
        return []
    with transaction.atomic():
        found = list(Person.objects.filter(condition).order_by("name_folded", "pk")[:LOOKUP_LIMIT])
        audit_record(
            actor=controller,
            action=AuditAction.PERSON_SEARCH,
            purpose=str(_("Tra cứu người đến để khai báo hộ tại địa điểm")),
            request=request,
            unit=venue.commune,
            target=f"venue:{venue.code}",
            detail={"kind": kind, "results": len(found), "person_ids": [p.pk for p in found]},
        )
    return found


def home_links_for(user: Any) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page: ``"mine"`` for everyone logged in, and
    ``"control"`` for venue staff (truyvet.site.selectors.home_sections_for)."""
    from django.urls import reverse
    from django.utils.translation import gettext

    if not getattr(user, "is_authenticated", False):
        return {"mine": [], "control": []}
    mine = [
        (reverse("checkins:personal_qr"), gettext("Mã QR cá nhân")),
        (reverse("checkins:history"), gettext("Nơi đã đến")),
    ]
    control = []
    if venues_scannable_by(user).exists():
        control.append((reverse("checkins:control_index"), gettext("Kiểm soát ra vào")))
    return {"mine": mine, "control": control}
