"""Protocols: the cocktail, the areas with their depth guidance, the course and numbing rules."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from .base import (
    DEPTH_LIMIT_MM,
    DEPTH_VALIDATORS,
    DESCRIPTION_HELP,
    KEY_HELP,
    MAX_INTERVAL_DAYS,
    MAX_SESSIONS,
    MIN_INTERVAL_DAYS,
    MIN_NUMBING_MINUTES_WITH_CREAM,
    _described,
    _key_unique,
)
from .items import Area, Concern, Ingredient, Product, Technique


class Protocol(models.Model):
    """A treatment the doctor prescribes: its cocktail, areas with depth guidance, techniques and course rules."""

    class Family(models.TextChoices):
        HAIR = "hair", "Hair"
        REJUVENATION = "rejuvenation", "Rejuvenation (bio-revitalisation)"
        PIGMENTATION = "pigmentation", "Pigmentation"
        SCAR_REVISION = "scar_revision", "Scar revision"
        ANTI_WRINKLE = "anti_wrinkle", "Meso anti-wrinkle"
        LIPOLYSIS = "lipolysis", "Lipolysis (fat reduction)"

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=160)
    family = models.CharField(max_length=20, choices=Family.choices)
    description = models.TextField(max_length=2000, help_text=DESCRIPTION_HELP)
    concerns: models.ManyToManyField[Concern, Any] = models.ManyToManyField(Concern, related_name="protocols")
    ingredients: models.ManyToManyField[Ingredient, Any] = models.ManyToManyField(
        Ingredient, through="ProtocolIngredient", related_name="+"
    )
    products: models.ManyToManyField[Product, Any] = models.ManyToManyField(
        Product,
        related_name="protocols",
        blank=True,
        help_text="Stock products used; each must be approved for every concern of the protocol.",
    )
    areas: models.ManyToManyField[Area, Any] = models.ManyToManyField(Area, through="ProtocolArea", related_name="protocols")
    techniques: models.ManyToManyField[Technique, Any] = models.ManyToManyField(Technique, related_name="protocols")

    class EarlyStart(models.TextChoices):
        DOCTOR = "doctor", "Only a doctor"
        CLINICIAN = "clinician", "A doctor or a nurse"
        NOBODY = "nobody", "Nobody: the full numbing wait always applies"

    sessions_min = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(MAX_SESSIONS, message=f"At most {MAX_SESSIONS} sessions.")]
    )
    sessions_max = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(MAX_SESSIONS, message=f"At most {MAX_SESSIONS} sessions.")]
    )
    interval_min_days = models.PositiveSmallIntegerField(
        default=21,
        validators=[
            MinValueValidator(MIN_INTERVAL_DAYS, message=f"Sessions are at least {MIN_INTERVAL_DAYS} days apart."),
            MaxValueValidator(MAX_INTERVAL_DAYS, message=f"At most {MAX_INTERVAL_DAYS} days."),
        ],
    )
    interval_max_days = models.PositiveSmallIntegerField(
        default=28,
        validators=[
            MinValueValidator(MIN_INTERVAL_DAYS, message=f"Sessions are at least {MIN_INTERVAL_DAYS} days apart."),
            MaxValueValidator(MAX_INTERVAL_DAYS, message=f"At most {MAX_INTERVAL_DAYS} days."),
        ],
    )
    uses_topical_anaesthetic = models.BooleanField(
        "numbs the skin with a topical anaesthetic (cream) first",
        default=True,
        help_text=f"Then the numbing wait is at least {MIN_NUMBING_MINUTES_WITH_CREAM} minutes.",
    )
    numbing_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MaxValueValidator(240)], help_text="Minimum wait after the numbing cream before injecting."
    )
    early_start_role = models.CharField(
        "who may start injecting before the numbing wait is over",
        max_length=10,
        choices=EarlyStart.choices,
        default=EarlyStart.DOCTOR,
        help_text="Always with a written reason, audited.",
    )
    procedure_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(480)], help_text="Time in the room after numbing (for booking)."
    )
    uses_prp = models.BooleanField(
        "uses growth factors from the patient's own blood (PRP)",
        default=False,
        help_text="The chart then records the blood draw, kit lot, centrifuge programme and volumes.",
    )
    checkin_after_hours = models.PositiveSmallIntegerField(
        default=6, validators=[MaxValueValidator(168)], help_text="When to ask whether the redness has settled."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists (smallest first).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            _key_unique("protocol"),
            _described("protocol"),
            models.CheckConstraint(
                condition=Q(sessions_min__gte=1) & Q(sessions_min__lte=F("sessions_max")),
                name="catalog_protocol_sessions_ordered",
                violation_error_message="The minimum number of sessions must be at least 1 and not more than the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(interval_min_days__gte=1) & Q(interval_min_days__lte=F("interval_max_days")),
                name="catalog_protocol_interval_ordered",
                violation_error_message="The shortest interval must be at least 1 day and not longer than the longest interval.",
            ),
            models.CheckConstraint(
                condition=Q(procedure_minutes__gte=5),
                name="catalog_protocol_procedure_minutes_positive",
                violation_error_message="The procedure takes at least 5 minutes.",
            ),
            models.CheckConstraint(
                condition=Q(uses_topical_anaesthetic=False) | Q(numbing_minutes__gte=MIN_NUMBING_MINUTES_WITH_CREAM),
                name="catalog_protocol_numbing_wait_with_cream",
                violation_error_message=(
                    f"A protocol that numbs the skin with a cream waits at least {MIN_NUMBING_MINUTES_WITH_CREAM} minutes before injecting."
                ),
            ),
            models.CheckConstraint(
                condition=Q(sessions_max__lte=MAX_SESSIONS)
                & Q(interval_min_days__gte=MIN_INTERVAL_DAYS)
                & Q(interval_max_days__lte=MAX_INTERVAL_DAYS),
                name="catalog_protocol_course_in_bounds",
                violation_error_message=(
                    f"A course has at most {MAX_SESSIONS} sessions, {MIN_INTERVAL_DAYS} to {MAX_INTERVAL_DAYS} days apart."
                ),
            ),
            models.CheckConstraint(
                condition=Q(early_start_role__in=["doctor", "clinician", "nobody"]),
                name="catalog_protocol_early_start_role_valid",
                violation_error_message="Choose who may start injecting before the numbing wait is over.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.sessions_min is not None and self.sessions_max is not None and self.sessions_min > self.sessions_max:
            errors["sessions_max"] = f"The most sessions ({self.sessions_max}) cannot be fewer than the fewest ({self.sessions_min})."
        if self.interval_min_days is not None and self.interval_max_days is not None and self.interval_min_days > self.interval_max_days:
            errors["interval_max_days"] = (
                f"The longest interval ({self.interval_max_days} days) cannot be shorter than the shortest ({self.interval_min_days} days)."
            )
        if self.uses_topical_anaesthetic and self.numbing_minutes is not None and self.numbing_minutes < MIN_NUMBING_MINUTES_WITH_CREAM:
            errors["numbing_minutes"] = (
                f"This protocol numbs the skin with a cream: wait at least {MIN_NUMBING_MINUTES_WITH_CREAM} minutes before injecting."
            )
        if errors:
            raise ValidationError(errors)

    def may_start_early(self, role: str) -> bool:
        """Whether a user of `role` may start injecting before the numbing wait is over (see early_start_role)."""
        return may_start_early(self.early_start_role, role)


EARLY_START_ROLES = {"doctor": frozenset({"doctor"}), "clinician": frozenset({"doctor", "nurse"}), "nobody": frozenset()}
EARLY_START_STRICTNESS = {"clinician": 0, "doctor": 1, "nobody": 2}


def may_start_early(setting: str, role: str) -> bool:
    """The early-start setting of a protocol (its catalog value) allows `role`; an unknown setting allows nobody."""
    return role in EARLY_START_ROLES.get(setting, frozenset())


class ProtocolArea(models.Model):
    """An area a protocol treats, with the microneedling depth guidance for it (an editable range, not a rule).

    The depth is empty only for protocols without a Dermapen technique (direct injection into fat,
    where the doctor chooses the needle).
    """

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="protocol_areas")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="protocol_areas")
    depth_min_mm = models.DecimalField(
        "shallowest depth (mm)",
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=DEPTH_VALIDATORS,
    )
    depth_max_mm = models.DecimalField(
        "deepest depth (mm)",
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=DEPTH_VALIDATORS,
    )

    class Meta:
        ordering = ["protocol", "area__position", "area__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "area"], name="catalog_protocolarea_unique", violation_error_message="That area is listed twice."
            ),
            models.CheckConstraint(
                condition=Q(depth_min_mm__isnull=True, depth_max_mm__isnull=True)
                | Q(
                    depth_min_mm__isnull=False,
                    depth_max_mm__isnull=False,
                    depth_min_mm__gt=0,
                    depth_min_mm__lte=F("depth_max_mm"),
                    depth_max_mm__lte=DEPTH_LIMIT_MM,
                ),
                name="catalog_protocolarea_depth_in_range",
                violation_error_message=(
                    "Depth guidance must lie between 0 and 3 mm, with the shallowest depth not deeper than the deepest; "
                    "give both or neither."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} — {self.area}"

    def clean(self) -> None:
        low, high = self.depth_min_mm, self.depth_max_mm
        if (low is None) != (high is None):
            raise ValidationError({"depth_max_mm" if high is None else "depth_min_mm": "Give both depths, or neither."})
        # The range 0–3 mm is checked by the fields' validators.
        if low is not None and high is not None and low > high:
            raise ValidationError({"depth_max_mm": f"The deepest depth ({high} mm) cannot be shallower than the shallowest ({low} mm)."})

    @property
    def depth_label(self) -> str:
        if self.depth_min_mm is None or self.depth_max_mm is None:
            return "no microneedling depth (direct injection)"
        return f"{self.depth_min_mm.normalize():f}–{self.depth_max_mm.normalize():f} mm"


class ProtocolIngredient(models.Model):
    class ConcentrationUnit(models.TextChoices):
        MG_PER_ML = "mg/ml", "mg/ml"
        PERCENT = "%", "%"

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="protocol_ingredients")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="protocol_ingredients")
    concentration = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True, help_text="Leave empty when the product label sets it."
    )
    concentration_unit = models.CharField(max_length=10, choices=ConcentrationUnit.choices, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["protocol", "ingredient__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "ingredient"],
                name="catalog_protocolingredient_unique",
                violation_error_message="That ingredient is listed twice.",
            ),
            models.CheckConstraint(
                condition=Q(concentration__isnull=True, concentration_unit="")
                | Q(concentration__isnull=False, concentration__gt=0) & ~Q(concentration_unit=""),
                name="catalog_protocolingredient_concentration_valid",
                violation_error_message="A concentration must be more than 0 and have a unit (or leave both empty).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ingredient} in {self.protocol}"

    def clean(self) -> None:
        if self.concentration is None and self.concentration_unit:
            raise ValidationError({"concentration": "Give the concentration for this unit, or leave the unit empty."})
        if self.concentration is not None:
            if self.concentration <= 0:
                raise ValidationError({"concentration": "A concentration must be more than 0."})
            if not self.concentration_unit:
                raise ValidationError({"concentration_unit": "Choose the unit of the concentration."})

    @property
    def concentration_label(self) -> str:
        if self.concentration is None:
            return "as on the product label"
        return f"{self.concentration.normalize():f} {self.concentration_unit}"
