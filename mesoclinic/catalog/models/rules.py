"""The rules a protocol is checked against: aftercare, screening questions, contraindications, procedure steps."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from .base import (
    DESCRIPTION_HELP,
    KEY_HELP,
    AreaKind,
    _described,
    _key_unique,
    validate_area_kinds,
)
from .items import Area
from .protocols import Protocol


class AftercareRule(models.Model):
    """What the patient must avoid after a session, by area (or by kind of area), and what to expect."""

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=120)
    area = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="aftercare_rules",
        help_text="One area, or leave empty and choose a kind.",
    )
    area_kind = models.CharField(max_length=10, choices=AreaKind.choices, blank=True, help_text="Every area of this kind.")
    instruction = models.TextField(max_length=2000, help_text="What the patient must do or avoid, in plain language.")
    duration_hours = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(720)], help_text="Counted from the end of the session."
    )
    expected_effects = models.TextField(max_length=2000, help_text="What is normal afterwards, in plain language.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            _key_unique("aftercarerule"),
            models.CheckConstraint(
                condition=Q(area__isnull=False, area_kind="") | Q(area__isnull=True) & ~Q(area_kind=""),
                name="catalog_aftercarerule_one_target",
                violation_error_message="Choose either one area or one kind of area.",
            ),
            models.CheckConstraint(
                condition=Q(duration_hours__gte=1),
                name="catalog_aftercarerule_duration_positive",
                violation_error_message="The aftercare lasts at least one hour.",
            ),
            models.CheckConstraint(
                condition=~Q(instruction=""),
                name="catalog_aftercarerule_instruction_present",
                violation_error_message="Write the instruction.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.area_id is None) == (not self.area_kind):
            raise ValidationError({"area_kind": "Choose either one area or one kind of area (not both, not neither)."})

    @property
    def target_label(self) -> str:
        return self.area.name if self.area is not None else f"every {self.get_area_kind_display().lower()} area"


class Question(models.Model):
    """A screening question. Contraindication rules read its answer (yes / no / not sure)."""

    class AnswerType(models.TextChoices):
        YES_NO_UNKNOWN = "yes_no_unknown", "Yes / No / Not sure"

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    text = models.CharField(max_length=300, help_text="Asked as written, to the patient.")
    help_text = models.CharField(max_length=500, blank=True, help_text="Optional hint shown under the question.")
    answer_type = models.CharField(max_length=20, choices=AnswerType.choices, default=AnswerType.YES_NO_UNKNOWN)
    rescreen = models.BooleanField(
        "asked at every session", default=False, help_text="Also asked in the short re-screen before each session."
    )
    session_only = models.BooleanField(
        "only at sessions",
        default=False,
        help_text="Asked only in the re-screen before a session (e.g. “since your last visit”), not in the full screening. "
        "A doctor's override of its “yes” covers that session only.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the questionnaire (smallest first).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            _key_unique("question"),
            models.CheckConstraint(
                condition=~Q(text=""), name="catalog_question_text_present", violation_error_message="Write the question."
            ),
            models.CheckConstraint(
                condition=Q(session_only=False) | Q(rescreen=True),
                name="catalog_question_session_only_is_rescreen",
                violation_error_message="A question asked only at sessions must be asked at every session.",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        if self.session_only and not self.rescreen:
            raise ValidationError({"rescreen": "A question asked only at sessions must be asked at every session."})


class ContraindicationRule(models.Model):
    """A condition that rules out (absolute) or calls for a doctor's judgement on (relative) a protocol or area.

    Scope: every protocol and area unless protocols, areas or kinds of area are chosen; when several
    are chosen the rule applies to a listed protocol (if any are listed) at a listed area or an area
    of a listed kind (if any are listed).
    """

    class Severity(models.TextChoices):
        ABSOLUTE = "absolute", "Absolute (not eligible)"
        RELATIVE = "relative", "Relative (caution: a doctor decides)"

    class Origin(models.TextChoices):
        PAGE = "page", "From the clinic's service page"
        CLINIC = "clinic", "Added by the clinic"

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    condition = models.CharField(max_length=160, help_text="The condition, e.g. “Pregnancy”.")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, related_name="rules", help_text="The rule fires when this question is answered “yes”."
    )
    protocols: models.ManyToManyField[Protocol, Any] = models.ManyToManyField(
        Protocol, related_name="contraindication_rules", blank=True, help_text="Leave empty for every protocol."
    )
    areas: models.ManyToManyField[Area, Any] = models.ManyToManyField(
        Area, related_name="contraindication_rules", blank=True, help_text="Leave areas and kinds empty for every area."
    )
    area_kinds = models.JSONField(
        default=list, blank=True, validators=[validate_area_kinds], help_text="Kinds of area (at the treated site)."
    )
    description = models.TextField(max_length=2000, help_text="Why, in plain language: shown with every verdict.")
    coding_system = models.CharField(
        max_length=200, blank=True, help_text="Only a code confirmed by a source, e.g. http://snomed.info/sct."
    )
    coding_code = models.CharField(max_length=60, blank=True)
    coding_display = models.CharField(max_length=200, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.CLINIC)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists (smallest first).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "condition"]
        constraints = [
            _key_unique("contraindicationrule"),
            _described("contraindicationrule"),
            models.CheckConstraint(
                condition=Q(coding_system="", coding_code="", coding_display="") | ~Q(coding_system="") & ~Q(coding_code=""),
                name="catalog_contraindicationrule_coding_complete",
                violation_error_message="A coded concept needs both its system and its code (or leave all three empty).",
            ),
        ]

    def __str__(self) -> str:
        return self.condition

    def clean(self) -> None:
        if bool(self.coding_system) != bool(self.coding_code):
            raise ValidationError(
                {"coding_code" if self.coding_system else "coding_system": "A coded concept needs both a system and a code (or neither)."}
            )
        if self.coding_display and not self.coding_system:
            raise ValidationError({"coding_display": "A display text belongs to a code: give the system and code too, or leave it empty."})


class ProcedureStep(models.Model):
    """A step of every session (numbing, alcohol swab, micro-injections): the chart turns them into a checklist.

    `chart_step` ties the step to the chart's action; the timing rules (`after_numbing_wait`,
    `after_step` + `min_minutes_after`) are enforced by the chart when that action is recorded.
    """

    class ChartStep(models.TextChoices):
        NUMBING = "numbing", "Numbing cream"
        ANTISEPSIS = "antisepsis", "Antisepsis (alcohol swab)"
        INJECTIONS = "injections", "Injections (treated areas)"

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=120)
    description = models.TextField(max_length=2000, help_text=DESCRIPTION_HELP)
    chart_step = models.CharField(
        max_length=20, choices=ChartStep.choices, blank=True, help_text="The chart action this step is (empty: shown for information)."
    )
    after_numbing_wait = models.BooleanField(
        "not before the numbing wait is over", default=False, help_text="The chart refuses the step until the protocol's wait has passed."
    )
    after_step = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="A step that must come first."
    )
    min_minutes_after = models.PositiveSmallIntegerField(
        "minutes after that step",
        default=0,
        validators=[MaxValueValidator(240)],
        help_text="At least this many minutes after that step (1 = not in the same minute).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            _key_unique("procedurestep"),
            _described("procedurestep"),
            models.CheckConstraint(
                condition=Q(after_step__isnull=False) | Q(min_minutes_after=0),
                name="catalog_procedurestep_wait_needs_step",
                violation_error_message="Choose the step the minutes are counted from.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.after_step_id is None and self.min_minutes_after:
            raise ValidationError({"after_step": "Choose the step the minutes are counted from."})
        if self.pk is not None and self.after_step_id == self.pk:
            raise ValidationError({"after_step": "A step cannot come after itself."})
