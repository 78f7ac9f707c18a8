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

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from truyvet.certificates.issuing.models import CertificateKind as CertificateKind
from truyvet.certificates.issuing.models import CertificateStatus as CertificateStatus
from truyvet.certificates.issuing.models import IssuedCertificate as IssuedCertificate
from truyvet.certificates.issuing.models import SigningKey as SigningKey


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


# --- Test results and recoveries (issue 16) ----------------------------------------
#
# The inputs of the card colour (``colour.py``) and of DCC test (``t``) and
# recovery (``r``) entries. The DCC value-set codes each row maps to are
# below, next to the choices they map (value sets of the EU eHN, see
# data/valuesets/): DCC builders read them through the ``dcc_*`` properties.

DCC_DISEASE_COVID19 = "840539006"  # disease-agent-targeted: COVID-19 (SNOMED CT)


class TestKind(models.TextChoices):
    PCR = "pcr", _("RT-PCR")
    RAPID = "rapid", _("Test nhanh kháng nguyên")


class TestOutcome(models.TextChoices):
    NEGATIVE = "negative", _("Âm tính")
    POSITIVE = "positive", _("Dương tính")


class TestSource(models.TextChoices):
    ENTERED = "entered", _("Nhập tại điểm xét nghiệm")
    IMPORTED = "imported", _("Nhập từ tệp XLSX")


# test-type value set: LOINC "nucleic acid amplification" and "rapid immunoassay".
DCC_TEST_TYPE: dict[str, str] = {TestKind.PCR: "LP6464-4", TestKind.RAPID: "LP217198-3"}
# test-result value set (SNOMED CT): not detected / detected.
DCC_TEST_RESULT: dict[str, str] = {
    TestOutcome.NEGATIVE: "260415000", TestOutcome.POSITIVE: "260373001",
}


class TestResult(models.Model):
    """One test of one person: PCR or rapid antigen, its result and when the
    sample was taken, at a testing site (a venue of type "testing")."""

    __test__ = False  # not a pytest class, whatever its name

    person = models.ForeignKey(
        "accounts.Person", on_delete=models.PROTECT, related_name="test_results",
        verbose_name=_("người được xét nghiệm"),
    )
    kind = models.CharField(_("loại xét nghiệm"), max_length=8, choices=TestKind.choices)
    result = models.CharField(_("kết quả"), max_length=8, choices=TestOutcome.choices)
    sampled_at = models.DateTimeField(_("thời điểm lấy mẫu"))
    facility = models.ForeignKey(
        "venues.Venue", on_delete=models.PROTECT, related_name="+",
        verbose_name=_("điểm xét nghiệm"),
    )
    # For a rapid test, the device's identifier in the EU list of rapid
    # antigen tests (DCC "ma"); for a PCR, the test's name (DCC "nm"). Optional.
    test_name = models.CharField(_("tên xét nghiệm"), max_length=120, blank=True)
    device_id = models.CharField(_("mã thiết bị test nhanh"), max_length=20, blank=True)
    source = models.CharField(
        _("nguồn"), max_length=8, choices=TestSource.choices, default=TestSource.ENTERED
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("người nhập"),
    )
    created_at = models.DateTimeField(_("thời điểm nhập"), auto_now_add=True)

    class Meta:
        ordering = ["-sampled_at", "-id"]
        verbose_name = _("kết quả xét nghiệm")
        verbose_name_plural = _("kết quả xét nghiệm")
        indexes = [models.Index(fields=["person", "-sampled_at"], name="testresult_person_sampled")]
        constraints = [
            # The same sample is recorded once, however often a file is re-imported.
            models.UniqueConstraint(
                fields=["person", "kind", "sampled_at", "facility"],
                name="testresult_one_per_sample",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_result_display()} {self.sampled_at:%Y-%m-%d}"

    @property
    def dcc_disease(self) -> str:
        return DCC_DISEASE_COVID19

    @property
    def dcc_test_type(self) -> str:
        return DCC_TEST_TYPE[self.kind]

    @property
    def dcc_result(self) -> str:
        return DCC_TEST_RESULT[self.result]


# A recovery certificate is valid from 11 days after the first positive test
# and for at most 180 days after it (EU Regulation 2021/953, Annex; the same
# 180 days are the default colour rule's).
RECOVERY_VALID_FROM_DAYS = 11
RECOVERY_VALID_DAYS = 180


class Recovery(models.Model):
    """A person who recovered: from a tracing case closed as recovered (one
    recovery per case), with the date of their first positive test."""

    person = models.ForeignKey(
        "accounts.Person", on_delete=models.PROTECT, related_name="recoveries",
        verbose_name=_("người khỏi bệnh"),
    )
    first_positive_on = models.DateField(_("ngày xét nghiệm dương tính đầu tiên"))
    recovered_on = models.DateField(_("ngày khỏi bệnh (đóng ca)"))
    case = models.OneToOneField(
        "tracing.Case", on_delete=models.PROTECT, null=True, blank=True,
        related_name="recovery", verbose_name=_("ca bệnh"),
    )
    created_at = models.DateTimeField(_("thời điểm ghi nhận"), auto_now_add=True)

    class Meta:
        ordering = ["-recovered_on", "-id"]
        verbose_name = _("người khỏi bệnh")
        verbose_name_plural = _("người khỏi bệnh")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recovered_on__gte=models.F("first_positive_on")),
                name="recovery_after_first_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.first_positive_on}→{self.recovered_on}"

    @property
    def dcc_disease(self) -> str:
        return DCC_DISEASE_COVID19

    @property
    def dcc_valid_from(self) -> date:
        return self.first_positive_on + timedelta(days=RECOVERY_VALID_FROM_DAYS)

    @property
    def dcc_valid_until(self) -> date:
        return self.first_positive_on + timedelta(days=RECOVERY_VALID_DAYS)


