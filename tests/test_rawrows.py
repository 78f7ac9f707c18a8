"""``truyvet.core.rawrows.instances_insert``: a hot path's few rows written
together or not at all (decision 0015), outside a transaction (PostgreSQL's
one message, run as one implicit transaction; SQLite's own transaction) and
inside one (a savepoint), with the values read back as the ORM wrote them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from truyvet.core.models import AuditAction, AuditEvent, OutboxChannel, OutboxMessage
from truyvet.core.rawrows import instances_insert

TRICKY = "Chốt Thanh Nhật\t'trích' \"dẫn\" \\N; DROP TABLE x"


def _message(key: str) -> OutboxMessage:
    return OutboxMessage(channel=OutboxChannel.SMS, dedupe_key=key, body=TRICKY,
                         phone="+84912345678", next_attempt_at=timezone.now())


def _event(target: str) -> AuditEvent:
    return AuditEvent(action=AuditAction.PERSON_READ, purpose=TRICKY, target=target,
                      detail={"lines": [TRICKY], "n": 1})


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_failing_row_leaves_nothing_written() -> None:
    with pytest.raises(IntegrityError):
        instances_insert(_message("raw-1"), _event("raw:all-or-none"), _message("raw-1"))
    assert not OutboxMessage.objects.filter(dedupe_key="raw-1").exists()
    assert not AuditEvent.objects.filter(target="raw:all-or-none").exists()
    # And the connection is usable afterwards: the next write goes through.
    instances_insert(_message("raw-2"), _event("raw:after"))
    assert OutboxMessage.objects.filter(dedupe_key="raw-2").count() == 1
    stored = AuditEvent.objects.get(target="raw:after")
    assert (stored.purpose, stored.detail) == (TRICKY, {"lines": [TRICKY], "n": 1})


@pytest.mark.django_db
def test_inside_a_transaction_a_failing_row_rolls_back_only_its_own_savepoint() -> None:
    with transaction.atomic():
        instances_insert(_message("raw-3"))
        with pytest.raises(IntegrityError):
            instances_insert(_event("raw:inside"), _message("raw-3"))
        # The outer transaction goes on: the first message stays, the event
        # written beside the failing row does not.
        assert OutboxMessage.objects.filter(dedupe_key="raw-3").count() == 1
        assert not AuditEvent.objects.filter(target="raw:inside").exists()
    message = OutboxMessage.objects.get(dedupe_key="raw-3")
    assert (message.body, message.attempts, message.sent_at) == (TRICKY, 0, None)


@pytest.mark.django_db
def test_a_row_of_several_models_splits_into_instances_and_a_missing_side_is_none() -> None:
    """``instances_from_row``: each model's columns in turn, converted as the
    ORM converts them; the side of a LEFT JOIN that found nothing is None."""
    from django.db import connection

    from truyvet.core.rawrows import columns_of, instances_from_row

    instances_insert(_message("raw-split"), _event("raw:split"))
    quote = connection.ops.quote_name
    sql = (f"SELECT {columns_of(OutboxMessage, 'm', connection)}, "  # noqa: S608 - names from the models, values bound
           f"{columns_of(AuditEvent, 'e', connection)} "
           f"FROM {quote(OutboxMessage._meta.db_table)} m "
           f"LEFT JOIN {quote(AuditEvent._meta.db_table)} e ON e.target = %s "
           "WHERE m.dedupe_key = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, ["raw:split", "raw-split"])
        found = cursor.fetchone()
        cursor.execute(sql, ["raw:nobody", "raw-split"])
        alone = cursor.fetchone()
    message, event = instances_from_row(connection, found, OutboxMessage, AuditEvent)
    assert message == OutboxMessage.objects.get(dedupe_key="raw-split")
    assert (message.body, message.next_attempt_at) == (
        TRICKY, OutboxMessage.objects.get(pk=message.pk).next_attempt_at)
    assert event == AuditEvent.objects.get(target="raw:split")
    assert event.detail == {"lines": [TRICKY], "n": 1}
    message, event = instances_from_row(connection, alone, OutboxMessage, AuditEvent)
    assert message.dedupe_key == "raw-split" and event is None
