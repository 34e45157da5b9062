"""The durable outbox: every message to a patient is a row before it is anything else.

A message is written in the same transaction as the change that caused it (a booking, a
reschedule, a signed session), so it exists exactly when that change exists. Workers claim rows
with a conditional UPDATE, send them, and record the outcome. See docs/decisions/0010.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q


class OutboundMessage(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        UNDELIVERABLE = "undeliverable", "Could not be sent"  # no usable address: never tried, shown to staff

    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=40, help_text="What the message is for: reminder, confirmation, check-in, …")
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    attachments = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"filename", "content", "mimetype"}] (text) or [{"filename", "renderer", "object_id", "mimetype"}] (made when sent).',
    )

    related_type = models.CharField(max_length=60, help_text="app_label.model of the object the message is about.")
    related_id = models.CharField(max_length=64)
    patient_id = models.BigIntegerField(null=True, blank=True)
    location_id = models.BigIntegerField(null=True, blank=True)

    dedupe_key = models.CharField(max_length=200, help_text="One message per key, ever: queueing the same key twice is a no-op.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(help_text="The earliest the message may be sent.")
    next_attempt_at = models.DateTimeField(help_text="When a worker should next try: due_at, then later after each failure.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="messaging_outboundmessage_dedupe_key_unique"),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="messaging_outboundmessage_sending_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="messaging_outboundmessage_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="undeliverable") | ~Q(last_error=""),
                name="messaging_outboundmessage_undeliverable_has_reason",
            ),
        ]
        indexes = [
            # The workers' queue: unfinished messages by when they are next due.
            models.Index(fields=["next_attempt_at"], name="messaging_unfinished_due", condition=Q(status__in=["pending", "sending"])),
            models.Index(fields=["related_type", "related_id"], name="messaging_related"),
            models.Index(fields=["location_id", "status", "-updated_at"], name="messaging_location_status"),
            models.Index(fields=["patient_id", "-created_at"], name="messaging_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.kind} → {self.recipient} ({self.status})"

    def is_due(self, now: datetime) -> bool:
        return self.status == self.Status.PENDING and self.next_attempt_at <= now


class OutboxSweep(models.Model):
    """The single row saying when the next sweep task is due (see `tasks.arm_sweeper`).

    The task API has no periodic schedule, so the sweep re-enqueues itself. This row keeps that
    to one chain: only the task whose `scheduled_for` matches `next_run_at` arms the next one.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    next_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="messaging_outboxsweep_single_row")]

    def __str__(self) -> str:
        return f"next sweep at {self.next_run_at}"


class WorkerBeat(models.Model):
    """A task worker's sign of life: written when it starts a task, then every third of a lease.

    django-tasks-db records which worker ran a task (`worker_ids`) but not whether that worker is
    still alive, so a worker killed mid-task leaves its task row RUNNING for ever. A RUNNING task
    whose worker has not beaten for a lease is marked failed by the sweep (see `workers.py`).
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    process = models.CharField(max_length=100, blank=True, help_text="host:pid, for the operator.")
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.process}) at {self.beat_at}"
