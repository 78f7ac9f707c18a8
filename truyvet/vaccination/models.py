"""Tables of vaccination: the products, dose records and their history,
imports of the sites' lists, correction requests (phản ánh) with their
evidence, and the coverage rollups.

A vaccination site is a venue of type ``VenueType.VACCINATION``: its staff
(owner, admin, controller) are the venue's, and so are its commune and code.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- Products ---------------------------------------------------------------------------


class Vaccine(models.Model):
    """A COVID-19 vaccine licensed in Vietnam, mapped to the EU DCC value
    sets (medicinal product ``mp``, marketing authorisation holder or
    manufacturer ``ma``, vaccine type ``vp``) as the 2022 vaccine passport
    required (QĐ 5772/QĐ-BYT). Loaded by migration 0002; the nine products
    of 2021 are fixed facts, so the table is read-only in the admin."""

    code = models.CharField(max_length=20, primary_key=True)  # "astrazeneca"
    name = models.CharField(max_length=80)  # as the sites' lists and cards say it
    manufacturer = models.CharField(max_length=120)
    dcc_product = models.CharField(max_length=60)  # vaccine-medicinal-product.json
    dcc_manufacturer = models.CharField(max_length=60)  # vaccine-mah-manf.json
    dcc_vaccine_type = models.CharField(max_length=20)  # vaccine-prophylaxis.json
    primary_doses = models.PositiveSmallIntegerField()  # Janssen: 1
    # The shortest interval between two primary doses the product's label allows.
    min_interval_days = models.PositiveSmallIntegerField()
    licensed_on = models.DateField()  # emergency use in Vietnam
    # Folded spellings people write in the lists ("astra", "az", "vero cell"), one a line.
    aliases = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)  # order in lists

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(primary_doses__gte=1),
                                   name="vaccine_primary_doses_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class VaccineMix(models.Model):
    """A dated rule letting a primary course continue with another product
    (Aug 2021: AstraZeneca then Pfizer; from 8 Sep 2021 also AstraZeneca
    then Moderna and Moderna and Pfizer either way). Any other change of
    product within a primary course is a deviation that needs a reason."""

    previous = models.ForeignKey(Vaccine, on_delete=models.CASCADE, related_name="+")
    following = models.ForeignKey(Vaccine, on_delete=models.CASCADE, related_name="+")
    allowed_from = models.DateField()
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["previous", "following"], name="vaccine_mix_once"),
        ]

    def __str__(self) -> str:
        return f"{self.previous_id} → {self.following_id} from {self.allowed_from}"


# --- Dose records -----------------------------------------------------------------------


class DoseKind(models.TextChoices):
    PRIMARY = "primary", _("Mũi cơ bản")
    ADDITIONAL = "additional", _("Mũi bổ sung")
    BOOSTER = "booster", _("Mũi nhắc lại")


class DoseSource(models.TextChoices):
    ENTERED = "entered", _("Nhập tại điểm tiêm")
    IMPORTED = "imported", _("Nhập từ danh sách")
    CORRECTED = "corrected", _("Bổ sung theo phản ánh")


class Dose(models.Model):
    """One dose given to one person. ``dose_number`` counts the person's
    doses in date order (1, 2, 3...); ``kind`` says whether it belongs to
    the primary course, is an additional dose or a booster.

    Written only by ``services`` (entry, import, correction, merge,
    deletion), which keep the history (``DoseChange``) and the coverage
    rollups right on every path."""

    person = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="doses")
    dose_number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=DoseKind.choices)
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="doses")
    given_on = models.DateField()
    site = models.ForeignKey("venues.Venue", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="doses")
    # The site as written when it is not a site of this system (given
    # elsewhere, or a mobile team that no longer exists).
    site_name = models.CharField(max_length=200, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=10, choices=DoseSource.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    import_batch = models.ForeignKey("DoseImport", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="doses")
    # Codes of the rules the dose departs from ("short_interval,mixed_course")
    # and the reason given for keeping it anyway.
    warnings = models.CharField(max_length=200, blank=True)
    deviation_reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["person_id", "dose_number"]
        constraints = [
            models.UniqueConstraint(fields=["person", "dose_number"], name="dose_number_once"),
            models.CheckConstraint(condition=Q(dose_number__gte=1), name="dose_number_positive"),
        ]
        indexes = [
            models.Index(fields=["site", "given_on"], name="dose_site_day"),
            models.Index(fields=["given_on"], name="dose_day"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} #{self.dose_number} {self.vaccine_id} {self.given_on}"

    @property
    def where(self) -> str:
        return self.site.name if self.site_id and self.site else self.site_name

    @property
    def warning_codes(self) -> list[str]:
        return [code for code in self.warnings.split(",") if code]


class ChangeAction(models.TextChoices):
    CORRECTED = "corrected", _("Điều chỉnh")
    ADDED = "added", _("Bổ sung mũi")
    DELETED = "deleted", _("Xoá")
    RENUMBERED = "renumbered", _("Đánh số lại")
    MERGED = "merged", _("Gộp hồ sơ")


class DoseChange(models.Model):
    """A change made to a dose record after it was first written, with the
    values before and after, who made it and why. Kept after the dose
    itself is deleted (``dose`` is then empty, ``dose_ref`` stays)."""

    dose = models.ForeignKey(Dose, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="changes")
    dose_ref = models.BigIntegerField()
    person = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=ChangeAction.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    correction = models.ForeignKey("CorrectionRequest", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="changes")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["person", "-changed_at"], name="dose_change_person")]

    def __str__(self) -> str:
        return f"{self.action} dose {self.dose_ref} {self.changed_at:%Y-%m-%d}"


# --- Imports of the sites' lists ------------------------------------------------------------


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Đang chờ xử lý")
    RUNNING = "running", _("Đang xử lý")
    DONE = "done", _("Đã nhập")
    REJECTED = "rejected", _("Có lỗi, chưa nhập dòng nào")
    FAILED = "failed", _("Không đọc được tệp")


class ImportPhase(models.TextChoices):
    READING = "reading", _("Đọc tệp")
    MATCHING = "matching", _("Đối chiếu người được tiêm")
    CHECKING = "checking", _("Kiểm tra các mũi tiêm")
    SAVING = "saving", _("Lưu vào hệ thống")
    REPORTING = "reporting", _("Lập tệp báo lỗi")


class DoseImport(models.Model):
    """One uploaded list of a site's doses, and what became of it. The
    file is kept outside the web root until the import ends."""

    site = models.ForeignKey("venues.Venue", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=200)
    stored_name = models.CharField(max_length=80)  # under VACCINATION_PRIVATE_DIR/imports
    size = models.PositiveBigIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ImportStatus.choices,
                              default=ImportStatus.QUEUED)
    phase = models.CharField(max_length=10, choices=ImportPhase.choices, blank=True)
    # Progress of the current phase, for the progress bar.
    phase_done = models.PositiveIntegerField(default=0)
    phase_total = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    people_created = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)  # a file-level refusal
    error_message = models.CharField(max_length=500, blank=True)
    error_file = models.CharField(max_length=80, blank=True)  # the report of bad rows
    # Where the header was and what each column means, for the error report.
    layout = models.JSONField(default=dict, blank=True)
    # The first bad rows as [row, [[column, message code, parameters], ...]],
    # shown on the page in the reader's language.
    error_sample = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["site", "-created_at"], name="dose_import_site")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.REJECTED, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        """Progress over the whole import, for the bar: reading counts for
        half, matching and checking a quarter each, saving the rest."""
        if self.finished:
            return 100
        weights = {ImportPhase.READING: (0, 50), ImportPhase.MATCHING: (50, 15),
                   ImportPhase.CHECKING: (65, 20), ImportPhase.SAVING: (85, 14),
                   ImportPhase.REPORTING: (85, 14)}
        start, span = weights.get(self.phase, (0, 0))  # type: ignore[call-overload]
        share = self.phase_done / self.phase_total if self.phase_total else 0.0
        return min(99, int(start + span * min(share, 1.0)))


class RowOutcome(models.TextChoices):
    PENDING = "", _("Chưa kiểm tra")
    NEW = "new", _("Mũi mới")
    SKIP = "skip", _("Đã có")
    BAD = "bad", _("Có lỗi")


class DoseImportRow(models.Model):
    """A row of an import while it is checked: the cells as written (for the
    error report) and what was read from them. Deleted when the import
    ends, so the table holds only imports in progress."""

    batch = models.ForeignKey(DoseImport, on_delete=models.CASCADE, related_name="+",
                              db_index=False)
    row_number = models.PositiveIntegerField()
    cells = models.TextField()  # JSON list, as read
    # Who the row is about: "id:<number>" or "ph:<phone>|<folded name>|<birth date>".
    person_key = models.CharField(max_length=200)
    # "ph:..." for every row with a phone, to join a row without a document
    # number to a new person of the same file who has one.
    phone_key = models.CharField(max_length=200, blank=True)
    full_name = models.CharField(max_length=120, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=6, blank=True)
    phone = models.CharField(max_length=16, blank=True)
    id_number = models.CharField(max_length=20, blank=True)
    id_kind = models.CharField(max_length=8, blank=True)
    commune_id = models.BigIntegerField(null=True, blank=True)
    street = models.CharField(max_length=200, blank=True)
    vaccine_code = models.CharField(max_length=20, blank=True)
    given_on = models.DateField(null=True, blank=True)
    dose_number = models.PositiveSmallIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=10, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    # JSON list of [column key, message code, parameters].
    errors = models.TextField(blank=True)
    outcome = models.CharField(max_length=4, choices=RowOutcome.choices, blank=True)
    match_error = models.CharField(max_length=400, blank=True)  # JSON [code, parameters]
    person_id = models.BigIntegerField(null=True, blank=True)
    warnings = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_number"], name="import_row_once"),
        ]
        indexes = [
            models.Index(fields=["batch", "person_key", "row_number"], name="import_row_person"),
            models.Index(fields=["batch", "phone_key"], name="import_row_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_number}"


# --- Correction requests (phản ánh) ------------------------------------------------------------


class CorrectionKind(models.TextChoices):
    WRONG_DATE = "date", _("Sai ngày tiêm")
    WRONG_PRODUCT = "product", _("Sai tên vắc xin")
    WRONG_LOT = "lot", _("Sai số lô")
    WRONG_SITE = "site", _("Sai nơi tiêm")
    MISSING = "missing", _("Thiếu mũi tiêm")
    NOT_MINE = "not_mine", _("Mũi tiêm không phải của tôi")


class CorrectionStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Chờ xác nhận OTP")
    OPEN = "open", _("Đang chờ xử lý")
    MORE_INFO = "more_info", _("Cần bổ sung thông tin")
    APPROVED = "approved", _("Đã điều chỉnh")
    REJECTED = "rejected", _("Bị từ chối")


OPEN_STATUSES = (CorrectionStatus.OPEN, CorrectionStatus.MORE_INFO)


class CorrectionRequest(models.Model):
    """A citizen's request to correct one dose (or to add a missing one),
    filed by them or by a commune officer on their behalf, confirmed by an
    OTP to the phone on file, and reviewed by the site that recorded the
    dose (``review_site``) or, for a missing dose or a site that is gone,
    by the health workers of the district (``review_unit``)."""

    person = models.ForeignKey("accounts.Person", on_delete=models.PROTECT,
                               related_name="dose_corrections")
    dose = models.ForeignKey(Dose, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="corrections")
    dose_label = models.CharField(max_length=200, blank=True)  # kept if the dose goes
    kind = models.CharField(max_length=10, choices=CorrectionKind.choices)
    proposed_given_on = models.DateField(null=True, blank=True)
    proposed_vaccine = models.ForeignKey(Vaccine, null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    proposed_lot = models.CharField(max_length=40, blank=True)
    proposed_site = models.ForeignKey("venues.Venue", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    proposed_site_name = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=CorrectionStatus.choices,
                              default=CorrectionStatus.UNCONFIRMED)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="+")
    on_behalf = models.BooleanField(default=False)
    filed_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    review_site = models.ForeignKey("venues.Venue", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    review_unit = models.ForeignKey("places.AdministrativeUnit", on_delete=models.PROTECT,
                                    related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    decision = models.TextField(blank=True)  # the reason of a rejection, or of an approval
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-filed_at", "-id"]
        indexes = [
            models.Index(fields=["status", "confirmed_at"], name="correction_queue"),
            models.Index(fields=["person", "-filed_at"], name="correction_person"),
        ]

    def __str__(self) -> str:
        return f"correction {self.pk} {self.kind} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class NoteKind(models.TextChoices):
    FILED = "filed", _("Gửi yêu cầu")
    CONFIRMED = "confirmed", _("Xác nhận bằng OTP")
    ASKED = "asked", _("Đề nghị bổ sung")
    REPLIED = "replied", _("Bổ sung thông tin")
    APPROVED = "approved", _("Chấp thuận")
    REJECTED = "rejected", _("Từ chối")


class CorrectionNote(models.Model):
    """The request's story: filed, confirmed, asked for more, answered, decided."""

    request = models.ForeignKey(CorrectionRequest, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=NoteKind.choices)
    text = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} {self.at:%Y-%m-%d}"


