"""Screenings: the questionnaire a patient answered, under which catalog version, the verdicts per
protocol and area with their reasons, and doctors' overrides.

A screening is a record: it is written once and never edited. Its verdicts were computed from
the snapshot of `catalog_version`, so later catalog edits never change them. A re-screen (the
short per-session questions) points at the full screening it updates (`base`) and keeps its expiry.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

from mesoclinic.catalog.models import Area, CatalogVersion, Protocol, Question
from mesoclinic.core.models import Location
from mesoclinic.patients.models import Patient

from .engine import ANSWER_LABELS, STATUS_LABELS, AnswerValue, Reason
from .engine import Status as EngineStatus

__all__ = ["Answer", "Override", "Question", "Questionnaire", "Screening", "Verdict"]


class Questionnaire(models.Model):
    """A published wording of the questionnaire. A new one appears when the catalog's questions change."""

    number = models.PositiveIntegerField()
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the questions.")
    questions = models.JSONField(help_text="The active questions as asked: key, text, help text, re-screen flag, position.")
    catalog_version = models.ForeignKey(CatalogVersion, on_delete=models.PROTECT, related_name="+", help_text="First published under.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="screening_questionnaire_number_unique"),
            models.UniqueConstraint(fields=["fingerprint"], name="screening_questionnaire_fingerprint_unique"),
        ]

    def __str__(self) -> str:
        return f"Questionnaire version {self.number}"


class Screening(models.Model):
    class Kind(models.TextChoices):
        FULL = "full", "Full screening"
        RESCREEN = "rescreen", "Re-screen before a session"
        SELF = "self", "Self-screening (patient)"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", help_text="The patient's home clinic at the time.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    catalog_version = models.ForeignKey(CatalogVersion, on_delete=models.PROTECT, related_name="screenings")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="screenings")
    base = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rescreens",
        help_text="For a re-screen: the full screening it updates.",
    )
    area_keys = models.JSONField(default=list, blank=True, help_text="For a re-screen: the areas treated that day.")
    answers_used = models.JSONField(
        default=dict, help_text="The answers the verdicts were computed from (a re-screen's merged onto its base)."
    )
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    screened_at = models.DateTimeField()
    expires_on = models.DateField(help_text="From this day the screening is no longer valid.")

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [models.Index(fields=["patient", "-screened_at", "-id"], name="screening_patient_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="rescreen", base__isnull=False) | ~Q(kind="rescreen") & Q(base__isnull=True),
                name="screening_screening_base_for_rescreen_only",
            ),
            models.CheckConstraint(condition=Q(kind__in=["full", "rescreen", "self"]), name="screening_screening_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of patient {self.patient_id} at {self.screened_at:%Y-%m-%d %H:%M}"

    def is_expired_on(self, day: date) -> bool:
        return day >= self.expires_on

    @property
    def chain_id(self) -> int:
        """The full screening this one belongs to (itself for a full screening)."""
        return self.base_id or self.pk


class Answer(models.Model):
    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    question_key = models.SlugField(max_length=60)
    value = models.CharField(max_length=10, choices=[(value.value, label) for value, label in ANSWER_LABELS.items()])

    class Meta:
        ordering = ["screening", "id"]
        constraints = [
            models.UniqueConstraint(fields=["screening", "question"], name="screening_answer_once_per_question"),
            models.CheckConstraint(condition=Q(value__in=[value.value for value in AnswerValue]), name="screening_answer_value_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.question_key}: {self.value}"


class Verdict(models.Model):
    """The engine's verdict for one protocol at one area, as computed when the screening was recorded."""

    class Status(models.TextChoices):
        ELIGIBLE = EngineStatus.ELIGIBLE.value, STATUS_LABELS[EngineStatus.ELIGIBLE]
        CAUTION = EngineStatus.CAUTION.value, STATUS_LABELS[EngineStatus.CAUTION]
        NOT_ELIGIBLE = EngineStatus.NOT_ELIGIBLE.value, STATUS_LABELS[EngineStatus.NOT_ELIGIBLE]
        INCOMPLETE = EngineStatus.INCOMPLETE.value, STATUS_LABELS[EngineStatus.INCOMPLETE]

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="verdicts")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices)
    reasons = models.JSONField(
        default=list, help_text="engine.Reason dicts: rule, condition, severity, question, answer, effect, explanation."
    )

    class Meta:
        ordering = ["screening", "protocol__position", "protocol__name", "area__position"]
        constraints = [models.UniqueConstraint(fields=["screening", "protocol", "area"], name="screening_verdict_once_per_protocol_area")]

    def __str__(self) -> str:
        return f"{self.protocol} at {self.area}: {self.status}"

    @property
    def reason_objects(self) -> list[Reason]:
        return [Reason.from_dict(item) for item in self.reasons]

    @property
    def headline(self) -> str:
        """E.g. “Not eligible — Pregnancy”: the status and the conditions that decided it."""
        label = self.get_status_display()
        deciding = [item["condition"] for item in self.reasons if item.get("effect") == self.status]
        return f"{label} — {', '.join(deciding)}" if deciding else label


class Override(models.Model):
    """A doctor's decision to treat despite a "not eligible" verdict, with the written reason. Audited."""

    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="overrides")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screening_overrides")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    area_keys = models.JSONField(help_text="The areas the override covers.")
    rule_keys = models.JSONField(help_text="The absolute rules that made the verdict “not eligible” when it was overridden.")
    reason = models.TextField(max_length=2000)
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    overridden_at = models.DateTimeField()

    class Meta:
        ordering = ["-overridden_at", "-id"]
        indexes = [models.Index(fields=["patient", "-overridden_at"], name="screening_override_patient")]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="screening_override_reason_present")]

    def __str__(self) -> str:
        return f"Override of {self.protocol} for patient {self.patient_id}"
