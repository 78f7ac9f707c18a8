from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.core.text import fold


class VenueType(models.TextChoices):
    GOVERNMENT = "government", _("Cơ quan nhà nước")
    SCHOOL = "school", _("Trường học")
    HEALTH = "health", _("Bệnh viện/trạm y tế")
    MARKET = "market", _("Chợ")
    SHOP = "shop", _("Siêu thị/cửa hàng")
    RESTAURANT = "restaurant", _("Nhà hàng/quán ăn")
    LODGING = "lodging", _("Khách sạn/nhà nghỉ")
    TRANSPORT = "transport", _("Bến xe/nhà ga")
    BUSINESS = "business", _("Doanh nghiệp/nhà máy")
    RELIGIOUS = "religious", _("Cơ sở tôn giáo")
    CHECKPOINT = "checkpoint", _("Chốt kiểm dịch")
    # A vaccination site (issue 15): its staff record doses and review
    # corrections through the same staff roles as any venue.
    VACCINATION = "vaccination", _("Điểm tiêm chủng")
    # A testing site (issue 16): its staff enter PCR and rapid test results.
    TESTING = "testing", _("Điểm xét nghiệm")
    OTHER = "other", _("Khác")


# How long a visit lasts when nobody checks out: posters record arrivals only
# (BRIEF §5), so tracing estimates departure from the kind of place.
DEFAULT_DWELL_MINUTES: dict[str, int] = {
    VenueType.GOVERNMENT: 60,
    VenueType.SCHOOL: 300,
    VenueType.HEALTH: 120,
    VenueType.MARKET: 60,
    VenueType.SHOP: 30,
    VenueType.RESTAURANT: 60,
    VenueType.LODGING: 720,
    VenueType.TRANSPORT: 60,
    VenueType.BUSINESS: 480,
    VenueType.RELIGIOUS: 90,
    VenueType.CHECKPOINT: 10,
    VenueType.VACCINATION: 60,  # a wait, the shot and 30 minutes of observation
    VenueType.TESTING: 30,  # a queue and a swab
    VenueType.OTHER: 60,
}


class VenueStatus(models.TextChoices):
    PENDING = "pending", _("Chờ duyệt")
    ACTIVE = "active", _("Đang hoạt động")
    SUSPENDED = "suspended", _("Tạm dừng")
    CLOSED = "closed", _("Đã đóng")


class Venue(models.Model):
    """A place with a QR poster. ``code`` is its short public identifier;
    ``qr_version`` is bumped to revoke every poster printed so far."""

    code = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=200)
    name_folded = models.CharField(max_length=200, db_index=True, editable=False)
    venue_type = models.CharField(max_length=12, choices=VenueType.choices)
    commune = models.ForeignKey(
        "places.AdministrativeUnit", on_delete=models.PROTECT, related_name="venues"
    )
    street = models.CharField(max_length=200, blank=True)
    # Folded "name|street" used to flag likely duplicates within a commune.
    dedup_key = models.CharField(max_length=420, db_index=True, editable=False)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    contact_phone = models.CharField(max_length=16)
    contact_phone_verified_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=VenueStatus.choices, default=VenueStatus.PENDING
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    # From when the venue's staff may record other people's visits (door scans
    # and manual entries): at once when an officer registered or approved it;
    # VENUE_STAFF_CHECKIN_WAIT_HOURS after its owner registered or moved it
    # otherwise (venues.readiness, docs/decisions/0003).
    staff_checkins_from = models.DateTimeField(default=timezone.now)
    qr_version = models.PositiveIntegerField(default=1)
    # Overrides DEFAULT_DWELL_MINUTES for this venue when set.
    dwell_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    possible_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["commune", "status"], name="venue_commune_status"),
            # Covers the dashboards' venue counts by commune, type and status
            # (registered before a date for a past period), so a province's
            # 100,000 venues are counted from the index alone, in commune order.
            models.Index(fields=["commune", "venue_type", "status", "created_at"],
                         name="venue_count_cover"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True)
                | models.Q(latitude__gte=-90, latitude__lte=90),
                name="venue_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True)
                | models.Q(longitude__gte=-180, longitude__lte=180),
                name="venue_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_folded = fold(self.name)
        self.dedup_key = self.make_dedup_key(self.name, self.street)
        super().save(*args, **kwargs)

    @staticmethod
    def make_dedup_key(name: str, street: str) -> str:
        return f"{fold(name)}|{fold(street)}"

    @property
    def effective_dwell_minutes(self) -> int:
        return self.dwell_minutes or DEFAULT_DWELL_MINUTES.get(self.venue_type, 60)

    @property
    def accepts_checkins(self) -> bool:
        """Only active venues take check-ins: pending ones await an officer's
        approval, suspended and closed ones were stopped by one. Whether its
        staff may also record other people is ``venues.readiness``'s rule."""
        return self.status == VenueStatus.ACTIVE

    def awaits_staff_approval(self, now: Any = None) -> bool:
        """Its staff may not record other people's visits yet: an officer has
        not approved it and the waiting time has not passed."""
        return self.staff_checkins_from > (now or timezone.now())

    @property
    def address(self) -> str:
        """"Tổ 1, Thị trấn Thanh Nhật, Huyện Hạ Lang, Tỉnh Cao Bằng"; select the
        commune's parents to avoid a query per level."""
        return ", ".join(part for part in (self.street, self.commune.full_name) if part)


class StaffRole(models.TextChoices):
    OWNER = "owner", _("Chủ địa điểm")
    ADMIN = "admin", _("Quản trị địa điểm")
    CONTROLLER = "controller", _("Người kiểm soát")


class VenueStaff(models.Model):
    """A phone number attached to a venue with a role. ``user`` is empty while
    the person has been invited by SMS but has no account yet; it is filled in
    when they register with that number.

    ``accepted_at`` is empty while the membership is an invitation from the
    venue's owner or admin that its holder has not accepted: it grants
    nothing yet, and the venue sees neither the holder's name nor more than
    "has an account" (adding phone numbers must not look up who holds them).
    Places given by an officer, and owners recorded with a venue, start
    accepted."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="staff")
    phone = models.CharField(max_length=16)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="venue_roles",
    )
    role = models.CharField(max_length=10, choices=StaffRole.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    added_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["venue", "phone"], name="staff_once_per_venue"),
        ]
        indexes = [models.Index(fields=["phone"], name="staff_phone")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.phone} @ {self.venue_id}"
