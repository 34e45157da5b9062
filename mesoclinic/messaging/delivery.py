"""The worker side of the outbox: claim a message, send it, record the outcome.

* **Claim** with a conditional UPDATE (`pending → sending` only where it is still pending and due,
  or where an earlier claim is older than the lease). Exactly one worker's UPDATE matches; the
  others match zero rows and move on. A sweep claims a batch with `SELECT … FOR UPDATE SKIP
  LOCKED` on PostgreSQL, so two sweepers take different rows.
* **Send** outside any transaction, with the dedupe key as the idempotency key, while a heartbeat
  thread renews the claim's lease (`holding`): a live worker is never taken over, however slow.
* **Record** the outcome first, guarded by the claim token, then write the audit row.

A worker killed between claim and outcome stops renewing and leaves the row `sending`; once the
lease has passed a sweep claims it again and sends it with the same idempotency key (at least
once). This module knows nothing of tasks: `tasks.py` enqueues, and calls in here. See
docs/decisions/0010.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from . import senders
from .models import OutboundMessage
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


def renew_claim(token: str) -> int:
    """Push the lease of every message still held under `token` forward to now. Returns how many."""
    now = timezone.now()
    return OutboundMessage.objects.filter(status=Status.SENDING, claimed_by=token).update(claimed_at=now, updated_at=now)


def heartbeat_seconds() -> float:
    """How often a worker renews its claims while it sends: three times per lease."""
    return max(0.2, settings.MESOCLINIC_MESSAGE_LEASE_SECONDS / 3)


@contextmanager
def holding(token: str) -> Iterator[None]:
    """Keep the claims under `token` alive while the block runs (a slow provider, a big batch).

    A thread with its own database connection renews the lease every third of it, so a live worker
    is never taken over however long the provider takes. A worker that dies stops renewing; its
    claims go stale after one lease and another worker takes them (at least once, not exactly once).
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(heartbeat_seconds()):
                try:
                    renew_claim(token)
                except DatabaseError:  # the next beat tries again; the lease is the bound
                    log.warning("could not renew the claim %s", token, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"outbox-lease-{token}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


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
    message.next_attempt_at = next_attempt_at
    with transaction.atomic():
        updated = OutboundMessage.objects.filter(pk=message.pk, status=Status.SENDING, claimed_by=message.claimed_by).update(
            status=Status.FAILED if final else Status.PENDING,
            next_attempt_at=next_attempt_at,
            last_error=error[:2000],
            updated_at=now,
        )
        if updated and final:
            _audit(message, action=AuditEvent.Action.UPDATE, status=Status.FAILED)
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
    with holding(message.claimed_by):
        return deliver_claimed(message)


@dataclass
class SweepResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    retries: list[tuple[int, datetime]] = field(default_factory=list)

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
        with holding(claimed[0].claimed_by):  # one token for the batch: its later messages stay ours too
            for message in claimed:
                outcome = deliver_claimed(message)
                setattr(result, outcome, getattr(result, outcome) + 1)
                if outcome == RETRY:
                    result.retries.append((message.pk, message.next_attempt_at))
    return result
