"""The JSON API under /api/v1/. Each app contributes a router; this module
mounts them and gives every error one shape:

    {"ok": false, "status": 400, "error": "<message in the user's language>",
     "code": "<stable machine code>", "errors": [{"field", "message", "code"}]}
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from truyvet.accounts.api import router as accounts_router
from truyvet.certificates.api import router as certificates_router
from truyvet.certificates.issuing.api import router as issuing_router
from truyvet.certificates.status_api import router as certificate_status_router
from truyvet.checkins.api import router as checkins_router
from truyvet.checkins.api import venue_router as checkins_venue_router
from truyvet.core.api import router as core_router
from truyvet.core.dbfaults import database_fault, log_fault
from truyvet.core.errors import FieldError, ServiceError
from truyvet.core.inbox import router as inbox_router
from truyvet.declarations.api import router as declarations_router
from truyvet.declarations.levels_api import router as levels_router
from truyvet.places.api import router as places_router
from truyvet.reports.api import router as reports_router
from truyvet.tracing.api import router as tracing_router
from truyvet.vaccination.api import router as vaccination_router
from truyvet.venues.api import router as venues_router


class FieldErrorOut(Schema):
    field: str
    message: str
    code: str
    row: int | None = None  # file imports: the 1-based row


class ErrorOut(Schema):
    """The one shape of every JSON error."""

    ok: bool
    status: int
    error: str
    code: str
    errors: list[FieldErrorOut]


class TruyvetAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        """The generated schema, plus the error shape as every operation's
        ``default`` response, so that clients (and the fuzzer in
        tests/fuzz_api.py) know what any status an operation does not
        list carries."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        definitions = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(definitions.pop("$defs", {}))
        components["ErrorOut"] = definitions
        error = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation.setdefault("responses", {}).setdefault("default", error)
        return schema


api = TruyvetAPI(
    title="truyvet API",
    version="1",
    description=(
        "JSON API of truyvet. Versioned under /api/v1/: fields are only added within "
        "a version, never removed or renamed. Every error has the same shape."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error_response(
    request: HttpRequest,
    *,
    status: int,
    message: str,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    retry_after: int | None = None,
) -> HttpResponse:
    response = api.create_response(
        request,
        {"ok": False, "status": status, "error": message, "code": code, "errors": errors or []},
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _field_errors(errors: list[FieldError]) -> list[dict[str, Any]]:
    rendered = []
    for error in errors:
        item: dict[str, Any] = {
            "field": error.field, "message": str(error.message), "code": error.code
        }
        if error.row is not None:
            item["row"] = error.row
        rendered.append(item)
    return rendered


@api.exception_handler(ServiceError)
def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return error_response(
        request, status=exc.status, message=str(exc.message), code=exc.code,
        errors=_field_errors(exc.errors), retry_after=exc.retry_after,
    )


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "payload")]
        errors.append({
            "field": ".".join(location[-1:]) if location else "",
            "message": item.get("msg", ""),
            "code": item.get("type", "invalid"),
        })
    return error_response(
        request, status=422, message=_("Dữ liệu gửi lên không hợp lệ."),
        code="validation_error", errors=errors,
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, status=401, message=_("Bạn cần đăng nhập."), code="unauthenticated"
    )


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(
        request, status=403, message=_("Bạn không có quyền thực hiện thao tác này."),
        code="forbidden",
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, status=404, message=_("Không tìm thấy."), code="not_found")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(
        request, status=exc.status_code, message=str(exc.message), code="http_error"
    )


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A database that is down, restarting, read-only or full is a 503 with
    Retry-After (``truyvet.core.dbfaults``, shared with the pages); anything
    else is a bug: logged with its traceback, a 500."""
    fault = database_fault(exc)
    if fault is not None:
        log_fault(fault, exc, request)
        return error_response(
            request, status=fault.status, message=str(fault.message), code=fault.code,
            retry_after=fault.retry_after,
        )
    logging.getLogger("truyvet.api").exception("unhandled API error")
    return error_response(
        request, status=500, message=_("Lỗi máy chủ. Vui lòng thử lại sau."), code="server_error"
    )


def _mount_routers() -> None:
    api.add_router("/", core_router)
    api.add_router("/places/", places_router)
    api.add_router("/venues/", venues_router)
    # A venue's visitors are check-ins: checkins serves them under the venue.
    api.add_router("/venues/", checkins_venue_router)
    api.add_router("/checkins/", checkins_router)
    api.add_router("/", accounts_router)
    api.add_router("/tracing/", tracing_router)
    api.add_router("/reports/", reports_router)
    api.add_router("/certificates/", certificates_router)
    # Issuing (and our trust and revocation lists) under the same prefix.
    api.add_router("/certificates/", issuing_router)
    api.add_router("/certificates/status/", certificate_status_router)
    api.add_router("/vaccination/", vaccination_router)
    api.add_router("/declarations/", declarations_router)
    api.add_router("/levels/", levels_router)
    api.add_router("/", inbox_router)


_mount_routers()
