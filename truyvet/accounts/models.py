from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import AnonymousUser, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.core.masking import mask_identifier, mask_name, mask_phone
from truyvet.core.text import fold
from truyvet.places.models import Level


class Sex(models.TextChoices):
    MALE = "male", _("Nam")
    FEMALE = "female", _("Nữ")
    OTHER = "other", _("Khác")


class IdKind(models.TextChoices):
    CCCD = "cccd", _("Căn cước công dân")
    CMND = "cmnd", _("Chứng minh nhân dân")
    PASSPORT = "passport", _("Hộ chiếu")


class Person(models.Model):
    """A human being the system knows about, with or without a login: many
    people checked in at a door or vaccinated at a site have no smartphone."""

    full_name = models.CharField(max_length=120)
    name_folded = models.CharField(max_length=120, db_index=True, editable=False)
    birth_date = models.DateField(null=True, blank=True)
    # Kept even when the full date is unknown (the national QR masks day and month).
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    sex = models.CharField(max_length=6, choices=Sex.choices, blank=True)
    id_kind = models.CharField(max_length=8, choices=IdKind.choices, blank=True)
    # NULL, not "", when absent: the unique constraint must ignore people without one.
    id_number = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    phone = models.CharField(max_length=16, blank=True, db_index=True)  # E.164, +84...
    commune = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="residents",
    )
    street = models.CharField(max_length=200, blank=True)
    # The language messages to them go out in (a code of LANGUAGES); empty
    # until they choose one or first sign in: then Vietnamese.
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One record per identity document, so scans of the same card
            # find the same person instead of creating duplicates.
            models.UniqueConstraint(
                fields=["id_number"], condition=Q(id_number__isnull=False),
                name="person_id_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True) | Q(birth_year__gte=1880),
                name="person_birth_year_plausible",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_folded = fold(self.full_name)
        if self.birth_date is not None:
            self.birth_year = self.birth_date.year
        super().save(*args, **kwargs)

    @property
    def masked_id(self) -> str:
        return mask_identifier(self.id_number or "")

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_name(self) -> str:
        return mask_name(self.full_name)


class UserManager(BaseUserManager["User"]):
    def create_user(self, phone: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(phone=phone, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if "person" not in extra:
            extra["person"] = Person.objects.create(full_name=phone, phone=phone)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login: a verified Vietnamese mobile number and a password, always
    attached to the Person it belongs to."""

    phone = models.CharField(_("số điện thoại"), max_length=16, unique=True)
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="user")
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)  # may open the Django admin
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return mask_phone(self.phone)


# Whom a page, an endpoint or a permission check answers: an account or an
# anonymous visitor, as Django's ``request.user``. Services that act for
# someone take a ``User``; permission functions take a ``Viewer`` and answer
# False for anyone but an active account.
Viewer: TypeAlias = "User | AnonymousUser"


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a page behind ``login_required``, whose ``user`` is an
    account. Only an annotation for the type checker: Django still passes
    an ``HttpRequest``."""

    user: User


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("Quản trị hệ thống")
    PROVINCE_OFFICER = "province_officer", _("Cán bộ tỉnh")
    DISTRICT_OFFICER = "district_officer", _("Cán bộ huyện")
    COMMUNE_OFFICER = "commune_officer", _("Cán bộ xã")
    HEALTH_WORKER = "health_worker", _("Cán bộ y tế")


class RoleAssignment(models.Model):
    """A role held over an administrative unit and everything below it.

    Venue roles (owner, admin, controller) are memberships of venues and live
    with the venues; a citizen's role over their own data needs no row.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=20, choices=Role.choices)
    unit = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The tier the grant was made from: the widest unit through which the
    # granting officer covered ``unit``. Only that tier or a wider one may
    # revoke it (a commune officer cannot undo the district's decision).
    # NULL when a system admin or the server's console granted it: only a
    # system admin revokes those.
    granted_level = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=Level.choices
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "unit"], name="role_once_per_unit"),
            models.CheckConstraint(
                condition=Q(role="system_admin", unit__isnull=True)
                | (~Q(role="system_admin") & Q(unit__isnull=False)),
                name="role_unit_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} @ {self.unit or '*'}"


class OtpPurpose(models.TextChoices):
    REGISTER = "register", _("Đăng ký")
    RESET_PASSWORD = "reset", _("Đặt lại mật khẩu")
    VERIFY_PHONE = "verify", _("Xác minh số điện thoại")


class OneTimeCode(models.Model):
    """A 6-digit code sent by SMS. Only its hash is stored; it dies after
    ``OTP_MAX_ATTEMPTS`` wrong guesses, on first use or at ``expires_at``."""

    phone = models.CharField(max_length=16)
    purpose = models.CharField(max_length=10, choices=OtpPurpose.choices)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone", "purpose", "-created_at"], name="otp_lookup")]

    def __str__(self) -> str:
        return f"OTP {self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


class AccessToken(models.Model):
    """A bearer token for the mobile-app API; only a SHA-256 of it is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.label or self.pk}"


class PhoneChangeReason(models.TextChoices):
    CLAIM_CODE = "claim_code", _("Nhận hồ sơ bằng mã gửi tới số cũ")
    CLAIM_OFFICER = "claim_officer", _("Nhận hồ sơ, cán bộ xã xác nhận")
    MERGED = "merged", _("Chuyển sang hồ sơ đã có")


class PersonPhoneHistory(models.Model):
    """A phone number a record no longer has, and how it was replaced.

    A record's phone is never overwritten silently: whoever replaces it
    leaves the old number here, with who did it and why, so that a takeover
    can be seen and undone."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="phone_history")
    phone = models.CharField(max_length=16)
    replaced_by = models.CharField(max_length=16, blank=True)
    replaced_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=PhoneChangeReason.choices)

    class Meta:
        verbose_name_plural = "person phone history"
        indexes = [models.Index(fields=["phone"], name="phone_history_phone")]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} -> {mask_phone(self.replaced_by)}"


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("Chờ xác minh")
    CONFIRMED = "confirmed", _("Đã xác nhận")
    REJECTED = "rejected", _("Bị từ chối")
    # Another claim on the same record was confirmed first.
    CLOSED = "closed", _("Đã đóng")


class IdentityClaim(models.Model):
    """A new account's request to be joined to the record that already holds
    the ID number its holder typed when registering (a record made from a
    card scanned at a door, by an official, or by an import).

    The account works meanwhile with a record of its own that has no ID
    number. Knowing someone's name, birth date and ID number is not enough
    to join theirs: either the code sent to the phone on that record comes
    back, or an officer over ``unit`` checks the card in person (see the
    identity_claim_* services). What the claimant typed is kept beside the
    record's own values for that officer to compare.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="identity_claims")
    record = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identity_claims")
    id_number = models.CharField(max_length=20)
    full_name = models.CharField(max_length=120)
    birth_date = models.DateField(null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    # Whether the name (folded) and birth date typed agreed with the record.
    details_match = models.BooleanField()
    # Where an officer may confirm it: the record's commune, else the
    # claimant's (they may choose one when neither is known).
    unit = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.PENDING
    )
    # The code sent to the record's phone, as a keyed hash; empty when none was.
    code_hash = models.CharField(max_length=128, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="pending"),
                name="one_pending_claim_per_account",
            ),
        ]
        indexes = [models.Index(fields=["status", "unit"], name="claim_status_unit")]

    def __str__(self) -> str:
        return f"claim {self.pk} ({self.status})"


class BrowserSession(models.Model):
    """A browser signed in to an account, so that its holder can list where
    they are signed in and end any of those sessions (bearer tokens for the
    apps are listed from ``AccessToken``).

    ``session_key`` is the key the session store already holds, kept here
    only to end that session; rows go when the browser logs out, and the
    list hides those past ``expires_at``."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    user_agent = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"
