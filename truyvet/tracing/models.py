"""Cases (F0 and suspected), their contacts, the trace runs that found them,
the tasks handed to the contacts' own communes, and public exposure sites.

Purpose limitation is structural: a person's movements are only ever read
through a ``Case`` (its timeline and trace runs), and every such read is
audited with the case and the official.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _


class Classification(models.TextChoices):
    CONFIRMED = "confirmed", _("F0 (đã xác định)")
    SUSPECTED = "suspected", _("Nghi nhiễm")


class Diagnostic(models.TextChoices):
    PCR = "pcr", _("RT-PCR")
    RAPID = "rapid", _("Test nhanh kháng nguyên")
    OTHER = "other", _("Khác")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Đang theo dõi")
    CLOSED = "closed", _("Đã đóng")


class CaseOutcome(models.TextChoices):
    RECOVERED = "recovered", _("Khỏi bệnh")
    NOT_A_CASE = "not_a_case", _("Loại trừ (không mắc)")
    TRANSFERRED = "transferred", _("Chuyển địa bàn khác theo dõi")
    DIED = "died", _("Tử vong")


class Case(models.Model):
    """A confirmed (F0) or suspected case, and the infectious window in which
    the people they met are contacts.

    ``window_end`` is empty while the person is not isolated: the window then
    runs until now. ``window_manual`` is set once an official edits the
    window (with a reason, see ``CaseWindowEdit``); after that, recording
    isolation or a test no longer recomputes it.
    """

    person = models.ForeignKey(
        "accounts.Person", on_delete=models.PROTECT, related_name="cases"
    )
    # The person's commune when the case was registered: whose officials see it.
    unit = models.ForeignKey(
        "places.AdministrativeUnit", on_delete=models.PROTECT, related_name="+"
    )
    classification = models.CharField(max_length=10, choices=Classification.choices)
    test_date = models.DateField(null=True, blank=True)
    test_type = models.CharField(max_length=8, choices=Diagnostic.choices, blank=True)
    symptom_onset = models.DateField(null=True, blank=True)
    isolation_place = models.CharField(max_length=200, blank=True)
    isolated_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField(null=True, blank=True)
    window_manual = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    outcome = models.CharField(max_length=12, choices=CaseOutcome.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the last F1 trace ran; contacts found then are in ``contacts``.
    traced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="case_status_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="open"), name="case_one_open_per_person"
            ),
            models.CheckConstraint(
                condition=Q(window_end__isnull=True) | Q(window_end__gte=models.F("window_start")),
                name="case_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status="open", outcome="") | (Q(status="closed") & ~Q(outcome="")),
                name="case_outcome_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_classification_display()}"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN

    def window_end_at(self, now: datetime | None = None) -> datetime:
        """The end of the window: the stored end, or now while it is open-ended."""
        return self.window_end or now or timezone.now()


class CaseWindowEdit(models.Model):
    """One change of a case's infectious window, and why (append-only)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="window_edits")
    old_start = models.DateTimeField()
    old_end = models.DateTimeField(null=True, blank=True)
    new_start = models.DateTimeField()
    new_end = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-edited_at", "-id"]

    def __str__(self) -> str:
        return f"case {self.case_id} window edit {self.edited_at:%Y-%m-%d %H:%M}"


