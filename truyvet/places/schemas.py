"""API shapes of administrative units. Administrative units are read-only
through the API, so there are only Read variants."""

from __future__ import annotations

from ninja import Field, Schema

from truyvet.places.models import AdministrativeUnit, Level, Scheme


class UnitRef(Schema):
    """A unit named in another unit's answer: enough to show and link it."""

    code: str
    name: str
    level: int
    kind: str

    @staticmethod
    def resolve_level(obj: AdministrativeUnit) -> int:
        return int(obj.level)


class UnitRead(UnitRef):
    scheme: str
    kind_label: str = Field(description="The kind in the request's language, e.g. Huyện")
    level_label: str
    full_name: str = Field(description="The name followed by its parents' names")
    parent_code: str | None

    @staticmethod
    def resolve_kind_label(obj: AdministrativeUnit) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_level_label(obj: AdministrativeUnit) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_parent_code(obj: AdministrativeUnit) -> str | None:
        return obj.parent.code if obj.parent_id is not None and obj.parent else None


class UnitDetail(Schema):
    unit: UnitRead
    ancestors: list[UnitRef] = Field(description="The units above this one, province first")
    children: list[UnitRef] = Field(description="The units directly below this one")
    counts: dict[int, int] = Field(description="How many units lie below this one, by level")


class UnitFilter(Schema):
    q: str = Field("", max_length=100, description="Words of the name, diacritics optional")
    level: Level | None = Field(None, description="1 province, 2 district, 3 commune")
    parent: str | None = Field(
        None, max_length=10, description="Code of a unit to search or list below"
    )
    scheme: Scheme = Scheme.Y2021
