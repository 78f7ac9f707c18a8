"""The notification outbox: SMS, e-mail and in-app messages.

A service that must tell someone something calls ``outbox_enqueue`` inside
its own transaction, so the messages are committed together with the change
that causes them, or not at all. Nothing is sent from the request: the
worker runs ``outbox_deliver_due`` (scheduled every minute, and kicked once
after each commit that enqueued something) which hands due messages to the
SMS gateway (``truyvet.core.sms``) or Django's ``EMAIL_BACKEND``.

Guarantees:

- **Once.** ``dedupe_key`` is unique: enqueuing the same key again stores
  nothing, so a retried request or a double click sends nothing twice.
- **Retried.** A failed delivery is tried again after
  ``OUTBOX_RETRY_SECONDS`` doubling each time (at most one hour), up to
  ``OUTBOX_MAX_ATTEMPTS``; then the message is marked failed with its error.
- **No two workers send the same message.** A worker claims a batch
  (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one
  writer) by pushing ``next_attempt_at`` a lease into the future. A worker
  that dies mid-batch leaves its claimed messages due again when the lease
  runs out, so delivery is at least once in that one case and exactly once
  otherwise.
- **In-app messages** need no transport: committed means delivered, and they
  appear in the recipient's inbox (``/inbox/``) at once, worker or not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from truyvet.core.models import OutboxChannel, OutboxMessage, OutboxStatus
from truyvet.core.sms import send_sms

logger = logging.getLogger(__name__)

# How long a claimed message stays invisible to other workers.
CLAIM_LEASE = timedelta(minutes=5)
MAX_RETRY_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class Message:
    """What a service wants sent. ``user`` is required for in-app messages,
    ``phone`` (E.164) for SMS and ``email`` for e-mail."""

    channel: str
    dedupe_key: str
    body: str
    subject: str = ""
    kind: str = ""
    person: Any = None  # accounts.Person the message is about / addressed to
    user: Any = None  # accounts.User whose inbox shows an in-app message
    phone: str = ""
    email: str = ""
    link: str = ""


def _check(message: Message) -> None:
    if message.channel not in OutboxChannel.values:
        raise ValueError(f"unknown outbox channel {message.channel!r}")
    if not message.dedupe_key or len(message.dedupe_key) > 200:
        raise ValueError("a dedupe key of 1 to 200 characters is required")
    if message.channel == OutboxChannel.SMS and not message.phone:
        raise ValueError("an SMS needs a phone number")
    if message.channel == OutboxChannel.EMAIL and not message.email:
        raise ValueError("an e-mail needs an address")
    if message.channel == OutboxChannel.INAPP and message.user is None:
        raise ValueError("an in-app message needs a user")


def outbox_enqueue(*, messages: Iterable[Message]) -> list[str]:
    """Stores the messages whose dedupe keys were never stored before, in the
    caller's transaction, and returns those keys (the ones that will be sent).

    Two queries whatever the number of messages. A message enqueued
    concurrently under the same key by another transaction is skipped by the
    unique constraint (``ignore_conflicts``), never stored twice.
    """
    wanted: dict[str, Message] = {}
    for message in messages:
        _check(message)
        wanted.setdefault(message.dedupe_key, message)
    if not wanted:
        return []
    existing = set(
        OutboxMessage.objects.filter(dedupe_key__in=list(wanted)).values_list(
            "dedupe_key", flat=True
        )
    )
    now = timezone.now()
    rows = []
    for key, message in wanted.items():
        if key in existing:
            continue
        inapp = message.channel == OutboxChannel.INAPP
        rows.append(
            OutboxMessage(
                channel=message.channel,
                dedupe_key=key,
                kind=message.kind[:40],
                recipient_person=message.person,
                recipient_user=message.user,
                phone=message.phone,
                email=message.email,
                subject=message.subject[:200],
                body=message.body,
                link=message.link[:300],
                status=OutboxStatus.SENT if inapp else OutboxStatus.PENDING,
                sent_at=now if inapp else None,
                created_at=now,
                next_attempt_at=now,
            )
        )
    if rows:
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
        if any(row.channel != OutboxChannel.INAPP for row in rows):
            transaction.on_commit(outbox_kick)
    return [row.dedupe_key for row in rows]


def outbox_kick() -> None:
    """Asks the worker to deliver now rather than at its next scheduled run.
    Best effort: if the queue cannot take the task, the schedule still will."""
    try:
        from django_q.tasks import async_task

        async_task("truyvet.core.tasks.outbox_deliver_due", task_name="outbox_deliver_due")
    except Exception:  # the message is safe in the outbox either way
        logger.warning("could not queue an outbox delivery run", exc_info=True)


class DeliveryError(Exception):
    pass


def _transport(message: OutboxMessage) -> None:
    """Hands one message to its channel's backend; raises on failure."""
    if message.channel == OutboxChannel.SMS:
        send_sms(to=message.phone, body=message.body)
    elif message.channel == OutboxChannel.EMAIL:
        sent = EmailMessage(
            subject=message.subject or "truyvet", body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL, to=[message.email],
        ).send(fail_silently=False)
        if sent != 1:
            raise DeliveryError("the e-mail backend accepted no message")
    elif message.channel == OutboxChannel.INAPP:
        return  # committed is delivered
    else:
        raise DeliveryError(f"unknown channel {message.channel}")


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: base, 2 x base, 4 x base ...
    at most one hour."""
    delay = timedelta(seconds=settings.OUTBOX_RETRY_SECONDS * 2 ** max(attempts - 1, 0))
    return min(delay, MAX_RETRY_DELAY)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(now: datetime, limit: int) -> list[OutboxMessage]:
    with transaction.atomic():
        due: QuerySet[OutboxMessage] = OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        batch = list(due[:limit])
        if batch:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in batch]).update(
                next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1
            )
    for message in batch:
        message.attempts += 1
    return batch


def outbox_deliver_due(*, now: datetime | None = None, limit: int | None = None) -> DeliveryReport:
    """Delivers the messages that are due, each at most once per call, and
    records the outcome of every attempt."""
    now = now or timezone.now()
    report = DeliveryReport()
    for message in _claim(now, limit or settings.OUTBOX_BATCH_SIZE):
        try:
            _transport(message)
        except Exception as exc:  # any backend failure is retried, never fatal to the batch
            logger.warning("outbox message %s failed: %s", message.pk, exc)
            error = f"{type(exc).__name__}: {exc}"[:500]
            report.errors.append(error)
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                OutboxMessage.objects.filter(pk=message.pk).update(
                    status=OutboxStatus.FAILED, last_error=error
                )
                report.failed += 1
            else:
                OutboxMessage.objects.filter(pk=message.pk).update(
                    next_attempt_at=now + retry_delay(message.attempts), last_error=error
                )
                report.retrying += 1
        else:
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=OutboxStatus.SENT, sent_at=timezone.now(), last_error=""
            )
            report.sent += 1
    return report


# --- The recipient's inbox -------------------------------------------------------


# Core imports no app, so a user is Django's abstract one here (in practice
# settings.AUTH_USER_MODEL, accounts.User), or the anonymous visitor.
AnyUser = AbstractBaseUser | AnonymousUser


def inbox_for(user: AnyUser) -> QuerySet[OutboxMessage]:
    """The in-app messages addressed to ``user``, newest first."""
    if not user.is_authenticated:
        return OutboxMessage.objects.none()
    return OutboxMessage.objects.filter(
        recipient_user_id=user.pk, channel=OutboxChannel.INAPP, status=OutboxStatus.SENT
    ).order_by("-created_at", "-id")


def inbox_unread_count(user: AnyUser) -> int:
    return inbox_for(user).filter(read_at__isnull=True).count()


def inbox_mark_read(*, user: AnyUser, message_ids: Iterable[int] | None = None) -> int:
    """Marks the user's own messages (all of them, or ``message_ids``) read.
    Other people's ids are ignored."""
    unread = inbox_for(user).filter(read_at__isnull=True)
    if message_ids is not None:
        unread = unread.filter(pk__in=list(message_ids))
    return unread.update(read_at=timezone.now())
