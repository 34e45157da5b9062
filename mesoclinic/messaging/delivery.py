"""The worker side of the outbox: claim a message, send it, record the outcome.

* **Claim** with a conditional UPDATE (`pending → sending` only where it is still pending and due,
  or where an earlier claim is older than the lease). Exactly one worker's UPDATE matches; the
  others match zero rows and move on. A sweep claims a batch with `SELECT … FOR UPDATE SKIP
  LOCKED` on PostgreSQL, so two sweepers take different rows.
* **Send** outside any transaction, with the dedupe key as the idempotency key.
* **Record** the outcome first, guarded by the claim token, then write the audit row.

A worker killed between claim and outcome leaves the row `sending`; once the lease has passed a
sweep claims it again and sends it with the same idempotency key. See docs/decisions/0010.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from . import senders
from .models import OutboundMessage, OutboxSweep
from .renderers import render_attachment

log = logging.getLogger(__name__)
Status = OutboundMessage.Status

SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}"


def lease() -> timedelta:
    return timedelta(seconds=settings.MESOCLINIC_MESSAGE_LEASE_SECONDS)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed tries: base, 2×base, 4×base, … capped at 6 hours."""
    seconds = settings.MESOCLINIC_MESSAGE_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, 6 * 3600))


def claimable(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, claimed_at__lt=now - lease())


def _claim_token(worker: str) -> str:
    return f"{worker[:50]}:{secrets.token_hex(6)}"


def claim(message_id: int, *, worker: str) -> OutboundMessage | None:
    """Take one message for sending, or None if it is not due or someone else holds it."""
    now = timezone.now()
    token = _claim_token(worker)
    updated = OutboundMessage.objects.filter(claimable(now), pk=message_id).update(
        status=Status.SENDING, claimed_at=now, claimed_by=token, attempts=F("attempts") + 1, updated_at=now
    )
    if updated != 1:
        return None
    return OutboundMessage.objects.get(pk=message_id)


def claim_due(*, worker: str, limit: int) -> list[OutboundMessage]:
    """Take up to `limit` due (or stale) messages in one short transaction."""
    now = timezone.now()
    token = _claim_token(worker)
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.filter(claimable(now))
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        OutboundMessage.objects.filter(claimable(now), id__in=ids).update(
            status=Status.SENDING, claimed_at=now, claimed_by=token, attempts=F("attempts") + 1, updated_at=now
        )
    return list(OutboundMessage.objects.filter(id__in=ids, claimed_by=token, status=Status.SENDING).order_by("id"))


def _attachment(stored: dict[str, str]) -> senders.OutgoingAttachment:
    """A stored attachment as sent: text as stored, or made now by its renderer (a PDF, say)."""
    mimetype = stored.get("mimetype", "text/plain")
    if "renderer" in stored:
        return senders.OutgoingAttachment(stored["filename"], render_attachment(stored["renderer"], stored["object_id"]), mimetype)
    return senders.OutgoingAttachment(stored["filename"], stored["content"], mimetype)


def _outgoing(message: OutboundMessage) -> senders.Outgoing:
    return senders.Outgoing(
        channel=message.channel,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        html_body=message.html_body,
        attachments=[_attachment(attachment) for attachment in message.attachments or []],
        idempotency_key=message.dedupe_key,
    )


def _audit(message: OutboundMessage, *, action: str, status: str) -> None:
    audit.record(
        audit.SYSTEM,
        action=action,
        object_type="message",
        object_id=message.pk,
        patient_id=message.patient_id,
        location_id=message.location_id,
        detail={"kind": message.kind, "channel": message.channel, "status": status, "attempts": message.attempts},
    )


def record_sent(message: OutboundMessage, provider_id: str) -> str:
    now = timezone.now()
    with transaction.atomic():
        updated = OutboundMessage.objects.filter(pk=message.pk, status=Status.SENDING, claimed_by=message.claimed_by).update(
            status=Status.SENT, sent_at=now, provider_message_id=provider_id[:200], last_error="", updated_at=now
        )
        if updated:
            _audit(message, action=AuditEvent.Action.EXPORT, status=Status.SENT)
    if not updated:
        log.warning("message %s was sent but its claim had been taken over (lease too short?)", message.pk)
    return SENT


