"""Pluggable SMS gateway, chosen by the SMS_BACKEND setting.

- ``console``: prints each message (development).
- ``file``: appends each message as a JSON line under SMS_FILE_DIR (demo, tests
  across processes).
- ``memory``: keeps messages in ``outbox`` (unit tests).
- ``http``: POSTs JSON to SMS_HTTP_URL with a bearer token, for a real gateway.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    sent_at: datetime


outbox: list[SmsMessage] = []


class SmsDeliveryError(Exception):
    pass


def send_sms(*, to: str, body: str) -> SmsMessage:
    """Hand one message to the configured gateway. Raises SmsDeliveryError."""
    message = SmsMessage(to=to, body=body, sent_at=timezone.now())
    backend = settings.SMS_BACKEND
    if backend == "memory":
        outbox.append(message)
    elif backend == "console":
        sys.stdout.write(f"[SMS to {to}] {body}\n")
        sys.stdout.flush()
    elif backend == "file":
        directory = settings.SMS_FILE_DIR
        directory.mkdir(parents=True, exist_ok=True)
        record = asdict(message) | {"sent_at": message.sent_at.isoformat()}
        with open(directory / "outbox.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif backend == "http":
        _send_http(message)
    else:  # settings validates the choice; this guards against monkeypatching
        raise SmsDeliveryError(f"Unknown SMS backend {backend!r}")
    # The body carries one-time codes: log only the fact of sending.
    logger.info("sms sent via %s", backend)
    return message


def _send_http(message: SmsMessage) -> None:
    payload = json.dumps(
        {"to": message.to, "body": message.body, "sender": settings.SMS_SENDER}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - URL comes from trusted settings
        settings.SMS_HTTP_URL,
        data=payload,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status >= 300:
                raise SmsDeliveryError(f"gateway answered {response.status}")
    except OSError as exc:
        raise SmsDeliveryError(str(exc)) from exc
