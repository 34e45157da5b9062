"""Background tasks that deliver the outbox (run by `manage.py db_worker`), and how they are queued.

`enqueue_delivery` is called inside the transaction that queued (or moved, or retried) messages.
However many messages a transaction touches, it registers one `on_commit` hook, which enqueues one
`deliver_messages` task for all of them (at the earliest due time) and arms the sweeper once. The
task sends what is due and re-enqueues itself for the rest at the next due time.

The dependency runs one way: services → tasks → delivery (delivery knows nothing of tasks).
See docs/decisions/0010.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import task

from . import delivery, workers
from .models import OutboundMessage, OutboxSweep

Status = OutboundMessage.Status


@task()
def deliver_messages(message_ids: list[int]) -> dict[str, int]:
    """Send those of these messages that are due; come back for the others when they are due.

    Safe to run twice or in two workers: the claim decides who sends.
    """
    arm_sweeper()  # a worker that died mid-sweep broke the chain: this restarts it
    outcomes: dict[str, int] = {}
    for message_id in message_ids:
        outcome = delivery.deliver(message_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    later = OutboundMessage.objects.filter(id__in=message_ids, status=Status.PENDING).aggregate(at=Min("next_attempt_at"))["at"]
    if later is not None:
        now = timezone.now()
        # Never straight back: a message still due after this run is someone else's to send; look again after a sweep interval.
        _enqueue(message_ids, later if later > now else now + timedelta(seconds=settings.MESOCLINIC_MESSAGE_SWEEP_SECONDS))
    return outcomes


@task()
def deliver_message(message_id: int) -> str:
    """One message (the task queued before deliveries were batched; kept so those still run)."""
    arm_sweeper()
    return delivery.deliver(message_id)


@task()
def sweep_outbox(scheduled_for: str = "") -> dict[str, int]:
    """The safety net: mark the tasks of dead workers failed, send due and stale messages, then
    schedule the next sweep while work remains."""
    workers.reap_abandoned_tasks()
    result = delivery.sweep()
    for message_id, at in result.retries:
        _enqueue([message_id], at)
    rearm_after_sweep(scheduled_for)
    return {"sent": result.sent, "retry": result.retry, "failed": result.failed}


# --- queueing deliveries ----------------------------------------------------------------------


@dataclass
class _PendingDeliveries:
    """The deliveries one transaction asked for, enqueued together when it commits."""

    due: dict[int, datetime] = field(default_factory=dict)
    ran: bool = False

    def __call__(self) -> None:
        due, self.due, self.ran = self.due, {}, True
        if due:
            _enqueue(sorted(due), min(due.values()))
            arm_sweeper()


def _enqueue(message_ids: list[int], at: datetime) -> None:
    backend = deliver_messages.get_backend()
    if at <= timezone.now():
        deliver_messages.enqueue(message_ids)
    elif backend.supports_defer:
        deliver_messages.using(run_after=at).enqueue(message_ids)
    # Backends that cannot defer (the immediate backend in tests): the sweep sends it when due.


def _pending_on(conn: object) -> _PendingDeliveries:
    """This transaction's pending deliveries, with their on_commit hook registered exactly once.

    A hook dropped by a rolled-back transaction (or savepoint) is no longer in the connection's
    list, and one that has run is spent: either way the next call starts a fresh one.
    """
    pending: _PendingDeliveries | None = getattr(conn, "_mesoclinic_pending_deliveries", None)
    registered = pending is not None and not pending.ran and any(hook is pending for _sids, hook, _robust in conn.run_on_commit)  # type: ignore[attr-defined]
    if pending is None or not registered:
        pending = _PendingDeliveries()
        conn._mesoclinic_pending_deliveries = pending  # type: ignore[attr-defined]
        transaction.on_commit(pending, robust=True)
    return pending


def enqueue_delivery(message_id: int, due_at: datetime) -> None:
    """After commit, deliver this message at `due_at`: one task per transaction, however many messages."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        _PendingDeliveries({message_id: due_at})()
        return
    pending = _pending_on(conn)
    pending.due[message_id] = due_at


# --- the safety-net sweep ---------------------------------------------------------------------


def arm_sweeper(*, at: datetime | None = None) -> bool:
    """Make sure a sweep task is scheduled no later than `at` (default: one sweep interval from now).

    Only arms when no sweep is scheduled, the scheduled one is overdue (its worker may have died),
    or it is later than `at`. The superseded task still runs, but does not re-arm (see `sweep_outbox`).
    """
    if not sweep_outbox.get_backend().supports_defer:
        return False
    now = timezone.now()
    at = at or now + timedelta(seconds=settings.MESOCLINIC_MESSAGE_SWEEP_SECONDS)
    stale_or_later = Q(next_run_at__isnull=True) | Q(next_run_at__lte=now) | Q(next_run_at__gt=at)
    with transaction.atomic():
        armed = OutboxSweep.objects.filter(stale_or_later, id=1).update(next_run_at=at) == 1
        if not armed and not OutboxSweep.objects.filter(id=1).exists():
            _, armed = OutboxSweep.objects.get_or_create(id=1, defaults={"next_run_at": at})
        if armed:
            transaction.on_commit(lambda: sweep_outbox.using(run_after=at).enqueue(scheduled_for=at.isoformat()))
    return armed


def next_sweep_at(now: datetime) -> datetime | None:
    """When the safety-net sweep should next look: never, if nothing is unfinished."""
    interval = timedelta(seconds=settings.MESOCLINIC_MESSAGE_SWEEP_SECONDS)
    unfinished = OutboundMessage.objects.filter(status__in=[Status.PENDING, Status.SENDING])
    times = unfinished.aggregate(
        pending=Min("next_attempt_at", filter=Q(status=Status.PENDING)),
        sending=Min("claimed_at", filter=Q(status=Status.SENDING)),
    )
    candidates = []
    if times["pending"] is not None:
        candidates.append(times["pending"] + interval)  # give the message's own task a head start
    if times["sending"] is not None:
        candidates.append(times["sending"] + delivery.lease())
    if not candidates:
        return None
    return max(now + interval, min(candidates))


def rearm_after_sweep(scheduled_for: str) -> bool:
    """Called by the sweep task: schedule the next sweep if this task is the current chain."""
    now = timezone.now()
    at = next_sweep_at(now)
    try:
        scheduled = datetime.fromisoformat(scheduled_for)
    except ValueError:
        return False
    with transaction.atomic():
        if at is None:
            OutboxSweep.objects.filter(id=1, next_run_at=scheduled).update(next_run_at=None)
            return False
        armed = OutboxSweep.objects.filter(id=1, next_run_at=scheduled).update(next_run_at=at) == 1
        if armed and sweep_outbox.get_backend().supports_defer:
            transaction.on_commit(lambda: sweep_outbox.using(run_after=at).enqueue(scheduled_for=at.isoformat()))
    return armed
