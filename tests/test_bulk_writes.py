"""``truyvet.core.bulk``: many rows by COPY on PostgreSQL (bulk_create and
bulk_update on SQLite), with the same stored values either way: text with
tabs, newlines, backslashes and Vietnamese, JSON, times, NULLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from truyvet.core.bulk import (
    POSTGRES_EPOCH_MICROSECONDS,
    Int64Array,
    TextArray,
    TimestampArray,
    column_cursor,
    rows_insert,
    rows_update,
)
from truyvet.core.models import AuditAction, AuditEvent, OutboxChannel, OutboxMessage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TRICKY = "Chợ Thanh Nhật\tquầy 3\ndòng 2 \\N \\\\ \"trích\" 'dẫn'"


@pytest.mark.django_db
def test_inserted_rows_read_back_as_written() -> None:
    now = timezone.now().replace(microsecond=123456)
    rows_insert(OutboxMessage, [
        OutboxMessage(channel=OutboxChannel.SMS, dedupe_key=f"bulk-{n}", body=f"{TRICKY} {n}",
                      phone="+84912345678", next_attempt_at=now, created_at=now)
        for n in range(3)
    ])
    stored = list(OutboxMessage.objects.filter(dedupe_key__startswith="bulk-")
                  .order_by("dedupe_key"))
    assert [m.body for m in stored] == [f"{TRICKY} {n}" for n in range(3)]
    assert all(m.created_at == now and m.sent_at is None and m.attempts == 0 for m in stored)
    assert all(m.subject == "" for m in stored)


@pytest.mark.django_db
def test_json_goes_in_as_json() -> None:
    detail = {"visits": [{"venue": TRICKY, "minutes": 79}], "none": None, "list": [1, 2.5]}
    rows_insert(AuditEvent, [AuditEvent(action=AuditAction.TRACE_RUN, purpose=TRICKY,
                                        target="bulk", detail=detail)])
    event = AuditEvent.objects.get(target="bulk")
    assert event.detail == detail and event.purpose == TRICKY


@pytest.mark.django_db
def test_updates_write_only_the_named_fields_of_the_named_rows() -> None:
    later = timezone.now() + timedelta(hours=1)
    for n in range(3):
        OutboxMessage.objects.create(channel=OutboxChannel.SMS, dedupe_key=f"up-{n}",
                                     phone="+84912345678", body="trước", subject="giữ nguyên")
    first, second, _third = OutboxMessage.objects.filter(dedupe_key__startswith="up-").order_by(
        "dedupe_key")
    for message in (first, second):
        message.body, message.attempts, message.sent_at = TRICKY, 2, later
        message.subject = "không được ghi"  # not named: stays
    rows_update(OutboxMessage, [first, second], ["body", "attempts", "sent_at"])
    after = {m.dedupe_key: m for m in OutboxMessage.objects.filter(dedupe_key__startswith="up-")}
    for key in ("up-0", "up-1"):
        assert (after[key].body, after[key].attempts, after[key].sent_at) == (TRICKY, 2, later)
        assert after[key].subject == "giữ nguyên"
    assert (after["up-2"].body, after["up-2"].attempts, after["up-2"].sent_at) == (
        "trước", 0, None)


@pytest.mark.django_db
def test_nothing_to_write_is_fine() -> None:
    rows_insert(OutboxMessage, [])
    rows_update(OutboxMessage, [], ["body"])
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="binary array parameters are PostgreSQL's wire format")
def test_array_parameters_reach_postgresql_as_written() -> None:
    moments = [timezone.now().replace(microsecond=us) for us in (0, 1, 500_000, 999_999)]
    micros = [(moment - EPOCH) // timedelta(microseconds=1) for moment in moments]
    texts = [TRICKY, "", '[{"venue_name": "Ch\\u1ee3"}]', "ừ"]
    with column_cursor() as cursor:
        cursor.execute(
            "SELECT %s::bigint[], %s::timestamptz[], %s::text[], %s::bigint[], "
            "%s::text[], cardinality(%s::bigint[])",
            [Int64Array.of([1, -2, 2**62 + 1]), TimestampArray.of(micros), TextArray.of(texts),
             Int64Array.of([]), TextArray.of([]), Int64Array.of([])],
        )
        numbers, times, stored_texts, no_numbers, no_texts, count = cursor.fetchone()
    assert numbers.tolist() == [1, -2, 2**62 + 1]
    assert (times + POSTGRES_EPOCH_MICROSECONDS).tolist() == micros
    assert stored_texts == texts
    assert no_numbers.tolist() == [] and no_texts == [] and count == 0


@pytest.mark.django_db
def test_values_go_in_with_their_keys_choices_as_values_and_json_as_json() -> None:
    """``values_insert`` (an offline batch's receipts and audit rows): tuples
    of field values, primary keys included; a choice is stored as its value
    (psycopg alone would write an Enum's *name*)."""
    from truyvet.core.bulk import values_insert

    now = timezone.now().replace(microsecond=654321)
    detail = {"at_venue": TRICKY, "duplicate": False}
    values_insert(AuditEvent, ("id", "at", "action", "purpose", "target", "detail"), [
        (9_001, now, AuditAction.TRACE_RUN, TRICKY, "values", detail),
        (9_002, now, AuditAction.TRACE_RUN.value, "", "values", {}),
    ])
    stored = list(AuditEvent.objects.filter(target="values").order_by("id"))
    assert [e.pk for e in stored] == [9_001, 9_002]
    assert [e.action for e in stored] == [AuditAction.TRACE_RUN.value] * 2
    assert stored[0].detail == detail and stored[0].purpose == TRICKY and stored[0].at == now
    values_insert(AuditEvent, ("id",), [])  # nothing to write


@pytest.mark.django_db
def test_a_key_already_taken_is_djangos_integrity_error() -> None:
    """What the batch's fallback catches (``batch._batch_flush``), on the
    COPY path too, and nothing of the failed write is kept."""
    from django.db import IntegrityError, transaction

    from truyvet.core.bulk import values_insert

    now = timezone.now()
    names = ("id", "at", "action", "purpose", "target", "detail")
    values_insert(AuditEvent, names, [(9_101, now, "trace.run", "", "taken", {})])
    with pytest.raises(IntegrityError), transaction.atomic():
        values_insert(AuditEvent, names, [(9_102, now, "trace.run", "", "taken", {}),
                                          (9_101, now, "trace.run", "", "taken", {})])
    assert list(AuditEvent.objects.filter(target="taken").values_list("id", flat=True)) == [
        9_101]
