"""The worker path: a queued message enqueues its delivery task after commit, deferred to its due
time; the safety-net sweep task keeps exactly one chain of itself scheduled while work remains."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks import task_backends

from mesoclinic.messaging import delivery, tasks
from mesoclinic.messaging.models import OutboundMessage, OutboxSweep
from mesoclinic.messaging.senders import LocmemSmsBackend

from .factories import queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def dummy_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = task_backends["default"]
    backend.clear()
    return backend


def enqueued(backend, name):
    return [result for result in backend.results if result.task.name == name]


def test_a_due_message_enqueues_its_delivery_after_commit(location, dummy_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(location)
    (result,) = enqueued(dummy_backend, "deliver_messages")
    assert result.args == [[message.pk]]
    assert result.task.run_after is None
    assert len(enqueued(dummy_backend, "sweep_outbox")) == 1


def test_a_later_message_is_deferred_to_its_due_time(location, dummy_backend, django_capture_on_commit_callbacks):
    due = timezone.now() + timedelta(hours=48)
    with django_capture_on_commit_callbacks(execute=True):
        queue(location, due_at=due)
    (result,) = enqueued(dummy_backend, "deliver_messages")
    assert result.task.run_after == due


def test_one_transaction_queueing_several_messages_enqueues_one_task_at_the_earliest_due_time(
    location, dummy_backend, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        later = queue(location, due_at=now + timedelta(hours=48))
        sooner = queue(location, due_at=now + timedelta(hours=2))
    (result,) = enqueued(dummy_backend, "deliver_messages")
    assert result.args == [sorted([later.pk, sooner.pk])]
    assert result.task.run_after == now + timedelta(hours=2)


def test_the_delivery_task_sends_what_is_due_and_comes_back_for_the_rest(location, dummy_backend, django_capture_on_commit_callbacks):
    due = queue(location)
    later = queue(location, due_at=timezone.now() + timedelta(hours=2))
    dummy_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = tasks.deliver_messages.call([due.pk, later.pk])
    assert outcomes == {"sent": 1, "skipped": 1}
    (again,) = enqueued(dummy_backend, "deliver_messages")
    assert again.args == [[due.pk, later.pk]] and again.task.run_after == later.due_at


def test_a_rolled_back_savepoint_does_not_lose_the_next_messages_delivery(location, dummy_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                queue(location)
                raise RuntimeError("the booking was refused")
        except RuntimeError:
            pass
        kept = queue(location)
    (result,) = enqueued(dummy_backend, "deliver_messages")
    assert result.args == [[kept.pk]]


def test_nothing_is_enqueued_when_the_transaction_rolls_back(location, dummy_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queue(location)
    assert callbacks  # registered for commit only; a rollback drops them with the row
    assert dummy_backend.results == []


def test_the_sweeper_is_armed_once_not_once_per_message(location, dummy_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            queue(location)
    assert len(enqueued(dummy_backend, "sweep_outbox")) == 1
    assert OutboxSweep.objects.get().next_run_at is not None


def test_the_sweep_task_sends_and_re_arms_only_while_work_remains(location, dummy_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queue(location)
        later = queue(location, due_at=timezone.now() + timedelta(hours=2))
    (sweep,) = enqueued(dummy_backend, "sweep_outbox")
    dummy_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_outbox.call(**sweep.kwargs) == {"sent": 1, "retry": 0, "failed": 0}
    (next_sweep,) = enqueued(dummy_backend, "sweep_outbox")
    assert next_sweep.task.run_after >= later.due_at  # nothing due before then: no busy polling
    # A superseded sweep (not the scheduled one) runs but does not start a second chain.
    dummy_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_outbox.call(scheduled_for=(timezone.now() - timedelta(hours=1)).isoformat())
    assert enqueued(dummy_backend, "sweep_outbox") == []
    # Once everything is sent, the chain stops.
    OutboundMessage.objects.update(status="sent", sent_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_outbox.call(**next_sweep.kwargs)
    assert enqueued(dummy_backend, "sweep_outbox") == []
    assert OutboxSweep.objects.get().next_run_at is None


def test_the_deliver_task_sends_the_message(location):
    message = queue(location)
    assert tasks.deliver_message.call(message.pk) == delivery.SENT
    assert len(LocmemSmsBackend.outbox) == 1


def test_with_the_immediate_backend_a_due_message_is_sent_on_commit(location, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(location)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT
