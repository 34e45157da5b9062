from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from mesoclinic.core.models import AuditEvent
from mesoclinic.messaging import delivery, services
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import LocmemSmsBackend, message_id_for

from . import failing_sms
from .factories import queue

pytestmark = pytest.mark.django_db


def test_a_due_sms_is_sent_once_and_recorded(location):
    message = queue(location, key="reminder:1:2h:1")
    assert delivery.deliver(message.pk) == delivery.SENT
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    assert message.provider_message_id.startswith("locmem-")
    assert [sms["key"] for sms in LocmemSmsBackend.outbox] == ["reminder:1:2h:1"]
    assert delivery.deliver(message.pk) == delivery.SKIPPED
    assert len(LocmemSmsBackend.calls) == 1
    sent = AuditEvent.objects.get(object_type="message")
    assert sent.action == AuditEvent.Action.EXPORT
    assert sent.detail["status"] == "sent"


def test_an_email_carries_a_message_id_derived_from_the_dedupe_key_and_its_attachment(location):
    message = queue(
        location,
        channel="email",
        key="confirmation:9",
        attachments=[services.Attachment("appointment.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")],
    )
    assert delivery.deliver(message.pk) == delivery.SENT
    (email,) = mail.outbox
    assert email.extra_headers["Message-ID"] == message_id_for("confirmation:9")
    assert email.attachments[0][0] == "appointment.ics"
    message.refresh_from_db()
    assert message.provider_message_id == message_id_for("confirmation:9")


def test_a_message_that_is_not_due_yet_is_left_alone(location):
    message = queue(location, due_at=timezone.now() + timedelta(hours=1))
    assert delivery.deliver(message.pk) == delivery.SKIPPED
    assert delivery.sweep().handled == 0
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.PENDING


def test_a_failure_is_recorded_and_retried_with_exponential_back_off(location, settings):
    settings.MESOCLINIC_SMS_BACKEND = "mesoclinic.messaging.tests.failing_sms.DownSmsBackend"
    failing_sms.DownSmsBackend.calls = 0
    message = queue(location)
    delays = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(2):
            assert delivery.deliver(message.pk) == delivery.RETRY
            message.refresh_from_db()
            assert message.status == OutboundMessage.Status.PENDING
            assert message.last_error == "provider down (test)"
            delays.append(message.next_attempt_at - timezone.now())
            assert delivery.deliver(message.pk) == delivery.SKIPPED  # not due again yet
            clock.move_to(message.next_attempt_at)
        assert delivery.deliver(message.pk) == delivery.FAILED  # third and last attempt (max 3)
    assert delays == [timedelta(seconds=60), timedelta(seconds=120)]
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED
    assert message.attempts == 3
    assert failing_sms.DownSmsBackend.calls == 3
    assert AuditEvent.objects.get(object_type="message").detail["status"] == "failed"


def test_back_off_doubles_and_is_capped(settings):
    settings.MESOCLINIC_MESSAGE_RETRY_SECONDS = 60
    assert [delivery.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert delivery.backoff(30) == timedelta(hours=6)


def test_a_permanent_failure_is_not_retried(location, settings):
    settings.MESOCLINIC_SMS_BACKEND = "mesoclinic.messaging.tests.failing_sms.RefusingSmsBackend"
    message = queue(location)
    assert delivery.deliver(message.pk) == delivery.FAILED
    message.refresh_from_db()
    assert message.attempts == 1
    assert "not reachable" in message.last_error


def test_an_unexpected_error_in_a_sender_is_recorded_not_lost(location, settings, monkeypatch):
    def explode(outgoing):
        raise RuntimeError("bug in sender")

    monkeypatch.setattr("mesoclinic.messaging.senders.send", explode)
    message = queue(location)
    assert delivery.deliver(message.pk) == delivery.RETRY
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.PENDING
    assert "RuntimeError: bug in sender" in message.last_error


def test_a_claim_held_by_a_live_worker_is_respected_and_a_stale_one_is_taken_over(location, settings):
    message = queue(location)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        claimed = delivery.claim(message.pk, worker="worker-a")
        assert claimed is not None and claimed.status == OutboundMessage.Status.SENDING
        assert delivery.deliver(message.pk, worker="worker-b") == delivery.SKIPPED
        clock.shift(timedelta(seconds=settings.MESOCLINIC_MESSAGE_LEASE_SECONDS + 1))
        assert delivery.sweep(worker="worker-b").sent == 1
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT
    assert message.attempts == 2
    assert message.claimed_by.startswith("worker-b:")
    # The first worker's late outcome no longer counts: its claim was taken over.
    assert delivery.record_sent(claimed, "late") == delivery.SENT
    message.refresh_from_db()
    assert message.provider_message_id != "late"


def test_a_sweep_sends_every_due_message_and_nothing_else(location):
    due = [queue(location) for _ in range(3)]
    later = queue(location, due_at=timezone.now() + timedelta(days=1))
    cancelled = queue(location)
    OutboundMessage.objects.filter(pk=cancelled.pk).update(status="cancelled")
    result = delivery.sweep(batch=2)
    assert result.sent == 3
    statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert all(statuses[message.pk] == "sent" for message in due)
    assert statuses[later.pk] == "pending"
    assert statuses[cancelled.pk] == "cancelled"


def test_the_deliver_messages_command_runs_one_sweep(location):
    from django.core.management import call_command

    queue(location)
    call_command("deliver_messages", verbosity=0)
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.SENT


def test_a_manager_can_retry_a_failed_message(location, manager):
    from mesoclinic.core import audit

    message = queue(location)
    OutboundMessage.objects.filter(pk=message.pk).update(status="failed", attempts=3, last_error="down")
    retried = services.retry_message(ctx=audit.AuditContext(actor=manager), message=message)
    assert retried.status == OutboundMessage.Status.PENDING
    assert retried.attempts == 0
    with pytest.raises(services.NotRetryable):
        services.retry_message(ctx=audit.AuditContext(actor=manager), message=message)
    assert delivery.deliver(message.pk) == delivery.SENT
