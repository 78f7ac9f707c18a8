"""The "Thông báo" inbox: in-app messages from the outbox, for their recipient.

Any domain that enqueues an in-app message (``truyvet.core.outbox``) has it
shown here, so the page and its API live in core: ``/inbox/`` and
``GET /api/v1/inbox``. A user sees only messages addressed to their own
account; opening the page marks them read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from truyvet.core.api_auth import logged_in
from truyvet.core.models import OutboxMessage
from truyvet.core.outbox import inbox_for, inbox_mark_read, inbox_unread_count
from truyvet.core.pagination import page_window

PAGE_SIZE = 30

router = Router(tags=["inbox"])


class InboxMessageRead(Schema):
    id: int
    kind: str
    subject: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class InboxRead(Schema):
    unread: int
    messages: list[InboxMessageRead]


class MarkReadIn(Schema):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, max_length=500, description="Messages to mark read; all when omitted"
    )


class MarkedOut(Schema):
    marked: int


@router.get("/inbox", response=InboxRead, auth=logged_in, summary="Your in-app messages")
def inbox(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Newest first. Reading the list does not mark anything read."""
    user = request.auth  # type: ignore[attr-defined]
    limit, offset = page_window(limit=limit, offset=offset, max_limit=200)
    return {
        "unread": inbox_unread_count(user),
        "messages": list(inbox_for(user)[offset:offset + limit]),
    }


@router.post("/inbox/read", response=MarkedOut, auth=logged_in, summary="Mark messages read")
def inbox_read(request: HttpRequest, payload: MarkReadIn) -> dict[str, int]:
    user = request.auth  # type: ignore[attr-defined]
    return {"marked": inbox_mark_read(user=user, message_ids=payload.ids)}


@login_required
def inbox_view(request: HttpRequest) -> HttpResponse:
    """The user's messages, newest first; unread ones are highlighted once
    and marked read by the visit."""
    page = Paginator(inbox_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    messages: list[OutboxMessage] = list(page.object_list)
    unread_ids = {m.pk for m in messages if m.read_at is None}
    if unread_ids:
        inbox_mark_read(user=request.user, message_ids=unread_ids)
    return render(request, "core/inbox.html", {
        "page": page, "inbox_messages": messages, "unread_ids": unread_ids,
    })

