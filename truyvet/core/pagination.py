"""Bounds for every page of a list: ``limit`` and ``offset`` in the API,
``page`` on HTML pages.

The numbers come from anyone (``/places/units`` needs no login), and an
offset past 64 bits cannot even be sent to the database: SQLite raises
OverflowError and PostgreSQL an out-of-range error, each a 500. Every list
takes its window through ``page_window`` (or ``page_number`` for a page
number, or ``BoundedLimitOffset`` for django-ninja's ``@paginate``), which
clamps rather than refuses, as the API always has for ``limit``: an offset
past every row gives an empty page.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja.pagination import LimitOffsetPagination

# Past any real list (a billion rows) and far inside what a database accepts.
MAX_OFFSET = 1_000_000_000
MAX_PAGE_NUMBER = 1_000_000


def page_window(*, limit: int, offset: int, max_limit: int) -> tuple[int, int]:
    """``(limit, offset)`` within bounds: 1 <= limit <= max_limit and
    0 <= offset <= MAX_OFFSET."""
    return max(1, min(limit, max_limit)), max(0, min(offset, MAX_OFFSET))


def page_number(raw: Any) -> int:
    """A page number from a query string: 1 for anything that is not a
    whole number in ASCII digits ("²" is a digit to ``str.isdigit`` but not
    to ``int``), at most ``MAX_PAGE_NUMBER`` (a number too long for ``int``
    to convert counts as that)."""
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text) > len(str(MAX_PAGE_NUMBER)):
        return MAX_PAGE_NUMBER
    return max(1, min(int(text), MAX_PAGE_NUMBER))


class BoundedLimitOffset(LimitOffsetPagination):
    """django-ninja's limit/offset pagination with the offset clamped."""

    def paginate_queryset(self, queryset: QuerySet[Any], pagination: Any,
                          request: HttpRequest, **params: Any) -> Any:
        pagination.offset = min(pagination.offset, MAX_OFFSET)
        return super().paginate_queryset(queryset, pagination, request, **params)
