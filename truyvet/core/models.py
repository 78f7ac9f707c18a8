from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    PERSON_READ = "person.read", _("Xem dữ liệu cá nhân")
    PERSON_SEARCH = "person.search", _("Tìm kiếm người")
    EXPORT = "export", _("Xuất dữ liệu")
    ROLE_GRANT = "role.grant", _("Cấp vai trò")
    ROLE_REVOKE = "role.revoke", _("Thu hồi vai trò")
    STATUS_CHANGE = "status.change", _("Đổi trạng thái")
    TRACE_RUN = "trace.run", _("Truy vết")


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
