from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.core.masking import mask_name


class AuditAction(models.TextChoices):
    PERSON_READ = "person.read", _("Xem dữ liệu cá nhân")
    PERSON_SEARCH = "person.search", _("Tìm kiếm người")
    EXPORT = "export", _("Xuất dữ liệu")
    ROLE_GRANT = "role.grant", _("Cấp vai trò")
    ROLE_REVOKE = "role.revoke", _("Thu hồi vai trò")
    STATUS_CHANGE = "status.change", _("Đổi trạng thái")
    TRACE_RUN = "trace.run", _("Truy vết")
    IDENTITY_CLAIM = "identity.claim", _("Xác minh nhận hồ sơ")
    # Someone appeared in an official's search or a controller's lookup: one
    # row per person found, so that each sees it on "who viewed my data".
    PERSON_FOUND = "person.found", _("Có trong kết quả tra cứu")
    # A controller checked someone in (card scan or manual entry), or tried
    # to with a card or details that do not match the person's record.
    CHECKIN_BY_STAFF = "checkin.staff", _("Khai báo hộ tại địa điểm")
    CHECKIN_REFUSED = "checkin.refused", _("Khai báo hộ bị từ chối")


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError("The audit log is append-only.")


class AuditEvent(models.Model):
    """Who did what to whose data, when, why and from where.

    The application can only append: ``save`` refuses updates, deletes raise,
    and database triggers (migration 0002) refuse UPDATE and DELETE outright.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    purpose = models.CharField(max_length=300)
    # Whose personal data was touched; citizens see these rows about themselves.
    subject_person = models.ForeignKey(
        "accounts.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target = models.CharField(max_length=200, blank=True)
    # The unit the record belongs to, so admins see the log for their scope.
    unit = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject_person", "-at"], name="audit_subject_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("The audit log is append-only.")

    @property
    def actor_shown(self) -> str:
        """Who acted, as the person whose data it was sees it: an official by
        full name (they answer for what they read); venue staff, whose
        events carry ``detail["at_venue"]``, by abbreviated name and the
        venue, since everyone checked in at a door sees these. Select
        ``actor__person``."""
        if self.actor is None:
            return str(_("Hệ thống"))
        name = self.actor.person.full_name
        venue = self.detail.get("at_venue") if isinstance(self.detail, dict) else None
        if venue:
            return str(_("%(name)s (tại %(venue)s)") % {"name": mask_name(name), "venue": venue})
        return name


# --- Notification outbox -------------------------------------------------------


class OutboxChannel(models.TextChoices):
    SMS = "sms", _("Tin nhắn SMS")
    INAPP = "inapp", _("Thông báo trong ứng dụng")
    EMAIL = "email", _("Thư điện tử")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Chờ gửi")
    SENT = "sent", _("Đã gửi")
    FAILED = "failed", _("Gửi không thành công")


class OutboxMessage(models.Model):
    """One message to one recipient over one channel, written in the same
    transaction as the action that causes it and delivered later by the
    worker (``truyvet.core.tasks.outbox_deliver_due``).

    ``dedupe_key`` is unique, so the same alert enqueued twice (a retried
    request, a second click) is stored, and therefore sent, once. In-app
    messages need no transport: they are delivered, and shown in the
    recipient's inbox, as soon as they are committed.
    """

    channel = models.CharField(max_length=8, choices=OutboxChannel.choices)
    dedupe_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40, blank=True)  # e.g. "exposure.contact"
    recipient_person = models.ForeignKey(
        "accounts.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    phone = models.CharField(max_length=16, blank=True)
    email = models.EmailField(blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    link = models.CharField(max_length=300, blank=True)  # a page of this site, for in-app
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["recipient_user", "channel", "-created_at"], name="outbox_inbox"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(channel="sms") | ~models.Q(phone=""),
                name="outbox_sms_has_phone",
            ),
            models.CheckConstraint(
                condition=~models.Q(channel="email") | ~models.Q(email=""),
                name="outbox_email_has_address",
            ),
            models.CheckConstraint(
                condition=~models.Q(channel="inapp") | models.Q(recipient_user__isnull=False),
                name="outbox_inapp_has_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.dedupe_key} ({self.status})"
