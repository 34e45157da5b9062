"""Aftercare after a signed session: the handout, the timed check-in, and the nurses' follow-ups.

* `AftercareHandout` — composed once at sign-off from the catalog's rules (`composition.py`) and
  stored as plain data; it cannot be changed afterwards (migration 0002 installs triggers that
  refuse UPDATE on PostgreSQL and SQLite).
* `CheckIn` — "has the redness settled?", due `checkin_after_hours` after the session. Answered
  once, through a signed link (`tokens.py`).
* `FollowUp` — a task on the nurses' worklist when an answer is not "settled" (or nobody
  answered); closed with a note or converted into an adverse event (safety app).

See docs/decisions/0017 (composition, times, PDF) and 0018 (check-in links, follow-ups).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from mesoclinic.core.models import Location
from mesoclinic.patients.models import Patient
from mesoclinic.procedures.models import ProcedureRecord

from .composition import Aftercare

MAX_ANSWER_TEXT = 1000
MAX_NOTE = 2000


class AftercareHandout(models.Model):
    record = models.OneToOneField(ProcedureRecord, on_delete=models.PROTECT, related_name="aftercare_handout")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="aftercare_handouts")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    catalog_version = models.PositiveIntegerField(help_text="The catalog version whose rules composed it.")
    ended_at = models.DateTimeField(help_text="The end of the session: the aftercare clock starts here.")
    issued_at = models.DateTimeField()
    content = models.JSONField(help_text="The composed aftercare (composition.Aftercare.as_json()).")
    text = models.TextField(help_text="The handout as plain text, as e-mailed.")

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["patient", "-issued_at"], name="aftercare_handout_patient")]

    def __str__(self) -> str:
        return f"Aftercare handout for record {self.record_id}"

    @property
    def aftercare(self) -> Aftercare:
        return Aftercare.from_json(self.content)


class CheckIn(models.Model):
    class Answer(models.TextChoices):
        SETTLED = "settled", "Yes, it has settled"
        NOT_SETTLED = "not_settled", "No, not yet"
        WORSE = "worse", "It is worse"
        OTHER = "other", "I have other symptoms"

    ESCALATING = (Answer.NOT_SETTLED, Answer.WORSE, Answer.OTHER)

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        NONE = "none", "No message (the patient takes no messages, or has no address)"

    handout = models.OneToOneField(AftercareHandout, on_delete=models.PROTECT, related_name="checkin")
    record = models.ForeignKey(ProcedureRecord, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="aftercare_checkins")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(help_text="When the patient is asked.")
    expires_at = models.DateTimeField(help_text="The link answers until then (MESOCLINIC_CHECKIN_LINK_HOURS after it is due).")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    answer = models.CharField(max_length=20, choices=Answer.choices, blank=True)
    answer_text = models.TextField(max_length=MAX_ANSWER_TEXT, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answer="", answered_at__isnull=True, answer_text="")
                | Q(answer__in=["settled", "not_settled", "worse", "other"], answered_at__isnull=False),
                name="aftercare_checkin_answer_complete",
                violation_error_message="An answer needs its time, and a time its answer.",
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("due_at")), name="aftercare_checkin_expires_after_due"),
            models.CheckConstraint(condition=Q(channel__in=["email", "sms", "none"]), name="aftercare_checkin_channel_valid"),
        ]
        indexes = [
            # The worklist's "no answer yet" list: unanswered check-ins of a location by due time.
            models.Index(fields=["location", "due_at"], name="aftercare_checkin_unanswered", condition=Q(answered_at__isnull=True)),
            models.Index(fields=["patient", "-due_at"], name="aftercare_checkin_patient"),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.pk} for record {self.record_id}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    def is_expired_at(self, moment: datetime) -> bool:
        return moment >= self.expires_at

    @property
    def escalates(self) -> bool:
        return self.answer in self.ESCALATING


class FollowUp(models.Model):
    class Reason(models.TextChoices):
        NOT_SETTLED = "not_settled", "Redness not settled"
        WORSE = "worse", "Worse"
        OTHER = "other", "Other symptoms"
        UNANSWERED = "unanswered", "No answer to the check-in"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        CONVERTED = "converted", "Recorded as an adverse event"

    checkin = models.OneToOneField(CheckIn, on_delete=models.PROTECT, related_name="follow_up")
    record = models.ForeignKey(ProcedureRecord, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="aftercare_follow_ups")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    patient_text = models.TextField(max_length=MAX_ANSWER_TEXT, blank=True, help_text="What the patient wrote, if anything.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    close_note = models.TextField(max_length=MAX_NOTE, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["open", "closed", "converted"]), name="aftercare_followup_status_valid"),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True, closed_by__isnull=True)
                | Q(status="closed", closed_at__isnull=False, closed_by__isnull=False) & ~Q(close_note="")
                | Q(status="converted", closed_at__isnull=False, closed_by__isnull=False),
                name="aftercare_followup_closed_complete",
                violation_error_message="A closed follow-up needs who closed it, when, and a note.",
            ),
        ]
        indexes = [models.Index(fields=["location", "opened_at"], name="aftercare_followup_open", condition=Q(status="open"))]

    def __str__(self) -> str:
        return f"Follow-up {self.pk} ({self.get_reason_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN
