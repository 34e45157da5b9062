"""Two (or more) workers, one due message: exactly one send. Real PostgreSQL connections, one per thread.

A worker that is alive keeps its claim however slow the provider: it renews the lease while it sends."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from mesoclinic.messaging import delivery
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import LocmemSmsBackend

from .factories import queue
from .failing_sms import SleepingSmsBackend

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_worker")]


def at_once(functions):
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # asserted on below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, f)) for n, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_workers_delivering_one_due_reminder_send_it_exactly_once(location):
    message = queue(location, key="reminder:1:2h:1700000000")
    outcomes = at_once([lambda n=n: delivery.deliver(message.pk, worker=f"worker-{n}") for n in range(2)])
    assert sorted(outcomes) == [delivery.SENT, delivery.SKIPPED]
    assert LocmemSmsBackend.calls == ["reminder:1:2h:1700000000"]
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.SENT


def test_ten_workers_racing_one_message_send_it_once(location):
    message = queue(location)
    outcomes = at_once([lambda n=n: delivery.deliver(message.pk, worker=f"worker-{n}") for n in range(10)])
    assert outcomes.count(delivery.SENT) == 1
    assert len(LocmemSmsBackend.calls) == 1


def test_sweepers_at_once_share_the_work_and_send_each_message_once(location):
    messages = [queue(location) for _ in range(60)]
    results = at_once([lambda n=n: delivery.sweep(worker=f"sweeper-{n}", batch=5) for n in range(4)])
    assert sum(result.sent for result in results) == 60
    assert sorted(LocmemSmsBackend.calls) == sorted(message.dedupe_key for message in messages)
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_slow_send_keeps_its_claim_and_is_not_taken_over_by_a_second_worker(location, settings):
    settings.MESOCLINIC_MESSAGE_LEASE_SECONDS = 1
    settings.MESOCLINIC_SMS_BACKEND = "mesoclinic.messaging.tests.failing_sms.SleepingSmsBackend"
    SleepingSmsBackend.seconds = 3.5  # the provider takes three and a half leases
    message = queue(location, key="confirmation:7:1700000000")

    def second_worker():
        time.sleep(2)  # two leases after the first worker's claim
        swept = delivery.sweep(worker="second")
        return delivery.deliver(message.pk, worker="third"), swept.handled

    outcomes = at_once([lambda: delivery.deliver(message.pk, worker="first"), second_worker])

    assert outcomes == [delivery.SENT, (delivery.SKIPPED, 0)]
    assert LocmemSmsBackend.calls == ["confirmation:7:1700000000"]  # the provider was asked once
    message.refresh_from_db()
    assert (message.status, message.attempts, message.claimed_by.startswith("first:")) == ("sent", 1, True)
