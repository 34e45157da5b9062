"""Task rows of workers that died: found by the sweep and marked failed, never left RUNNING.

django-tasks-db marks a task RUNNING when a worker takes it and SUCCESSFUL or FAILED when the
task returns. A worker killed in between (SIGKILL, the machine lost) leaves the row RUNNING for
ever. So every worker process beats while it runs a task: when it starts one (the `task_started`
signal) it writes a `WorkerBeat` row, and a daemon thread renews it every third of a lease until the
task finishes (`task_finished`) — a long task of a live worker is never taken for lost, and no
thread outlives the work it vouches for.

The sweep (`manage.py deliver_messages` and the `sweep_outbox` task) calls
`reap_abandoned_tasks()`: a RUNNING task that started more than a lease ago and whose worker has
not beaten for a lease is marked FAILED, naming `WorkerLost`. It is not re-queued: a task could
have done part of its work, and the outbox needs no re-run — the message row is the truth, its
claim goes stale after the same lease and the sweep sends it (see docs/decisions/0010).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone
from django_tasks.signals import task_finished, task_started

from .delivery import heartbeat_seconds, lease, worker_name
from .models import WorkerBeat

log = logging.getLogger(__name__)

_beating: dict[str, tuple[threading.Thread, threading.Event]] = {}
_lock = threading.Lock()


class WorkerLost(Exception):
    """The worker running this task stopped beating: it was killed or its machine was lost."""


def beat(worker_id: str) -> None:
    WorkerBeat.objects.update_or_create(worker_id=worker_id[:64], defaults={"beat_at": timezone.now(), "process": worker_name()[:100]})


def _beat_for_ever(worker_id: str, stop: threading.Event) -> None:
    while not stop.wait(heartbeat_seconds()):
        try:
            beat(worker_id)
        except DatabaseError:
            log.warning("worker %s could not record its heartbeat", worker_id, exc_info=True)
        finally:
            connection.close()


def start_beating(worker_id: str) -> None:
    """Record that this worker is alive now, and keep recording it from a daemon thread until
    `stop_beating` (its task finished)."""
    beat(worker_id)
    with _lock:
        if worker_id in _beating:
            return
        stop = threading.Event()
        thread = threading.Thread(target=_beat_for_ever, args=(worker_id, stop), name=f"worker-beat-{worker_id}", daemon=True)
        _beating[worker_id] = (thread, stop)
        thread.start()


def stop_beating(worker_id: str) -> None:
    with _lock:
        running = _beating.pop(worker_id, None)
    if running is not None:
        running[1].set()


def _database_worker(task_result: Any) -> str | None:
    """The id of the database-queue worker running `task_result` (only those leave rows that can be orphaned)."""
    from django_tasks_db.backend import TaskResult as DatabaseTaskResult

    if isinstance(task_result, DatabaseTaskResult) and task_result.worker_ids:
        return str(task_result.worker_ids[-1])
    return None


def on_task_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    worker_id = _database_worker(task_result)
    if worker_id:
        start_beating(worker_id)


def on_task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    worker_id = _database_worker(task_result)
    if worker_id:
        stop_beating(worker_id)


def connect() -> None:
    task_started.connect(on_task_started, dispatch_uid="mesoclinic.messaging.workers.on_task_started")
    task_finished.connect(on_task_finished, dispatch_uid="mesoclinic.messaging.workers.on_task_finished")


def reap_abandoned_tasks() -> int:
    """Mark failed the RUNNING task rows whose worker has stopped beating. Returns how many."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    cutoff = now - lease()
    running = list(DBTaskResult.objects.filter(status="RUNNING", started_at__lt=cutoff).values_list("id", "worker_ids"))
    if not running:
        return 0
    workers = {ids[-1] for _, ids in running if ids}
    alive = set(WorkerBeat.objects.filter(worker_id__in=workers, beat_at__gte=cutoff).values_list("worker_id", flat=True))
    lost = [task_id for task_id, ids in running if not ids or ids[-1] not in alive]
    if not lost:
        return 0
    reaped = DBTaskResult.objects.filter(id__in=lost, status="RUNNING").update(
        status="FAILED",
        finished_at=now,
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=f"WorkerLost: the worker stopped beating (no sign of life for {lease()}); it was killed or its machine was lost.\n",
    )
    WorkerBeat.objects.filter(beat_at__lt=now - timedelta(days=1)).delete()
    log.warning("marked %d task(s) of lost workers failed", reaped)
    return reaped
