"""Errors that services raise and both the HTML and JSON adapters render.

A service validates everything before it writes, and reports every problem
at once as ``FieldError`` entries, so a form or an API client can show them
all and nothing is half-saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str | Promise
    code: str = "invalid"
    row: int | None = None  # for file imports: the 1-based row in the file


class ServiceError(Exception):
    """A request that cannot be carried out. ``message`` is shown to the user
    in their language (lazy translation), ``code`` is stable for clients."""

    status = 400

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str = "invalid",
        errors: list[FieldError] | None = None,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.errors = errors or []
        if status is not None:
            self.status = status
        self.retry_after = retry_after


@dataclass
class ErrorCollector:
    """Gathers field errors during validation and raises them together."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, message: str | Promise, code: str = "invalid") -> None:
        self.errors.append(FieldError(field_name, message, code))

    def raise_if_any(self, message: str | Promise) -> None:
        if self.errors:
            raise ServiceError(message, code="validation_error", errors=self.errors)


class NotAllowed(ServiceError):
    status = 403

    def __init__(self, message: str | Promise, *, code: str = "forbidden") -> None:
        super().__init__(message, code=code)


class NotFound(ServiceError):
    status = 404

    def __init__(self, message: str | Promise, *, code: str = "not_found") -> None:
        super().__init__(message, code=code)


class Throttled(ServiceError):
    status = 429

    def __init__(self, message: str | Promise, *, retry_after: int) -> None:
        super().__init__(message, code="rate_limited", retry_after=retry_after)
