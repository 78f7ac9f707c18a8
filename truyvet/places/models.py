from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scheme(models.TextChoices):
    """Which administrative map a unit belongs to. The 2021 map has three tiers;
    the 2025 reform removed districts, leaving province -> commune."""

    Y2021 = "2021", _("2021 (tỉnh / huyện / xã)")
    Y2025 = "2025", _("2025 (tỉnh / xã)")


class Level(models.IntegerChoices):
    """The tier a unit sits in, independent of how deep the tree is: a 2025
    commune is level COMMUNE even though its parent is a province."""

    PROVINCE = 1, _("Tỉnh/thành phố")
    DISTRICT = 2, _("Quận/huyện")
    COMMUNE = 3, _("Xã/phường/thị trấn")


class Kind(models.TextChoices):
    MUNICIPALITY = "municipality", _("Thành phố trực thuộc trung ương")
    PROVINCE = "province", _("Tỉnh")
    URBAN_DISTRICT = "urban_district", _("Quận")
    RURAL_DISTRICT = "rural_district", _("Huyện")
    TOWN = "town", _("Thị xã")
    PROVINCIAL_CITY = "provincial_city", _("Thành phố thuộc tỉnh")
    WARD = "ward", _("Phường")
    COMMUNE = "commune", _("Xã")
    TOWNSHIP = "township", _("Thị trấn")
    SPECIAL_ZONE = "special_zone", _("Đặc khu")


class AdministrativeUnit(models.Model):
    """One node of an administrative map, identified by its official GSO code.

    ``path`` is a materialised path ("2021/04/048/01792/") so that "this unit and
    everything below it", which every scoped role needs, is one indexed prefix
    match instead of a recursive walk.
    """

    scheme = models.CharField(max_length=4, choices=Scheme.choices, default=Scheme.Y2021)
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=150)
    name_folded = models.CharField(max_length=150, db_index=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=80, unique=True, editable=False)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="unit_code_unique_per_scheme"),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def build_path(*, scheme: str, code: str, parent: AdministrativeUnit | None) -> str:
        return f"{parent.path if parent else scheme + '/'}{code}/"

    def contains(self, other: AdministrativeUnit) -> bool:
        """True when ``other`` is this unit or lies below it."""
        return other.path.startswith(self.path)

    @property
    def full_name(self) -> str:
        """"Xã An Lạc, Huyện Hạ Lang, Tỉnh Cao Bằng" without extra queries when
        the ancestors were selected with select_related."""
        names = []
        unit: AdministrativeUnit | None = self
        while unit is not None:
            names.append(unit.name)
            unit = unit.parent
        return ", ".join(names)


# --- Population (issue 15) ------------------------------------------------------------
#
# Coverage (vaccination) and the declarations work both divide by the number
# of people who live in a commune, so the figures live here, below both.


class PopulationImport(models.Model):
    """One file of commune populations as an official loaded it. Every
    import is kept with its figures, so the source of each number shown on
    a coverage page can be traced back to a file, a person and a day."""

    filename = models.CharField(max_length=200)
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    communes = models.PositiveIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    adults = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.imported_at:%Y-%m-%d})"


class PopulationFigure(models.Model):
    """A commune's population as one import gave it."""

    batch = models.ForeignKey(PopulationImport, on_delete=models.CASCADE, related_name="figures")
    commune = models.ForeignKey(AdministrativeUnit, on_delete=models.PROTECT, related_name="+")
    total = models.PositiveIntegerField()
    adults = models.PositiveIntegerField()  # aged 18 and over

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "commune"], name="population_once_per_file"),
            models.CheckConstraint(condition=models.Q(adults__lte=models.F("total")),
                                   name="population_figure_adults_within_total"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id}: {self.total} ({self.adults} ≥ 18)"


class Population(models.Model):
    """A commune's current population: the figure of the latest import that
    named it."""

    commune = models.OneToOneField(
        AdministrativeUnit, on_delete=models.CASCADE, primary_key=True, related_name="population"
    )
    total = models.PositiveIntegerField()
    adults = models.PositiveIntegerField()  # aged 18 and over
    figure = models.ForeignKey(PopulationFigure, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(adults__lte=models.F("total")),
                                   name="population_adults_within_total"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id}: {self.total} ({self.adults} ≥ 18)"


# --- Epidemic levels (issue 14, decision 0016) --------------------------------------
#
# Resolution 128/NQ-CP grades each commune from 1 (green, low risk) to 4 (red,
# very high risk). The level is a fact about a place on a day, so the dated
# history lives here, below check-ins (which show the level of a venue's
# commune at the time of a visit) and declarations (which sets and suggests it).


class EpidemicLevel(models.IntegerChoices):
    LOW = 1, _("Cấp 1 – Nguy cơ thấp")
    MEDIUM = 2, _("Cấp 2 – Nguy cơ trung bình")
    HIGH = 3, _("Cấp 3 – Nguy cơ cao")
    VERY_HIGH = 4, _("Cấp 4 – Nguy cơ rất cao")


class CommuneLevel(models.Model):
    """A commune's epidemic level from ``effective_from`` (a local day) until
    the next entry of the same commune. Entries are never edited or deleted:
    a change is a new row, so the level of any past day can be read back."""

    commune = models.ForeignKey(
        AdministrativeUnit, on_delete=models.PROTECT, related_name="epidemic_levels"
    )
    level = models.PositiveSmallIntegerField(choices=EpidemicLevel.choices)
    effective_from = models.DateField()
    reason = models.CharField(max_length=500, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["commune_id", "-effective_from", "-id"]
        indexes = [
            models.Index(fields=["commune", "effective_from", "id"], name="commune_level_at_idx"),
            models.Index(fields=["created_at"], name="commune_level_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=4),
                                   name="commune_level_one_to_four"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id}: {self.level} from {self.effective_from}"
