"""Shared pieces of the catalog's models: help texts, sane bounds, area kinds, constraint makers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

KEY_HELP = "A short, permanent identifier (lower case, digits, dashes or underscores). It cannot be changed later."
DESCRIPTION_HELP = "Plain language a patient would understand."
DEPTH_LIMIT_MM = Decimal("3.00")
# Sane bounds for a protocol's course and numbing wait (decision 0022): a catalog edit cannot set them outside.
MIN_NUMBING_MINUTES_WITH_CREAM = 10
MAX_SESSIONS = 20
MIN_INTERVAL_DAYS = 7
MAX_INTERVAL_DAYS = 180
DEPTH_VALIDATORS = [
    MinValueValidator(Decimal("0.01"), message="Depth must be more than 0 mm."),
    MaxValueValidator(DEPTH_LIMIT_MM, message="Depth must be at most 3 mm."),
]


class AreaKind(models.TextChoices):
    SCALP = "scalp", "Scalp"
    FACE = "face", "Face"
    BODY = "body", "Body"


def validate_area_kinds(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValidationError("Area kinds must be a list such as [“scalp”, “face”].")
    unknown = sorted(set(value) - set(AreaKind.values))
    if unknown:
        raise ValidationError(f"Unknown area kind(s): {', '.join(unknown)}. Use {', '.join(AreaKind.values)}.")


def _key_unique(model: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=["key"], name=f"catalog_{model}_key_unique", violation_error_message="That key is already used.")


def _described(model: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=~Q(description=""),
        name=f"catalog_{model}_description_present",
        violation_error_message="Write a plain-language description.",
    )
