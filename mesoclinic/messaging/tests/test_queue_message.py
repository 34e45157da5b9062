from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mesoclinic.messaging import services
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import LocmemSmsBackend

from .factories import queue

pytestmark = pytest.mark.django_db


def test_queueing_the_same_key_twice_keeps_one_message(location):
    first = queue(location, key="reminder:1:48h:1700000000")
    second = queue(location, key="reminder:1:48h:1700000000", body="different text")
    assert first.pk == second.pk
    assert OutboundMessage.objects.count() == 1
    assert OutboundMessage.objects.get().body == "Your appointment is tomorrow at 10:00."


def test_the_kind_defaults_to_the_first_part_of_the_key(location):
    assert queue(location, key="reminder:7:2h:1").kind == "reminder"


def test_a_cancelled_message_queued_again_is_revived_with_the_new_content(location):
    message = queue(location, key="reminder:1:2h:5")
    services.cancel_messages(related=location)
    revived = queue(location, key="reminder:1:2h:5", body="new text")
    assert revived.pk == message.pk
    assert revived.status == OutboundMessage.Status.PENDING
    assert revived.body == "new text"


def test_a_sent_message_is_never_queued_again(location):
    message = queue(location, key="confirmation:1")
    OutboundMessage.objects.filter(pk=message.pk).update(status="sent", sent_at=timezone.now())
    again = queue(location, key="confirmation:1")
    assert again.status == OutboundMessage.Status.SENT
    assert OutboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("channel", "recipient", "reason"),
    [
        ("email", "not-an-address", "'not-an-address' is not an e-mail address"),
        ("sms", "12", "'12' is not a phone number"),
        ("sms", "call me", "'call me' is not a phone number"),
        ("email", "", "no e-mail address on file"),
        ("sms", "  ", "no phone number on file"),
    ],
)
def test_a_message_to_an_address_that_cannot_receive_it_is_kept_as_undeliverable_with_the_reason(
    location, channel, recipient, reason, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = services.queue_message(
            channel=channel, recipient=recipient, subject="", body="x", due_at=timezone.now(), dedupe_key="k", related=location
        )
    stored = OutboundMessage.objects.get()
    assert (stored.pk, stored.status, stored.last_error) == (message.pk, OutboundMessage.Status.UNDELIVERABLE, reason)
    assert callbacks == []  # nothing to deliver: no task
    assert LocmemSmsBackend.calls == []


def test_it_refuses_an_unknown_channel(location):
    with pytest.raises(ValueError, match="channel"):
        services.queue_message(channel="fax", recipient="x", subject="", body="x", due_at=timezone.now(), dedupe_key="k", related=location)


def test_cancel_touches_only_pending_messages_of_that_object_and_kind(location, other_location):
    reminder = queue(location, key="reminder:a")
    confirmation = queue(location, key="confirmation:a")
    elsewhere = queue(other_location, key="reminder:b")
    sending = queue(location, key="reminder:c")
    OutboundMessage.objects.filter(pk=sending.pk).update(status="sending", claimed_at=timezone.now())
    assert services.cancel_messages(related=location, kinds=["reminder"]) == 1
    statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert statuses[reminder.pk] == "cancelled"
    assert statuses[confirmation.pk] == "pending"
    assert statuses[elsewhere.pk] == "pending"
    assert statuses[sending.pk] == "sending"


def test_reschedule_moves_pending_messages_by_a_shift_or_to_a_time(location):
    due = timezone.now() + timedelta(hours=5)
    message = queue(location, due_at=due)
    assert services.reschedule_messages(related=location, shift=timedelta(hours=2)) == 1
    message.refresh_from_db()
    assert message.due_at == message.next_attempt_at == due + timedelta(hours=2)
    services.reschedule_messages(related=location, due_at=due)
    message.refresh_from_db()
    assert message.due_at == due
    with pytest.raises(ValueError, match="exactly one"):
        services.reschedule_messages(related=location)


def test_a_batch_writes_its_messages_with_one_insert_and_one_select(location, django_capture_on_commit_callbacks):
    old = queue(location, key="reminder:1:48h:1")
    services.cancel_messages(related=location)
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), services.batch():
        first = queue(location, key="confirmation:1")
        revived = queue(location, key="reminder:1:48h:1", body="moved back")
        again = queue(location, key="confirmation:1", body="a second click")
        assert first.pk is None  # written when the batch ends
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and "messaging_outboundmessage" in q["sql"]]
    assert len(inserts) == 1 and "messaging_outboundmessage" in inserts[0]
    assert len(selects) == 2  # the rows by key, and the cancelled one locked to revive it
    assert revived.pk == old.pk and first.pk == again.pk is not None
    assert OutboundMessage.objects.get(pk=old.pk).body == "moved back"
    assert OutboundMessage.objects.get(pk=first.pk).body == "Your appointment is tomorrow at 10:00."
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"pending"}


def test_a_batch_that_raises_writes_nothing(location):
    with pytest.raises(RuntimeError), transaction.atomic(), services.batch():
        queue(location)
        raise RuntimeError("the booking was refused")
    assert not OutboundMessage.objects.exists()
