"""Task rows of workers that stopped beating are marked failed by the sweep; a live worker's are not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mesoclinic.messaging import workers
from mesoclinic.messaging.models import WorkerBeat

pytestmark = pytest.mark.django_db


def running(worker_id: str, *, started_minutes_ago: float) -> DBTaskResult:
    return DBTaskResult.objects.create(
        status="RUNNING",
        started_at=timezone.now() - timedelta(minutes=started_minutes_ago),
        args_kwargs={"args": [[1]], "kwargs": {}},
        task_path="mesoclinic.messaging.tasks.deliver_messages",
        worker_ids=[worker_id],
        backend_name="default",
        run_after=timezone.now(),
    )


def test_only_the_tasks_of_workers_silent_for_a_lease_are_marked_failed(capsys):
    now = timezone.now()
    WorkerBeat.objects.create(worker_id="alive", beat_at=now - timedelta(seconds=30))
    WorkerBeat.objects.create(worker_id="dead", beat_at=now - timedelta(minutes=20))
    slow = running("alive", started_minutes_ago=30)  # a long task of a live worker
    lost = running("dead", started_minutes_ago=30)
    never_beat = running("old-code", started_minutes_ago=30)
    just_started = running("new", started_minutes_ago=0.1)  # its first beat may still be on the way

    call_command("deliver_messages")

    assert "marked 2 task(s) of lost workers failed" in capsys.readouterr().out
    statuses = {task.pk: task.status for task in DBTaskResult.objects.all()}
    assert statuses == {slow.pk: "RUNNING", lost.pk: "FAILED", never_beat.pk: "FAILED", just_started.pk: "RUNNING"}
    lost.refresh_from_db()
    assert lost.exception_class_path == "mesoclinic.messaging.workers.WorkerLost" and "stopped beating" in lost.traceback
    assert workers.reap_abandoned_tasks() == 0  # done once


def test_a_worker_beats_while_its_task_runs_and_stops_when_it_finishes(settings):
    settings.MESOCLINIC_MESSAGE_LEASE_SECONDS = 3  # a beat every second
    workers.start_beating("w-1")
    thread, _stop = workers._beating["w-1"]
    first = WorkerBeat.objects.get(worker_id="w-1").beat_at
    assert first > timezone.now() - timedelta(seconds=5)
    assert thread.is_alive()

    workers.stop_beating("w-1")
    thread.join(timeout=5)
    assert not thread.is_alive()  # no thread outlives the task it vouches for
    assert "w-1" not in workers._beating
