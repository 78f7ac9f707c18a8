"""What the door attacks of issue 12 need: a venue an officer approved a
month ago with the controller persona at its door (so nothing but the
protection under test stands in the way), and chip ID card QR texts, which
are plain text anyone can type."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueType
from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add

# Nguyễn Thị Hoa, the citizen persona: an account, this CCCD, born 17/05/1990.
HOA_ID = "004190123456"
HOA_PHONE = "0912000007"


def cccd_text(*, number: str, name: str, birth: str, sex: str = "Nữ", cmnd: str = "") -> str:
    """A chip ID card's QR: CCCD|CMND|name|DDMMYYYY|sex|address|issue date."""
    return f"{number}|{cmnd}|{name}|{birth}|{sex}|Thị trấn Thanh Nhật, Hạ Lang|01012022"


def establish(venue: Venue, *, days: int = 30) -> Venue:
    """The venue was approved, and its staff joined, ``days`` ago."""
    since = timezone.now() - timedelta(days=days)
    Venue.objects.filter(pk=venue.pk).update(staff_checkins_from=since)
    VenueStaff.objects.filter(venue=venue).update(added_at=since)
    venue.refresh_from_db()
    return venue


def door(personas: Any, *, name: str = "Quán Phở Thanh Nhật", established: bool = True) -> Venue:
    """A restaurant in Thanh Nhật registered by the district officer for the
    venue owner, the controller persona at its door."""
    venue = venue_register(
        actor=personas.district_officer, name=name, venue_type=VenueType.RESTAURANT,
        commune=personas.units.thanh_nhat, street="Phố Thanh Nhật",
        contact_phone=personas.venue_owner.phone,
    )
    invited = venue_staff_add(actor=personas.venue_owner, venue=venue,
                              phone=personas.controller.phone, role=StaffRole.CONTROLLER,
                              notify=False)
    venue_staff_accept(user=personas.controller, staff=invited)
    return establish(venue) if established else venue