class CorrectionEvidence(models.Model):
    """A photo or PDF attached to a request, stored outside the web root
    (VACCINATION_PRIVATE_DIR) under a random name; images are re-encoded
    without their metadata before they are stored."""

    request = models.ForeignKey(CorrectionRequest, on_delete=models.CASCADE,
                                related_name="evidence")
    stored_name = models.CharField(max_length=80, unique=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=120, blank=True)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"evidence {self.pk} of {self.request_id}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


# --- Coverage rollups (rollups.py; docs/decisions/0011) -------------------------------------------


class Measure(models.IntegerChoices):
    FIRST_DOSE = 1, _("Đã tiêm ít nhất 1 mũi")
    FULL_COURSE = 2, _("Đã tiêm đủ liều cơ bản")
    BOOSTER = 3, _("Đã tiêm mũi nhắc lại")


class PersonCoverage(models.Model):
    """What one person counts for in the coverage figures, as last counted:
    the commune (and its district and province) they were counted in, and
    for each measure the day it was reached and the age group they were in
    on that day. The rollups change by the difference between this row and
    a fresh computation from the person's doses."""

    person_id = models.BigIntegerField(primary_key=True)  # accounts.Person, no constraint
    areas = models.CharField(max_length=40, blank=True)  # "commune/district/province" ids
    first_on = models.DateField(null=True, blank=True)
    first_group = models.SmallIntegerField(null=True, blank=True)
    full_on = models.DateField(null=True, blank=True)
    full_group = models.SmallIntegerField(null=True, blank=True)
    booster_on = models.DateField(null=True, blank=True)
    booster_group = models.SmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.person_id}: {self.first_on} {self.full_on} {self.booster_on}"


