"""The check-in message through the outbox: two workers send it once; a failed delivery is retried with
back-off and lands on the failed-delivery worklist; a worker killed mid-send neither loses nor repeats it."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.messaging import delivery, selectors
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import FileSmsBackend, LocmemSmsBackend
from mesoclinic.messaging.tests.test_worker_crash import LEASE_SECONDS, wait_for, worker
from mesoclinic.messaging.tests.test_workers_at_once import at_once
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory

from .factories import issued, signed_session

pytestmark = [pytest.mark.usefixtures("no_worker")]


def sms_session(location, *, signed_hours_ago: float = 0):
    patient = PatientFactory(location=location, preferred_channel=Patient.Channel.SMS)
    session = signed_session(location, patient=patient, signed_at=timezone.now().replace(microsecond=0) - timedelta(hours=signed_hours_ago))
    handout = issued(session)
    handout_message = OutboundMessage.objects.get(kind="aftercare-handout")
    checkin_message = OutboundMessage.objects.get(kind="aftercare-checkin")
    return handout, handout_message, checkin_message


@pytest.mark.django_db
def test_the_check_in_waits_for_its_time_then_the_worker_sends_it_with_the_link(location):
    handout, handout_message, checkin_message = sms_session(location)
    result = delivery.sweep(worker="w")
    assert result.sent == 1  # the handout, at once; the check-in is not due yet
    assert [sent["key"] for sent in LocmemSmsBackend.outbox] == [handout_message.dedupe_key]
    with time_machine.travel(handout.checkin.due_at + timedelta(seconds=1)):
        assert delivery.sweep(worker="w").sent == 1
    [_, checkin_sms] = LocmemSmsBackend.outbox
    assert checkin_sms["key"] == checkin_message.dedupe_key and "https://clinic.example/check-in/" in checkin_sms["body"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_and_one_due_check_in_send_it_once(location):
    _, handout_message, checkin_message = sms_session(location, signed_hours_ago=7)
    delivery.deliver(handout_message.pk, worker="earlier")
    LocmemSmsBackend.reset()
    outcomes = at_once([lambda n=n: delivery.deliver(checkin_message.pk, worker=f"worker-{n}") for n in range(2)])
    assert sorted(outcomes) == [delivery.SENT, delivery.SKIPPED]
    assert LocmemSmsBackend.calls == [checkin_message.dedupe_key]
    assert OutboundMessage.objects.get(pk=checkin_message.pk).status == OutboundMessage.Status.SENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeping_workers_send_the_due_check_in_once(location):
    _, handout_message, checkin_message = sms_session(location, signed_hours_ago=7)
    results = at_once([lambda n=n: delivery.sweep(worker=f"sweeper-{n}") for n in range(2)])
    assert sum(result.sent for result in results) == 2  # the handout and the check-in, each once
    assert sorted(LocmemSmsBackend.calls) == sorted([handout_message.dedupe_key, checkin_message.dedupe_key])


@pytest.mark.django_db
def test_a_failed_check_in_delivery_is_retried_with_back_off_then_listed_as_failed(client, location, settings):
    settings.MESOCLINIC_SMS_BACKEND = "mesoclinic.messaging.tests.failing_sms.DownSmsBackend"
    settings.MESOCLINIC_MESSAGE_MAX_ATTEMPTS = 3
    settings.MESOCLINIC_MESSAGE_RETRY_SECONDS = 60
    _, handout_message, checkin_message = sms_session(location, signed_hours_ago=7)
    delivery.deliver(handout_message.pk, worker="w")
    started = timezone.now()
    assert delivery.deliver(checkin_message.pk, worker="w") == delivery.RETRY
    checkin_message.refresh_from_db()
    assert checkin_message.status == OutboundMessage.Status.PENDING and checkin_message.attempts == 1
    assert checkin_message.next_attempt_at >= started + timedelta(seconds=60)
    assert "provider down" in checkin_message.last_error
    assert delivery.deliver(checkin_message.pk, worker="w") == delivery.SKIPPED  # not before the back-off
    with time_machine.travel(checkin_message.next_attempt_at + timedelta(seconds=1)):
        assert delivery.deliver(checkin_message.pk, worker="w") == delivery.RETRY
    checkin_message.refresh_from_db()
    assert checkin_message.next_attempt_at - timezone.now() > timedelta(seconds=100)  # the second wait is twice the first
    with time_machine.travel(checkin_message.next_attempt_at + timedelta(seconds=1)):
        assert delivery.deliver(checkin_message.pk, worker="w") == delivery.FAILED
    failed = selectors.failed_messages(scope=frozenset({location.pk}))
    assert checkin_message.pk in [message.pk for message in failed]
    assert selectors.failed_messages(scope=frozenset({location.pk + 1000})) == []
    client.force_login(UserFactory(role=Role.MANAGER, locations=[location]))
    worklist = client.get(reverse("messaging:failed-list")).content.decode()
    assert checkin_message.recipient in worklist and "aftercare-checkin" in worklist


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("when", ["before", "after"], ids=["killed-before-the-provider-took-it", "killed-before-the-outcome-was-recorded"])
def test_a_worker_killed_while_sending_the_check_in_sends_it_exactly_once(tmp_path, location, when):
    _, handout_message, checkin_message = sms_session(location, signed_hours_ago=7)
    delivery.deliver(handout_message.pk, worker="earlier")  # the handout went at sign-off
    provider = FileSmsBackend(tmp_path / "sms")

    first = worker(tmp_path, sleep=60, when=when)
    wait_for(lambda: any((tmp_path / "markers").glob(f"started-{first.pid}")), first)
    if when == "after":
        wait_for(lambda: len(provider.deliveries()) == 1, first)
    claimed_at = OutboundMessage.objects.get(pk=checkin_message.pk).claimed_at
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert OutboundMessage.objects.get(pk=checkin_message.pk).status == OutboundMessage.Status.SENDING

    time.sleep(max(0.0, LEASE_SECONDS - (time.time() - claimed_at.timestamp())) + 0.5)
    second = worker(tmp_path, sleep=0, when=when)
    output, _ = second.communicate(timeout=60)
    assert "sent 1" in output, output

    checkin_message.refresh_from_db()
    assert checkin_message.status == OutboundMessage.Status.SENT
    deliveries = provider.deliveries()
    assert [sent["key"] for sent in deliveries] == [checkin_message.dedupe_key]  # exactly once at the provider
    assert "/check-in/" in deliveries[0]["body"]
