"""The notification outbox (``truyvet.core.outbox``) that tracing alerts go
through: sent once, retried with backoff, delivered by the worker, e-mail
through Django's EMAIL_BACKEND."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from truyvet.core import outbox, sms
from truyvet.core.models import OutboxChannel, OutboxMessage, OutboxStatus
from truyvet.core.outbox import Message, outbox_deliver_due, outbox_enqueue, retry_delay


def an_sms(key: str = "test:1", phone: str = "+84912000111") -> Message:
    return Message(channel=OutboxChannel.SMS, dedupe_key=key, phone=phone,
                   body="Cảnh báo COVID-19: thử nghiệm")


@pytest.mark.django_db
class TestTheOutbox:
    def test_the_same_key_is_stored_and_sent_once(self) -> None:
        assert outbox_enqueue(messages=[an_sms(), an_sms()]) == ["test:1"]
        assert outbox_enqueue(messages=[an_sms()]) == []
        outbox_deliver_due()
        outbox_deliver_due()
        assert OutboxMessage.objects.count() == 1
        assert [m.to for m in sms.outbox] == ["+84912000111"]

    def test_messages_enqueued_in_a_rolled_back_transaction_are_never_sent(self) -> None:
        with transaction.atomic():
            outbox_enqueue(messages=[an_sms()])
            transaction.set_rollback(True)
        outbox_deliver_due()
        assert not OutboxMessage.objects.exists() and sms.outbox == []

    def test_a_failure_is_retried_later_with_a_doubling_delay_then_given_up(
        self, monkeypatch: pytest.MonkeyPatch, settings: Any
    ) -> None:
        settings.OUTBOX_MAX_ATTEMPTS = 3
        settings.OUTBOX_RETRY_SECONDS = 60

        def gateway_down(*, to: str, body: str) -> None:
            raise sms.SmsDeliveryError("gateway answered 503")

        monkeypatch.setattr(outbox, "send_sms", gateway_down)
        outbox_enqueue(messages=[an_sms()])
        now = timezone.now()

        first = outbox_deliver_due(now=now)
        message = OutboxMessage.objects.get()
        assert first.retrying == 1 and message.attempts == 1
        assert message.next_attempt_at == now + timedelta(seconds=60)
        assert "503" in message.last_error
        assert outbox_deliver_due(now=now + timedelta(seconds=59)).retrying == 0  # not yet due

        outbox_deliver_due(now=now + timedelta(seconds=60))
        message.refresh_from_db()
        assert message.attempts == 2
        assert message.next_attempt_at == now + timedelta(seconds=60 + 120)

        last = outbox_deliver_due(now=now + timedelta(seconds=180))
        message.refresh_from_db()
        assert last.failed == 1
        assert (message.status, message.attempts) == (OutboxStatus.FAILED, 3)
        assert outbox_deliver_due(now=now + timedelta(days=1)).failed == 0

    def test_a_message_that_failed_once_is_sent_on_the_retry(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[str] = []

        def flaky(*, to: str, body: str) -> None:
            calls.append(to)
            if len(calls) == 1:
                raise sms.SmsDeliveryError("timeout")

        monkeypatch.setattr(outbox, "send_sms", flaky)
        outbox_enqueue(messages=[an_sms()])
        now = timezone.now()
        outbox_deliver_due(now=now)
        outbox_deliver_due(now=now + timedelta(hours=2))
        message = OutboxMessage.objects.get()
        assert (message.status, message.attempts, len(calls)) == (OutboxStatus.SENT, 2, 2)
        assert message.last_error == ""

    def test_the_delay_is_capped_at_an_hour(self, settings: Any) -> None:
        settings.OUTBOX_RETRY_SECONDS = 60
        assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
        assert retry_delay(20) == timedelta(hours=1)

    def test_a_claimed_message_is_not_sent_again_by_a_second_worker(self) -> None:
        outbox_enqueue(messages=[an_sms()])
        now = timezone.now()
        claimed = outbox._claim(now, 10)  # a worker took it and is still sending
        assert len(claimed) == 1
        assert outbox_deliver_due(now=now).sent == 0
        # If that worker died, the lease runs out and the message is sent.
        assert outbox_deliver_due(now=now + outbox.CLAIM_LEASE).sent == 1

    def test_e_mail_goes_through_the_configured_backend(self) -> None:
        outbox_enqueue(messages=[Message(
            channel=OutboxChannel.EMAIL, dedupe_key="mail:1", email="yte@halang.gov.vn",
            subject="Cảnh báo", body="Nội dung tiếng Việt",
        )])
        assert outbox_deliver_due().sent == 1
        assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
            (["yte@halang.gov.vn"], "Cảnh báo", "Nội dung tiếng Việt")]

    def test_bad_messages_are_refused_before_anything_is_stored(self) -> None:
        with pytest.raises(ValueError, match="phone"):
            outbox_enqueue(messages=[an_sms("ok:1"), an_sms("bad", phone="")])
        with pytest.raises(ValueError, match="user"):
            outbox_enqueue(messages=[Message(channel=OutboxChannel.INAPP, dedupe_key="x",
                                             body="x")])
        assert not OutboxMessage.objects.exists()

    def test_the_worker_schedule_exists_after_migrate(self) -> None:
        from django_q.models import Schedule

        from truyvet.core.tasks import OUTBOX_TASK_FUNC, OUTBOX_TASK_NAME

        schedule = Schedule.objects.get(name=OUTBOX_TASK_NAME)
        assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
            OUTBOX_TASK_FUNC, Schedule.MINUTES, 1)

    def test_the_task_the_worker_runs_delivers(self) -> None:
        from django.utils.module_loading import import_string

        from truyvet.core.tasks import OUTBOX_TASK_FUNC

        outbox_enqueue(messages=[an_sms()])
        assert import_string(OUTBOX_TASK_FUNC)() == {"sent": 1, "retrying": 0, "failed": 0}


@pytest.mark.django_db
def test_movement_details_are_erased_after_the_retention_period(
    personas: Any, story: dict[str, Any]
) -> None:
    from truyvet.tracing import services
    from truyvet.tracing.models import Contact, ExposureSite
    from truyvet.tracing.tasks import tracing_purge_expired
    from truyvet.tracing.tests.conftest import f0

    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    services.exposure_notify(actor=personas.health_worker, case=case, notify_contacts=False,
                             notify_venues=False, publish_sites=True)
    school_day = Contact.objects.get(person=story["lan"]).last_exposure_at

    # The market visits (50 hours ago) expire before the school ones (30 hours ago).
    later = story["at_market"] + timedelta(days=21, hours=5)
    counts = tracing_purge_expired(now=later)

    assert counts == {"contacts_erased": 2, "sites_deleted": 1}  # Đức and Sơn
    assert Contact.objects.get(person=story["lan"]).visits  # not yet
    assert Contact.objects.get(person=story["duc"]).visits == []
    assert Contact.objects.get(person=story["duc"]).overlap_minutes == 30  # totals stay
    assert list(ExposureSite.objects.values_list("venue__name", flat=True)) == [
        "Trường THCS An Lạc"]
    assert school_day > later - timedelta(days=21)
