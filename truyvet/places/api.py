"""Administrative units over JSON. The map is public data, so nothing here
needs a login."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from truyvet.core.api_auth import logged_in
from truyvet.core.errors import FieldError, NotAllowed, ServiceError
from truyvet.core.pagination import BoundedLimitOffset
from truyvet.places import population, selectors
from truyvet.places.models import AdministrativeUnit, Population, Scheme
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


class PopulationRead(Schema):
    commune_code: str
    commune: str
    district: str
    total: int
    adults: int
    source: str

    @staticmethod
    def resolve_commune_code(obj: Any) -> str:
        return str(obj.commune.code)

    @staticmethod
    def resolve_commune(obj: Any) -> str:
        return str(obj.commune.name)

    @staticmethod
    def resolve_district(obj: Any) -> str:
        return str(obj.commune.parent.name) if obj.commune.parent_id else ""

    @staticmethod
    def resolve_source(obj: Any) -> str:
        return str(obj.figure.batch.filename)


class PopulationImportRead(Schema):
    id: int
    filename: str
    communes: int
    total: int
    adults: int


@router.get("/population", response=list[PopulationRead], auth=logged_in,
            summary="Population of the communes in your area")
@paginate(BoundedLimitOffset, max_limit=MAX_PAGE)
def population_list(request: HttpRequest) -> QuerySet[Population]:
    """Officers: the communes of their units (system admins: all)."""
    user = request.auth  # type: ignore[attr-defined]
    if not population.can_load_population(user):
        raise NotAllowed(_("Chỉ cán bộ quản lý địa bàn được nhập dân số."))
    return population.population_rows_for(user)


@router.post("/population/import", response={201: PopulationImportRead}, auth=logged_in,
             summary="Load population per commune (.xlsx or .csv)")
def population_load(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Columns: Mã xã, Dân số, Dân số từ 18 tuổi. All or nothing: any bad
    row answers 400 with one entry per problem (`row`, `field` = column)."""
    report = population.population_import(actor=request.auth,  # type: ignore[attr-defined]
                                          file=file, filename=file.name or "")
    if report.errors or report.batch is None:
        only_scope = bool(report.errors) and all(
            issue.code == "commune_out_of_scope" for issue in report.errors)
        raise ServiceError(
            _("Tệp có lỗi; chưa số liệu nào được lưu."), code="import_invalid",
            errors=[FieldError(i.column, i.message, i.code, row=i.row) for i in report.errors],
            status=403 if only_scope else 400)
    return Status(201, report.batch)
