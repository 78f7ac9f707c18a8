"""Declarations, declaration QR codes, checkpoint passes (issue 14).

A declaration is kept as versions: "Cập nhật tờ khai" adds a version with
the same ``series`` and marks the previous one superseded, so what was
declared before stays as it was. The QR stands for the series (its
``qr_ref``), so an update needs no new card; it shows the newest version.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeclarationKind(models.TextChoices):
    HEALTH = "health", _("Khai báo toàn dân")
    MOVEMENT = "movement", _("Khai di chuyển nội địa")


class Vehicle(models.TextChoices):
    PLANE = "plane", _("Máy bay")
    TRAIN = "train", _("Tàu hỏa")
    COACH = "coach", _("Xe khách")
    BOAT = "boat", _("Tàu thuyền")
    PRIVATE = "private", _("Phương tiện cá nhân")


class DeclSex(models.TextChoices):
    MALE = "male", _("Nam")
    FEMALE = "female", _("Nữ")
    OTHER = "other", _("Khác")


class Declaration(models.Model):
    """One version of a health or movement declaration, with the fields of
    the 2021 form (context/vietnam.md §2)."""

    series = models.UUIDField(default=uuid.uuid4, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    # Set when a newer version of the series replaces this one.
    superseded_at = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=10, choices=DeclarationKind.choices)
    # Whom it is about: the declarant's own record, or None when declared
    # for someone else (khai hộ), whose details are the declaration's own.
    person = models.ForeignKey(
        "accounts.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    on_behalf = models.BooleanField(default=False)  # khai hộ
    # The subject as declared.
    full_name = models.CharField(max_length=120)
    id_number = models.CharField(max_length=20, blank=True)
    birth_year = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=6, choices=DeclSex.choices)
    nationality = models.CharField(max_length=2, default="VN")
    commune = models.ForeignKey("places.AdministrativeUnit", on_delete=models.PROTECT,
                                related_name="+")
    street = models.CharField(max_length=200)
    phone = models.CharField(max_length=16)
    email = models.CharField(max_length=254, blank=True)
    # The questions.
    travelled = models.BooleanField(default=False)
    travel_places = models.CharField(max_length=300, blank=True)
    symptoms = models.BooleanField(default=False)
    symptoms_text = models.CharField(max_length=300, blank=True)
    contact_case = models.BooleanField(default=False)
    contact_abroad = models.BooleanField(default=False)
    contact_symptoms = models.BooleanField(default=False)
    bhyt_number = models.CharField(max_length=15, blank=True)
    consent = models.BooleanField(default=False)
    # A movement declaration adds these.
    vehicle = models.CharField(max_length=8, choices=Vehicle.choices, blank=True)
    flight_number = models.CharField(max_length=10, blank=True)
    origin = models.ForeignKey("places.AdministrativeUnit", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    origin_point = models.CharField(max_length=200, blank=True)
    destination = models.ForeignKey("places.AdministrativeUnit", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    destination_point = models.CharField(max_length=200, blank=True)
    plate = models.CharField(max_length=16, blank=True)
    seat = models.CharField(max_length=10, blank=True)
    departure_date = models.DateField(null=True, blank=True)
    # The QR: an opaque reference shared by the versions of a series.
    qr_ref = models.CharField(max_length=16, db_index=True)
    qr_revoked_at = models.DateTimeField(null=True, blank=True)
    # Follow-up by the commune's health officer (a yes to a symptom or contact).
    follow_up = models.BooleanField(default=False)
    follow_up_done_at = models.DateTimeField(null=True, blank=True)
    follow_up_done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    follow_up_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "version"], name="declaration_version"),
            models.CheckConstraint(condition=Q(consent=True), name="declaration_consent"),
            models.CheckConstraint(
                condition=Q(kind="health") | (Q(origin__isnull=False)
                                              & Q(destination__isnull=False)
                                              & Q(departure_date__isnull=False)),
                name="declaration_movement_route",
            ),
        ]
        indexes = [
            models.Index(fields=["qr_ref", "superseded_at"], name="declaration_qr_current"),
            models.Index(fields=["follow_up", "commune"], name="declaration_follow_up"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version} ({self.series})"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @property
    def contact_any(self) -> bool:
        return self.contact_case or self.contact_abroad or self.contact_symptoms


class PassDirection(models.TextChoices):
    IN = "in", _("Vào")
    OUT = "out", _("Ra")


class CheckpointPass(models.Model):
    """A declaration scanned at a checkpoint (a venue of type checkpoint).
    ``id`` is the client's UUID of the scan, so a scan queued offline and
    sent twice is recorded once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    checkpoint = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="+")
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE,
                                    related_name="passes")
    direction = models.CharField(max_length=3, choices=PassDirection.choices)
    passed_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    plate = models.CharField(max_length=16, blank=True)
    controller = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # Copied from the declaration for the officers' queues and counts.
    origin = models.ForeignKey("places.AdministrativeUnit", on_delete=models.PROTECT,
                               related_name="+")
    destination = models.ForeignKey("places.AdministrativeUnit", on_delete=models.PROTECT,
                                    related_name="+")
    # The epidemic levels of both ends when the pass was made (1-4, or None
    # when no level was set), so movements into and out of level-3/4 zones
    # are counted as they were.
    origin_level = models.PositiveSmallIntegerField(null=True, blank=True)
    destination_level = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["destination", "passed_at"], name="pass_destination"),
            models.Index(fields=["origin", "passed_at"], name="pass_origin"),
            models.Index(fields=["checkpoint", "passed_at"], name="pass_checkpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.checkpoint_id} {self.direction} {self.passed_at:%Y-%m-%d %H:%M}"


# The epidemic-level calculator's thresholds (issue 14 item 4) live in their
# own module; imported here so that Django finds the model.
from truyvet.declarations.level_thresholds import LevelThreshold  # noqa: E402,F401
