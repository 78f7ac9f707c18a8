"""The province-editable table of Decision 4800/QĐ-BYT thresholds that the
level calculator (levels_calculator.py) reads. Imported by models.py so that
Django finds the model; kept apart from the declaration models (issue 14
items 1–3) because it is the epidemic-level work's own."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.places.models import EpidemicLevel


class LevelThreshold(models.Model):
    """One cell of the matrix: a commune whose new community cases per
    100,000 people per week fall in [min_cases, max_cases) and whose share
    of people 18+ with at least one dose falls in [min_coverage,
    max_coverage) gets ``level`` before the treatment-capacity adjustment.

    ``province`` empty: the seed rows, used by every province that has not
    entered its own table. Only what is known is seeded (level 1 below 20
    cases per 100,000 per week); the full matrix was not published where it
    could be retrieved and must be entered by the province."""

    province = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    min_cases = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    max_cases = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    min_coverage = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    max_coverage = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    level = models.PositiveSmallIntegerField(choices=EpidemicLevel.choices)
    source = models.CharField(max_length=300, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["province_id", "min_cases", "min_coverage", "level"]
        verbose_name = _("Ngưỡng cấp độ dịch")
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=4),
                                   name="level_threshold_one_to_four"),
            models.CheckConstraint(
                condition=models.Q(max_cases__isnull=True)
                | models.Q(max_cases__gt=models.F("min_cases")),
                name="level_threshold_cases_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.province_id or '*'}: [{self.min_cases}, {self.max_cases}) → {self.level}"
