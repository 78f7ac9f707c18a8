"""Administrative units over JSON. The map is public data, so nothing here
needs a login."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from truyvet.core.pagination import BoundedLimitOffset
from truyvet.places import selectors
from truyvet.places.models import AdministrativeUnit, Scheme
from truyvet.places.schemas import UnitDetail, UnitFilter, UnitRead

router = Router(tags=["places"])

MAX_PAGE = 100


@router.get(
    "/units",
    response=list[UnitRead],
    summary="Search or list administrative units",
    description=(
        "With `q`, units whose name holds every word of `q` (diacritics and case "
        "ignored), best matches first. Without it, the children of `parent`, or every "
        "unit of `level` (provinces by default). `parent` and `level` narrow both."
    ),
)
@paginate(BoundedLimitOffset, max_limit=MAX_PAGE)
def units(request: HttpRequest, filters: Query[UnitFilter]) -> QuerySet[AdministrativeUnit]:
    parent = (
        selectors.unit_by_code(code=filters.parent, scheme=filters.scheme)
        if filters.parent
        else None
    )
    level = int(filters.level) if filters.level is not None else None
    if filters.q.strip():
        return selectors.units_search(
            query=filters.q, level=level, parent=parent, scheme=filters.scheme, limit=None
        )
    return selectors.units_list(level=level, parent=parent, scheme=filters.scheme)


@router.get(
    "/units/{code}",
    response=UnitDetail,
    summary="One administrative unit with the units above and below it",
)
def unit(request: HttpRequest, code: str, scheme: Scheme = Scheme.Y2021) -> selectors.UnitDetail:
    return selectors.unit_detail(code=code, scheme=scheme)
