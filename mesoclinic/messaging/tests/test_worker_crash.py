"""Kill a real worker process in the middle of sending: the message is neither lost nor sent twice,
and the task row of a killed `db_worker` does not stay RUNNING for ever.

The worker is `manage.py deliver_messages` in a subprocess, against this test's PostgreSQL database,
with an SMS backend that sleeps mid-send. It is killed with SIGKILL (no clean-up runs), then other
workers start: before the claim's lease has passed they leave the message alone; after it, one of
them sends it — with the same idempotency key, so a provider that already took it does not
deliver it again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import FileSmsBackend

from .factories import queue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_worker")]
LEASE_SECONDS = 6


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker(tmp_path: Path, *, sleep: float, when: str, command: tuple[str, ...] = ("deliver_messages",)) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MESOCLINIC_SMS_BACKEND": "mesoclinic.messaging.tests.failing_sms.SlowFileSmsBackend",
        "MESOCLINIC_SMS_FILE_PATH": str(tmp_path / "sms"),
        "MESOCLINIC_TEST_SMS_MARKERS": str(tmp_path / "markers"),
        "MESOCLINIC_TEST_SMS_SLEEP": str(sleep),
        "MESOCLINIC_TEST_SMS_SLEEP_WHEN": when,
        "MESOCLINIC_MESSAGE_LEASE_SECONDS": str(LEASE_SECONDS),
        "MESOCLINIC_LOG_LEVEL": "WARNING",
    }
    manage = Path(settings.BASE_DIR) / "manage.py"
    return subprocess.Popen(  # noqa: S603 (our own manage.py, fixed arguments)
        [sys.executable, str(manage), *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for(condition, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the worker did not get there: {process.communicate()[0]}")
        time.sleep(0.05)


@pytest.mark.parametrize("when", ["before", "after"], ids=["killed-before-the-provider-took-it", "killed-before-the-outcome-was-recorded"])
def test_a_worker_killed_mid_send_never_loses_and_never_duplicates_the_message(tmp_path, location, when):
    message = queue(location, key="reminder:42:2h:1700000000")
    provider = FileSmsBackend(tmp_path / "sms")

    first = worker(tmp_path, sleep=60, when=when)
    wait_for(lambda: any((tmp_path / "markers").glob(f"started-{first.pid}")), first)
    if when == "after":
        wait_for(lambda: len(provider.deliveries()) == 1, first)
    claimed_at = OutboundMessage.objects.get(pk=message.pk).claimed_at
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)

    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENDING  # the claim outlived its worker

    # A second worker right away: the claim is still within its lease, so it is left alone.
    early = worker(tmp_path, sleep=0, when=when)
    output, _ = early.communicate(timeout=60)
    assert "sent 0" in output, output
    assert (OutboundMessage.objects.get(pk=message.pk).claimed_at - claimed_at).total_seconds() < LEASE_SECONDS

    # After the lease: a third worker takes the message over and sends it.
    time.sleep(max(0.0, LEASE_SECONDS - (time.time() - claimed_at.timestamp())) + 0.5)
    late = worker(tmp_path, sleep=0, when=when)
    output, _ = late.communicate(timeout=60)
    assert "sent 1" in output, output

    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT
    assert message.attempts == 2
    deliveries = provider.deliveries()
    assert [delivery["key"] for delivery in deliveries] == ["reminder:42:2h:1700000000"]  # exactly once at the provider


def test_the_task_row_of_a_killed_db_worker_is_marked_failed_and_the_outbox_still_sends_the_message(tmp_path, location, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    with transaction.atomic():
        message = queue(location, key="confirmation:43:1700000000")
    (task,) = DBTaskResult.objects.filter(task_path="mesoclinic.messaging.tasks.deliver_messages")
    provider = FileSmsBackend(tmp_path / "sms")

    killed = worker(tmp_path, sleep=60, when="before", command=("db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.2"))
    wait_for(lambda: any((tmp_path / "markers").glob(f"started-{killed.pid}")), killed)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=10)
    task.refresh_from_db()
    assert task.status == "RUNNING"  # what django-tasks-db leaves behind on its own

    # Within the lease the worker might still be alive: the sweep leaves its task alone.
    output, _ = worker(tmp_path, sleep=0, when="before").communicate(timeout=60)
    assert "sent 0" in output and "lost workers" not in output, output
    task.refresh_from_db()
    assert task.status == "RUNNING"

    time.sleep(LEASE_SECONDS + 0.5)
    output, _ = worker(tmp_path, sleep=0, when="before").communicate(timeout=60)
    assert "marked 1 task(s) of lost workers failed" in output and "sent 1" in output, output

    task.refresh_from_db()
    assert (task.status, task.exception_class_path) == ("FAILED", "mesoclinic.messaging.workers.WorkerLost")
    assert task.finished_at is not None
    message.refresh_from_db()
    assert message.status == "sent"
    assert [delivery["key"] for delivery in provider.deliveries()] == ["confirmation:43:1700000000"]
