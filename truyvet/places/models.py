from __future__ import annotations

from django.db import models
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
