"""Writing to the outbox. Call these inside the transaction of the change the message is about.

    queue_message(channel=..., recipient=..., subject=..., body=..., due_at=..., dedupe_key=...,
                  related=appointment, patient_id=..., location_id=...)

The message is sent by the worker at `due_at` (or soon after), once: the dedupe key is unique,
so queueing the same key again returns the existing message instead of making a second one.

Every message the product decides to send leaves a row: one to an address that cannot receive
it (missing, or refused by the validator) is stored as `undeliverable` with the reason, and shows
on the failed-messages worklist and the patient page instead of vanishing.

Several messages of one change (a booking's confirmation and reminders) go in together:

    with outbox.batch():
        queue_message(...); queue_message(...)

is one INSERT … ON CONFLICT DO NOTHING and one SELECT, and (per transaction) one task enqueued.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.text import digits

from .models import OutboundMessage
from .tasks import enqueue_delivery

Status = OutboundMessage.Status
Channel = OutboundMessage.Channel


class InvalidRecipient(ValueError):
    """The address or number cannot receive this channel's messages."""


class NotRetryable(Exception):
    """Only failed messages can be retried."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str
    mimetype: str = "text/plain"

    def as_json(self) -> dict[str, str]:
        return {"filename": self.filename, "content": self.content, "mimetype": self.mimetype}


@dataclass(frozen=True)
class RenderedAttachment:
    """An attachment made by a registered renderer when the message is sent (see renderers.py)."""

    filename: str
    renderer: str
    object_id: str
    mimetype: str = "application/pdf"

    def as_json(self) -> dict[str, str]:
        return {"filename": self.filename, "renderer": self.renderer, "object_id": self.object_id, "mimetype": self.mimetype}


def related_key(related: models.Model) -> tuple[str, str]:
    return related._meta.label_lower, str(related.pk)


def check_recipient(channel: str, recipient: str) -> str:
    recipient = recipient.strip()
    if not recipient and channel in Channel.values:
        raise InvalidRecipient("no e-mail address on file" if channel == Channel.EMAIL else "no phone number on file")
    if channel == Channel.EMAIL:
        try:
            validate_email(recipient)
        except ValidationError:
            raise InvalidRecipient(f"{recipient!r} is not an e-mail address") from None
        return recipient
    if channel == Channel.SMS:
        if not 6 <= len(digits(recipient)) <= 20:
            raise InvalidRecipient(f"{recipient!r} is not a phone number")
        return recipient
    raise ValueError(f"unknown channel {channel!r}")


def queue_message(
    *,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    due_at: datetime,
    dedupe_key: str,
    related: models.Model,
    patient_id: int | None = None,
    location_id: int | None = None,
    attachments: Sequence[Attachment | RenderedAttachment] = (),
    html_body: str = "",
    kind: str = "",
) -> OutboundMessage:
    """Put a message in the outbox (idempotent on `dedupe_key`); the worker sends it at `due_at`.

    Queueing a key that exists returns that message unchanged — unless it was cancelled, in which
    case it is revived with the new content and time (a booking moved away and back again).
    A recipient that cannot receive the channel makes an `undeliverable` message with the reason
    (never sent, never lost). Inside `batch()` the row is written when the batch ends.
    """
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if not dedupe_key or len(dedupe_key) > 200:
        raise ValueError("dedupe_key must be 1–200 characters")
    status, problem = Status.PENDING, ""
    try:
        recipient = check_recipient(channel, recipient)
    except InvalidRecipient as refused:
        status, problem, recipient = Status.UNDELIVERABLE, str(refused), recipient.strip()
    related_type, related_id = related_key(related)
    message = OutboundMessage(
        channel=channel,
        kind=(kind or dedupe_key.split(":", 1)[0])[:40],
        recipient=recipient[:254],
        subject=subject[:200],
        body=body,
        html_body=html_body,
        attachments=[attachment.as_json() for attachment in attachments],
        related_type=related_type,
        related_id=related_id,
        patient_id=patient_id,
        location_id=location_id,
        dedupe_key=dedupe_key,
        status=status,
        last_error=problem[:2000],
        due_at=due_at,
        next_attempt_at=due_at,
    )
    open_batch = _open_batch()
    if open_batch is not None:
        open_batch.append(message)
        return message
    return _write([message])[0]


_batches = threading.local()


def _open_batch() -> list[OutboundMessage] | None:
    stack: list[list[OutboundMessage]] = getattr(_batches, "stack", [])
    return stack[-1] if stack else None


@contextmanager
def batch() -> Iterator[list[OutboundMessage]]:
    """Queue every message of the block with one INSERT and one SELECT when the block ends.

    Use it inside the transaction, around code that only queues (the messages are not in the
    database, and have no id, until the block ends). The instances queue_message returned get
    their ids then. Nothing is written if the block raises.
    """
    stack: list[list[OutboundMessage]] = getattr(_batches, "stack", None) or []
    _batches.stack = stack
    messages: list[OutboundMessage] = []
    stack.append(messages)
    try:
        yield messages
    finally:
        stack.pop()
    if messages:
        written = _write(messages)
        for queued, row in zip(messages, written, strict=True):
            queued.pk, queued.status = row.pk, row.status


_REVIVED_FIELDS = [
    "channel",
    "kind",
    "recipient",
    "subject",
    "body",
    "html_body",
    "attachments",
    "related_type",
    "related_id",
    "patient_id",
    "location_id",
    "status",
    "last_error",
    "due_at",
    "next_attempt_at",
]


def _write(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """Insert the messages whose keys are new (ON CONFLICT DO NOTHING), revive cancelled ones,
    enqueue the deliveries; return the stored row for each message, in order."""
    wanted: dict[str, OutboundMessage] = {}
    for message in messages:
        wanted.setdefault(message.dedupe_key, message)  # a key twice in one batch: the first wins
    with transaction.atomic():
        OutboundMessage.objects.bulk_create(list(wanted.values()), ignore_conflicts=True)
        stored = {row.dedupe_key: row for row in OutboundMessage.objects.filter(dedupe_key__in=list(wanted))}
        missing = set(wanted) - set(stored)
        if missing:
            raise RuntimeError(f"outbox rows not written: {sorted(missing)}")
        for key, row in stored.items():
            if row.status == Status.CANCELLED:
                stored[key] = _revive(row, wanted[key])
        for row in stored.values():
            # A row that is pending now is ours (new or revived) or was already waiting: either way
            # a delivery for it is harmless (the claim decides) and one enqueue covers them all.
            if row.status == Status.PENDING and row.attempts == 0:
                enqueue_delivery(row.pk, row.next_attempt_at)
    return [stored[message.dedupe_key] for message in messages]


def _revive(row: OutboundMessage, wanted: OutboundMessage) -> OutboundMessage:
    locked = OutboundMessage.objects.select_for_update().get(pk=row.pk)
    if locked.status != Status.CANCELLED:
        return locked
    values: dict[str, Any] = {name: getattr(wanted, name) for name in _REVIVED_FIELDS}
    for name, value in values.items():
        setattr(locked, name, value)
    locked.attempts, locked.claimed_at, locked.claimed_by = 0, None, ""
    locked.save()
    return locked


def _pending_for(related: models.Model, kinds: Iterable[str] | None) -> models.QuerySet[OutboundMessage]:
    related_type, related_id = related_key(related)
    pending = OutboundMessage.objects.filter(related_type=related_type, related_id=related_id, status=Status.PENDING)
    if kinds is not None:
        pending = pending.filter(kind__in=list(kinds))
    return pending


def cancel_messages(*, related: models.Model, kinds: Iterable[str] | None = None) -> int:
    """Cancel the pending messages about `related` (optionally only these kinds). Returns how many.

    A message already being sent cannot be called back; it is left to finish.
    """
    return _pending_for(related, kinds).update(status=Status.CANCELLED, updated_at=timezone.now())


def reschedule_messages(
    *, related: models.Model, shift: timedelta | None = None, due_at: datetime | None = None, kinds: Iterable[str] | None = None
) -> int:
    """Move the pending messages about `related`: by `shift`, or all to `due_at`. Returns how many."""
    if (shift is None) == (due_at is None):
        raise ValueError("give exactly one of shift or due_at")
    moved = 0
    with transaction.atomic():
        for message in _pending_for(related, kinds).select_for_update().order_by("id"):
            new_due = message.due_at + shift if shift is not None else due_at
            assert new_due is not None
            message.due_at = message.next_attempt_at = new_due
            message.save(update_fields=["due_at", "next_attempt_at", "updated_at"])
            enqueue_delivery(message.pk, new_due)
            moved += 1
    return moved


def retry_message(*, ctx: audit.AuditContext, message: OutboundMessage) -> OutboundMessage:
    """Send a failed message again now (a manager's decision after fixing the address or the provider)."""
    with transaction.atomic():
        locked = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status != Status.FAILED:
            raise NotRetryable(f"Only failed messages can be retried; this one is {locked.get_status_display().lower()}.")
        now = timezone.now()
        locked.status, locked.attempts, locked.next_attempt_at = Status.PENDING, 0, now
        locked.claimed_at, locked.claimed_by = None, ""
        locked.save()
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="message",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"fields": ["status"], "retry": True, "kind": locked.kind},
        )
        enqueue_delivery(locked.pk, now)
    return locked
