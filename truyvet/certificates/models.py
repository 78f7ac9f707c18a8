"""Trust lists and verification counts.

A ``TrustList`` keeps one imported file as it was imported (a DSC list, one
certificate, an SHC issuer's JWKS, an SHC CRL, a DCC revocation batch); the
verifier parses all of them into one in-memory ``TrustStore``
(selectors.trust_store). Importing a list under a name it already has
refreshes it.

Verifying stores no personal data: ``VerificationTally`` counts verifications
per day, kind and outcome, and nothing else.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from truyvet.certificates.issuing.models import (  # noqa: F401 - the app's models
    CertificateKind,
    CertificateStatus,
    IssuedCertificate,
    SigningKey,
)


class TrustListKind(models.TextChoices):
    DSC = "dsc", _("Chứng chỉ ký EU DCC (DSC)")
    SHC_ISSUER = "shc_issuer", _("Khoá của đơn vị cấp SMART Health Card (JWKS)")
    SHC_CRL = "shc_crl", _("Danh sách thu hồi SMART Health Card (CRL)")
    DCC_REVOCATION = "dcc_revocation", _("Danh sách thu hồi EU DCC")


class TrustList(models.Model):
    name = models.CharField(_("tên"), max_length=200, unique=True)
    kind = models.CharField(_("loại"), max_length=20, choices=TrustListKind.choices)
    # SHC issuer keys apply to this issuer (the cards' "iss") only.
    issuer_url = models.CharField(_("đơn vị cấp (iss)"), max_length=500, blank=True)
    content = models.BinaryField(_("nội dung"))
    entry_count = models.PositiveIntegerField(_("số mục"), default=0)
    refreshed_at = models.DateTimeField(_("cập nhật lần cuối"))
    refreshed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("người cập nhật"),
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("danh sách tin cậy")
        verbose_name_plural = _("danh sách tin cậy")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="shc_issuer") | ~models.Q(issuer_url=""),
                name="certificates_trustlist_issuer_has_url",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VerificationTally(models.Model):
    """How many credentials of one kind were verified on one UTC day, with
    which outcome. Who, what and whose are never stored."""

    day = models.DateField()
    kind = models.CharField(max_length=10)
    valid = models.BooleanField()
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "valid"],
                                    name="certificates_tally_one_row"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {'valid' if self.valid else 'invalid'}: {self.count}"
