"""Tables of the reports: the daily rollups that dashboards read instead of
the check-in table, reminders sent to inactive venues, and generated report
files. See docs/decisions/0004-report-rollups.md for why the rollups look
like this.

Keys shared by the rollups:

- ``day`` is the local date (TIME_ZONE, Asia/Ho_Chi_Minh) of a visit's
  arrival, whenever the server received it;
- ``unit_key`` is an ``AdministrativeUnit`` id (a commune, district or
  province) or ``NATION`` (0) for the whole country; it is a plain integer,
  not a foreign key, so that the country fits in the same column;
- ``venue_type`` is a ``VenueType`` value, or ``ALL_TYPES`` ("") for the
  figure over every type.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NATION = 0
ALL_TYPES = ""


class VenueDay(models.Model):
    """Visits (check-in rows) that arrived at one venue on one local day."""

    pk = models.CompositePrimaryKey("venue", "day")
    venue = models.ForeignKey(
        "venues.Venue", on_delete=models.CASCADE, related_name="report_days"
    )
    day = models.DateField()
    scans = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "venue"], name="report_venueday_day")]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.day}: {self.scans}"


class VenueActivity(models.Model):
    """When a venue last had a visit, so that "venues with a scan in the last
    1 / 7 days" is one range over an index instead of a scan of check-ins.
    A venue that never had a visit has no row."""

    venue = models.OneToOneField(
        "venues.Venue", on_delete=models.CASCADE, primary_key=True,
        related_name="report_activity",
    )
    last_scan_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.venue_id} last scan {self.last_scan_at:%Y-%m-%d %H:%M}"


class PersonDay(models.Model):
    """Where a person checked in on a day, to the commune and venue type: the
    exact set behind "distinct people per day" at every level.

    ``visits`` lists the distinct (commune, venue type) pairs of the day,
    each with the commune's ancestors, as "commune/district/province:type"
    entries separated by commas ("1792/48/4:market,1792/48/4:shop"). One row
    per person and day whatever the number of their scans, so its size
    follows the people who go out, not the scans.

    This is personal data (where someone was, to the commune), kept only as
    long as check-ins are (CHECKIN_RETENTION_DAYS) and never shown: only its
    counts are (``AreaDay.people``).
    """

    pk = models.CompositePrimaryKey("day", "person_id")
    day = models.DateField()
    person_id = models.BigIntegerField()  # accounts.Person; no constraint, see the ADR
    visits = models.TextField()

    def __str__(self) -> str:
        return f"{self.day} {self.person_id}: {self.visits}"


class AreaDay(models.Model):
    """Scans and distinct people of an area (and a venue type, or all) on a day.

    The counters of a province and of the country take every check-in of the
    province or the country; to keep concurrent check-ins from queueing on
    one row, those counters are split over ``shard`` rows (by person) that
    readers add up. Communes and districts use shard 0 only.
    """

    pk = models.CompositePrimaryKey("unit_key", "day", "venue_type", "shard")
    unit_key = models.IntegerField()
    day = models.DateField()
    venue_type = models.CharField(max_length=12, blank=True)
    shard = models.PositiveSmallIntegerField(default=0)
    scans = models.IntegerField(default=0)
    people = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="report_areaday_day")]

    def __str__(self) -> str:
        return f"{self.unit_key}/{self.venue_type or '*'} {self.day}: {self.scans}, {self.people}"


class RollupChange(models.Model):
    """A check-in write the rollups have not counted yet: noted by the
    check-in hooks in the writer's own transaction (one insert), folded in
    and deleted by the worker's ``rollups.rollups_fold`` in one transaction
    (docs/decisions/0022-rollups-folded-by-the-worker.md).

    ``kind`` says what happened: ``a`` a row was added, ``c`` a row's
    venue, person or arrival changed (one note for the old values, one for
    the new), ``r`` the check-ins from ``arrived_at`` to ``until`` were
    loaded in bulk. No foreign keys: a scan pays no lookup for its note,
    and a note outliving its venue is skipped by the fold."""

    ADDED, CHANGED, RELOADED = "a", "c", "r"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=1)
    venue_id = models.BigIntegerField(null=True)
    person_id = models.BigIntegerField(null=True)
    arrived_at = models.DateTimeField()  # a reload: the start of its period
    until = models.DateTimeField(null=True)  # a reload: the end of its period
    noted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} {self.venue_id} {self.person_id} {self.arrived_at:%Y-%m-%d %H:%M}"


class VenueReminder(models.Model):
    """An SMS reminder sent to an inactive venue's owners, at most one per
    venue and local day (a second click the same day sends nothing)."""

    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE,
                              related_name="report_reminders")
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    recipients = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["venue", "day"], name="report_reminder_once_a_day"),
        ]
        indexes = [models.Index(fields=["venue", "sent_at"], name="report_reminder_venue")]

    def __str__(self) -> str:
        return f"reminder {self.venue_id} {self.day}"


class ReminderTemplate(models.Model):
    """A province's own reminder to inactive venues: the SMS (with the
    placeholders ``{name}``, ``{code}``, ``{count}`` and ``{unit}``) and,
    optionally, the province's rule on venues that stay inactive, shown on
    its reminder page. Without one, the generic text and no rule."""

    province = models.OneToOneField("places.AdministrativeUnit", on_delete=models.CASCADE,
                                    related_name="+")
    body = models.CharField(max_length=480)
    rule = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"reminder template of {self.province_id}"


class ReportKind(models.TextChoices):
    DAILY = "daily", _("Hằng ngày")
    WEEKLY = "weekly", _("Hằng tuần")
    ADHOC = "adhoc", _("Theo yêu cầu")


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    XLSX = "xlsx", "XLSX"


def _report_path(instance: GeneratedReport, filename: str) -> str:
    return f"reports/{timezone.localdate():%Y/%m}/{filename}"


class GeneratedReport(models.Model):
    """A report file kept for download: daily and weekly ones made by the
    worker, ad-hoc ones by an officer for any period. ``unit`` is empty for
    the whole country."""

    unit = models.ForeignKey("places.AdministrativeUnit", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    # The unit's id, or NATION: unique constraints ignore an empty ``unit``.
    scope_key = models.IntegerField()
    kind = models.CharField(max_length=8, choices=ReportKind.choices)
    since = models.DateField()
    until = models.DateField()
    file_format = models.CharField(max_length=4, choices=ReportFormat.choices)
    file = models.FileField(upload_to=_report_path, max_length=200)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The worker running a day's job twice keeps one file.
            models.UniqueConstraint(
                fields=["scope_key", "kind", "since", "until", "file_format"],
                condition=~models.Q(kind="adhoc"), name="report_scheduled_once",
            ),
            models.CheckConstraint(condition=models.Q(since__lte=models.F("until")),
                                   name="report_period_ordered"),
        ]
        indexes = [models.Index(fields=["scope_key", "-created_at"], name="report_scope_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.unit_id} {self.since}–{self.until}.{self.file_format}"


class ReportRecipient(models.Model):
    """An e-mail address that receives the scheduled reports of a unit (the
    whole country when ``unit`` is empty), with a link to the file: the
    file itself stays behind the login."""

    unit = models.ForeignKey("places.AdministrativeUnit", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    scope_key = models.IntegerField()  # the unit's id, or NATION
    email = models.EmailField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope_key", "email"], name="report_recipient_once"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.unit_id or 'nation'})"
