"""The Hạ Lang demo's venue step: about 300 venues in all 13 communes, the
places the district's directive names, owners and controllers, and nothing
added twice."""

from __future__ import annotations

from truyvet.core.models import AuditEvent
from truyvet.site.demo import demo_accounts, demo_venues
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus, VenueType


def test_the_demo_registers_about_300_venues_across_ha_lang_once(units) -> None:
    said: list[str] = []
    demo_accounts(said.append)

    demo_venues(said.append)

    venues = Venue.objects.filter(commune__parent=units.ha_lang)
    assert 280 <= venues.count() <= 320
    assert venues.values("commune").distinct().count() == 13
    assert venues.filter(status=VenueStatus.ACTIVE).count() == venues.count()
    for name, commune in (
        ("Ủy ban nhân dân huyện Hạ Lang", "Thị trấn Thanh Nhật"),
        ("Trung tâm Y tế huyện Hạ Lang", "Thị trấn Thanh Nhật"),
        ("Chốt kiểm dịch cửa khẩu Lý Vạn", "Xã Minh Long"),
        ("Trạm Y tế xã An Lạc", "Xã An Lạc"),
        ("UBND xã Thị Hoa", "Xã Thị Hoa"),
    ):
        assert venues.get(name=name).commune.name == commune
    assert venues.filter(venue_type=VenueType.HEALTH, name__startswith="Trạm Y tế").count() == 13
    owned = VenueStaff.objects.filter(user__phone="+84901000007", role=StaffRole.OWNER)
    assert owned.count() == 3
    works_at = VenueStaff.objects.filter(user__phone="+84901000008",
                                         role=StaffRole.CONTROLLER)
    assert works_at.count() == 5
    assert VenueStaff.objects.filter(role=StaffRole.OWNER).count() == venues.count()
    assert not venues.filter(possible_duplicate_of__isnull=False).exists()

    before = (Venue.objects.count(), VenueStaff.objects.count(), AuditEvent.objects.count())
    names = sorted(venues.values_list("name", flat=True))
    demo_venues(said.append)

    assert (Venue.objects.count(), VenueStaff.objects.count(),
            AuditEvent.objects.count()) == before
    assert sorted(Venue.objects.filter(commune__parent=units.ha_lang)
                  .values_list("name", flat=True)) == names