class TraceRun(models.Model):
    """One run of the exposure search: who ran it, on what window and buffer,
    and how much it found (the contacts themselves are ``Contact`` rows)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="trace_runs")
    degree = models.PositiveSmallIntegerField(default=1)  # 1: F1 search; 2+: an expansion
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    run_at = models.DateTimeField(default=timezone.now)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    buffer_minutes = models.PositiveSmallIntegerField()
    source_count = models.PositiveIntegerField(default=1)  # people searched from
    visit_count = models.PositiveIntegerField(default=0)  # their visits in the window
    contact_count = models.PositiveIntegerField(default=0)
    truncated = models.BooleanField(default=False)  # an expansion hit its size bound
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-run_at", "-id"]

    def __str__(self) -> str:
        return f"trace F{self.degree} of case {self.case_id} at {self.run_at:%Y-%m-%d %H:%M}"


class Contact(models.Model):
    """Someone whose presence overlapped a case's (F1), or an F1's (F2 ...).

    ``visits`` is the breakdown the search produced, one entry per visit of
    the source with venue, both presences and the overlap and gap in seconds
    and in minutes. ``overlap_seconds`` is their total co-presence (with any
    of the sources: time with two F1s at once counts once); a contact caught
    only by the buffer has 0 and ``gap_seconds`` says how close they came.
    The minutes are rounded once from the exact lengths, not from the whole
    seconds (4,710.5 s is 79 minutes, not 78). ``met`` lists, for F2 and
    beyond, each contact of the degree before whom they met, the closest
    first: ``{"contact_id", "overlap_seconds", "gap_seconds",
    "overlap_minutes", "gap_minutes"}`` for that source alone.
    """

    # Indexed by the unique (case, person) index: a second index on case
    # alone would be one more entry to write per contact (a market F0 has
    # tens of thousands; decision 0021).
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts",
                             db_index=False)
    person = models.ForeignKey("accounts.Person", on_delete=models.CASCADE, related_name="+")
    degree = models.PositiveSmallIntegerField()  # 1 = F1, 2 = F2 ...
    # For F2 and beyond: the contact through whom this person was found.
    # Empty for every F1: indexed only where set (``contact_source``).
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    run = models.ForeignKey(TraceRun, on_delete=models.SET_NULL, null=True, related_name="+")
    overlap_seconds = models.PositiveIntegerField()
    gap_seconds = models.PositiveIntegerField(default=0)
    overlap_minutes = models.PositiveIntegerField(default=0)
    gap_minutes = models.PositiveIntegerField(default=0)
    visit_count = models.PositiveSmallIntegerField()
    first_exposure_at = models.DateTimeField()
    last_exposure_at = models.DateTimeField()
    visits = models.JSONField(default=list)
    met = models.JSONField(default=list, blank=True)
    # Where the contact lives: whose officers follow them up.
    unit = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    found_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["degree", "-overlap_seconds", "gap_seconds", "person_id"]
        indexes = [
            models.Index(fields=["source"], condition=Q(source__isnull=False),
                         name="contact_source"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="contact_once_per_case"),
        ]

    def __str__(self) -> str:
        return f"F{self.degree} {self.person_id} of case {self.case_id}"

    @property
    def label(self) -> str:
        return f"F{self.degree}"

    @property
    def closeness(self) -> str:
        """How close they came, for people: "25 phút" together, or
        "cách 30 phút" apart for a contact caught only by the buffer."""
        return closeness_text(overlap_seconds=self.overlap_seconds,
                              overlap_minutes=self.overlap_minutes,
                              gap_minutes=self.gap_minutes)

    @property
    def shared_time(self) -> bool:
        return self.overlap_seconds > 0


def closeness_text(*, overlap_seconds: int, overlap_minutes: int, gap_minutes: int) -> str:
    """The one wording of a contact's closeness, in pages, alerts and
    exports: the time shared ("25 phút", "dưới 1 phút"), or, for a contact
    who shared none (caught by the buffer), how far apart they were
    ("cách 30 phút", "cách dưới 1 phút"). Never "0 phút"."""
    if overlap_seconds > 0:
        if overlap_minutes < 1:
            return gettext("dưới 1 phút")
        return ngettext("%(minutes)s phút", "%(minutes)s phút", overlap_minutes) % {
            "minutes": overlap_minutes}
    if gap_minutes < 1:
        return gettext("cách dưới 1 phút")
    return gettext("cách %(gap)s phút") % {"gap": gap_minutes}


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Cần xử lý")
    REACHED = "reached", _("Đã liên hệ, đang cách ly/theo dõi")
    UNREACHABLE = "unreachable", _("Không liên lạc được")
    DISMISSED = "dismissed", _("Không phải người tiếp xúc")


class ContactTask(models.Model):
    """Follow-up of one contact by the officials of the contact's own commune,
    who may be in another district or province than the case."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="task")
    # Indexed by (unit, status), ``contact_task_unit_status``.
    unit = models.ForeignKey(
        "places.AdministrativeUnit", on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["status", "-created_at", "-id"]
        indexes = [models.Index(fields=["unit", "status"], name="contact_task_unit_status")]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.status})"


class ExposureSite(models.Model):
    """A venue and a time window published for the public: nothing about the
    case but where and when. Phones match their own history against these."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="exposure_sites")
    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "id"]
        indexes = [
            models.Index(fields=["withdrawn_at", "ends_at"], name="exposure_site_live"),
            models.Index(fields=["venue", "starts_at"], name="exposure_site_venue"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "venue", "starts_at"], name="exposure_site_once"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gte=models.F("starts_at")), name="exposure_site_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.starts_at:%Y-%m-%d %H:%M}"