# --- The COVID card colour's rules (issue 16) --------------------------------------


class ColourRule(models.Model):
    """The card colour's rules for a province (or, with no province, the
    whole country) from a day on. A change is a new row with a later
    ``effective_from``: rows are never edited, so the rules that applied on
    any day can be read back, and each new row is audited. Where no row
    applies, the built-in defaults (``colour.DEFAULT_RULE``) do."""

    province = models.ForeignKey(
        "places.AdministrativeUnit", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("tỉnh/thành phố"),
    )
    effective_from = models.DateField(_("áp dụng từ ngày"))
    # Green: a full primary course plus this many days, or recovered within
    # ``recovery_days``. Yellow: a first dose plus ``first_dose_days``, or a
    # negative PCR within ``pcr_hours`` (a rapid test within
    # ``rapid_hours``; 0 = a rapid test does not count). Red: a positive test
    # within ``positive_days`` that no recovery followed; otherwise.
    full_course_days = models.PositiveSmallIntegerField(_("số ngày sau khi tiêm đủ liều"))
    recovery_days = models.PositiveSmallIntegerField(_("số ngày sau khi khỏi bệnh"))
    first_dose_days = models.PositiveSmallIntegerField(_("số ngày sau mũi 1"))
    pcr_hours = models.PositiveSmallIntegerField(_("số giờ hiệu lực của PCR âm tính"))
    rapid_hours = models.PositiveSmallIntegerField(_("số giờ hiệu lực của test nhanh âm tính"))
    positive_days = models.PositiveSmallIntegerField(_("số ngày thẻ đỏ sau khi dương tính"))
    reason = models.CharField(_("lý do thay đổi"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("người ban hành"),
    )
    created_at = models.DateTimeField(_("thời điểm ghi"), auto_now_add=True)

    class Meta:
        ordering = ["province_id", "-effective_from"]
        verbose_name = _("quy tắc màu thẻ")
        verbose_name_plural = _("quy tắc màu thẻ")
        constraints = [
            models.UniqueConstraint(fields=["province", "effective_from"],
                                    name="colourrule_one_per_day"),
            models.UniqueConstraint(fields=["effective_from"],
                                    condition=models.Q(province__isnull=True),
                                    name="colourrule_one_national_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.province_id or 'VN'} {self.effective_from}"