def record_failure(message: OutboundMessage, error: str, *, permanent: bool) -> str:
    now = timezone.now()
    final = permanent or message.attempts >= settings.MESOCLINIC_MESSAGE_MAX_ATTEMPTS
    next_attempt_at = message.next_attempt_at if final else now + backoff(message.attempts)
    with transaction.atomic():
        updated = OutboundMessage.objects.filter(pk=message.pk, status=Status.SENDING, claimed_by=message.claimed_by).update(
            status=Status.FAILED if final else Status.PENDING,
            next_attempt_at=next_attempt_at,
            last_error=error[:2000],
            updated_at=now,
        )
        if updated and final:
            _audit(message, action=AuditEvent.Action.UPDATE, status=Status.FAILED)
        if updated and not final:
            enqueue_delivery(message.pk, next_attempt_at)
    log.info("message %s attempt %s failed (%s): %s", message.pk, message.attempts, "final" if final else "will retry", error[:200])
    return FAILED if final else RETRY


def deliver_claimed(message: OutboundMessage) -> str:
    try:
        provider_id = senders.send(_outgoing(message))
    except senders.SendFailed as failure:
        return record_failure(message, str(failure), permanent=failure.permanent)
    except Exception as error:  # an unexpected error is recorded and retried, never lost
        log.exception("sending message %s failed unexpectedly", message.pk)
        return record_failure(message, f"{type(error).__name__}: {error}", permanent=False)
    return record_sent(message, provider_id)


def deliver(message_id: int, *, worker: str | None = None) -> str:
    """Send one message if it is due and nobody else holds it. Returns sent/retry/failed/skipped."""
    message = claim(message_id, worker=worker or worker_name())
    if message is None:
        return SKIPPED
    return deliver_claimed(message)


@dataclass
class SweepResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retry + self.failed


def sweep(*, worker: str | None = None, batch: int = 50, limit: int = 1000) -> SweepResult:
    """Send every due message and every message whose claim went stale, up to `limit`."""
    worker = worker or worker_name()
    result = SweepResult()
    while result.handled < limit:
        claimed = claim_due(worker=worker, limit=min(batch, limit - result.handled))
        if not claimed:
            break
        for message in claimed:
            outcome = deliver_claimed(message)
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result


# --- getting the worker to run ---------------------------------------------------------------


def enqueue_delivery(message_id: int, due_at: datetime) -> None:
    """After commit, queue the task that sends this message at `due_at` (and arm the sweeper)."""

    def _enqueue() -> None:
        from .tasks import deliver_message

        backend = deliver_message.get_backend()
        if due_at > timezone.now():
            if backend.supports_defer:
                deliver_message.using(run_after=due_at).enqueue(message_id)
            # Backends that cannot defer (the immediate backend in tests): the sweep sends it when due.
        else:
            deliver_message.enqueue(message_id)
        arm_sweeper()

    transaction.on_commit(_enqueue, robust=True)


def arm_sweeper(*, at: datetime | None = None) -> bool:
    """Make sure a sweep task is scheduled no later than `at` (default: one sweep interval from now).

    Only arms when no sweep is scheduled, the scheduled one is overdue (its worker may have died),
    or it is later than `at`. The superseded task still runs, but does not re-arm (see `sweep_outbox`).
    """
    from .tasks import sweep_outbox

    if not sweep_outbox.get_backend().supports_defer:
        return False
    now = timezone.now()
    at = at or now + timedelta(seconds=settings.MESOCLINIC_MESSAGE_SWEEP_SECONDS)
    with transaction.atomic():
        OutboxSweep.objects.get_or_create(id=1)
        stale_or_later = Q(next_run_at__isnull=True) | Q(next_run_at__lte=now) | Q(next_run_at__gt=at)
        armed = OutboxSweep.objects.filter(stale_or_later, id=1).update(next_run_at=at) == 1
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
        candidates.append(times["sending"] + lease())
    if not candidates:
        return None
    return max(now + interval, min(candidates))


def rearm_after_sweep(scheduled_for: str) -> bool:
    """Called by the sweep task: schedule the next sweep if this task is the current chain."""
    from .tasks import sweep_outbox

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