class CoverageTotal(models.Model):
    """People of an area (commune, district, province id; 0 the country)
    who have reached a measure, by age group (the lower bound of the group,
    -1 when the birth date is unknown)."""

    replica_reads = True

    pk = models.CompositePrimaryKey("unit_key", "measure", "age_group")
    unit_key = models.IntegerField()
    measure = models.SmallIntegerField(choices=Measure.choices)
    age_group = models.SmallIntegerField()
    people = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.unit_key} m{self.measure} g{self.age_group}: {self.people}"


class CoverageDay(models.Model):
    """People of an area who reached a measure on a day, by age group: the
    daily trend. The sum over all days equals ``CoverageTotal``."""

    replica_reads = True

    pk = models.CompositePrimaryKey("unit_key", "day", "measure", "age_group")
    unit_key = models.IntegerField()
    day = models.DateField()
    measure = models.SmallIntegerField(choices=Measure.choices)
    age_group = models.SmallIntegerField()
    people = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.unit_key} {self.day} m{self.measure} g{self.age_group}: {self.people}"


class CoverageReport(models.Model):
    """A coverage workbook made by the scheduled job (or on demand) for a
    district or province, kept for download by its officials."""

    unit = models.ForeignKey("places.AdministrativeUnit", on_delete=models.CASCADE,
                             related_name="+")
    day = models.DateField()
    stored_name = models.CharField(max_length=80)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "day"], name="coverage_report_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"coverage {self.unit_id} {self.day}"
