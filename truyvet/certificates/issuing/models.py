"""What we issue: signing certificates (public halves only) and the
certificates issued with them. Imported by ``certificates.models``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SigningKey(models.Model):
    """The public certificate of our CSCA or of one issuing authority's DSC.
    The private key lives outside the database (issuing/keys.py)."""

    name = models.SlugField(_("tên khoá"), max_length=63, unique=True)
    is_csca = models.BooleanField(default=False)
    # The province whose Department of Health signs with this DSC.
    authority = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", verbose_name=_("đơn vị cấp"))
    kid = models.BinaryField(max_length=8)
    certificate = models.BinaryField(_("chứng chỉ (DER)"))
    types = models.CharField(_("loại được ký"), max_length=3, blank=True)  # "vtr"
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-is_csca", "name"]
        verbose_name = _("khoá ký chứng nhận")
        verbose_name_plural = _("khoá ký chứng nhận")

    def __str__(self) -> str:
        return self.name


class CertificateKind(models.TextChoices):
    VACCINATION = "v", _("Tiêm chủng")
    TEST = "t", _("Xét nghiệm")
    RECOVERY = "r", _("Khỏi bệnh")


class CertificateStatus(models.TextChoices):
    REQUESTED = "requested", _("Chờ điểm tiêm xác minh")
    VERIFIED = "verified", _("Chờ điểm tiêm phê duyệt")
    APPROVED = "approved", _("Chờ tỉnh ký")
    ISSUED = "issued", _("Đã cấp")
    REVOKED = "revoked", _("Đã thu hồi")
    WITHDRAWN = "withdrawn", _("Đã huỷ yêu cầu")


class IssuedCertificate(models.Model):
    """One EU DCC through its three steps (QĐ 5772/QĐ-BYT): the site that
    gave the dose (or did the test) verifies the record, the site approves,
    and the province signs. The DCC's fields are frozen at the request; the
    UVCI is fixed from the start and never reused."""

    uvci = models.CharField(max_length=60, unique=True)
    person = models.ForeignKey("accounts.Person", on_delete=models.PROTECT,
                               related_name="issued_certificates")
    kind = models.CharField(max_length=1, choices=CertificateKind.choices)
    # The dose, test result or recovery certified (its id in its own table).
    record_id = models.PositiveBigIntegerField()
    site = models.ForeignKey("venues.Venue", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    authority = models.ForeignKey("places.AdministrativeUnit", on_delete=models.PROTECT,
                                  related_name="+")
    status = models.CharField(max_length=10, choices=CertificateStatus.choices)
    dcc = models.JSONField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    signing_key = models.ForeignKey(SigningKey, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    hc1 = models.TextField(blank=True)
    # The DCC revocation spec's three hashes (hex of the first 16 bytes of SHA-256).
    hash_uci = models.CharField(max_length=32, blank=True, db_index=True)
    hash_country_uci = models.CharField(max_length=32, blank=True)
    hash_signature = models.CharField(max_length=32, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    revocation_reason = models.CharField(max_length=300, blank=True)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="replaced_by")

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "record_id"], name="cert_issued_record"),
            models.Index(fields=["status", "authority"], name="cert_issued_queue"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="issued") | ~models.Q(hc1=""),
                name="cert_issued_has_hc1"),
            models.CheckConstraint(
                condition=~models.Q(status="revoked") | models.Q(revoked_at__isnull=False),
                name="cert_revoked_has_time"),
        ]

    def __str__(self) -> str:
        return self.uvci
