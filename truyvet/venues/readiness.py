"""Whether a venue takes check-ins: the one rule, owned by venues.

Every path that records a visit (a citizen's own scan, the guest form, a
controller's scan or manual entry, an offline batch) asks ``venue_refusal``
just before it writes, and the scan page uses the same rule to say why a
poster takes nothing. It reads only the venue's own columns (``status``,
``staff_checkins_from``), already loaded with the venue, so it costs no
query on the check-in path.

- Only an *active* venue takes check-ins. A pending one awaits an officer's
  approval (``VENUE_REQUIRE_APPROVAL``), a suspended or closed one was
  stopped by an officer.
- Its staff may record *other people's* visits (door scans, manual entries)
  only from ``staff_checkins_from``: at once for a venue an officer
  registered, imported or approved; ``VENUE_STAFF_CHECKIN_WAIT_HOURS`` after
  its owner registered it or moved it to another commune otherwise
  (docs/decisions/0003-venue-approval.md). Until then anyone who registers a
  venue could check anyone in; visitors' own scans of its poster only ever
  record themselves, so they are taken at once.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truyvet.core.errors import ServiceError
from truyvet.venues.models import Venue, VenueStatus

_INACTIVE: dict[str, Promise] = {
    VenueStatus.PENDING: _("Địa điểm này đang chờ cán bộ duyệt, chưa nhận khai báo ra vào."),
    VenueStatus.SUSPENDED: _("Địa điểm này đang tạm dừng hoạt động, không nhận khai báo ra vào."),
    VenueStatus.CLOSED: _("Địa điểm này đã đóng cửa, không nhận khai báo ra vào."),
}


def venue_refusal(
    venue: Venue, *, by_staff: bool = False, now: datetime | None = None
) -> ServiceError | None:
    """Why ``venue`` takes no check-in now, or None when it takes one.
    ``by_staff``: the visit is someone else's, recorded by the venue's staff.

    ``venue_inactive`` (409) for a venue that is not active, with a message
    saying whether it awaits approval, is suspended or is closed;
    ``venue_awaiting_approval`` (409) for staff of a venue still waiting."""
    if not venue.accepts_checkins:
        return ServiceError(_INACTIVE.get(venue.status, _INACTIVE[VenueStatus.CLOSED]),
                            code="venue_inactive", status=409)
    if by_staff and venue.awaits_staff_approval(now):
        when = formats.date_format(timezone.localtime(venue.staff_checkins_from),
                                   "SHORT_DATETIME_FORMAT")
        return ServiceError(
            _("Địa điểm mới đăng ký: người kiểm soát chỉ được khai báo hộ người khác sau khi cán "
              "bộ xã duyệt địa điểm, hoặc từ %(when)s. Khách vẫn tự quét mã QR của địa điểm "
              "được.") % {"when": when},
            code="venue_awaiting_approval", status=409,
        )
    return None


def venue_require_ready(
    venue: Venue, *, by_staff: bool = False, now: datetime | None = None
) -> None:
    """Raises ``venue_refusal``'s error, if any."""
    refusal = venue_refusal(venue, by_staff=by_staff, now=now)
    if refusal is not None:
        raise refusal
