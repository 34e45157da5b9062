"""The catalog's building blocks: concerns, ingredients, areas, techniques and products."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .base import (
    DESCRIPTION_HELP,
    KEY_HELP,
    AreaKind,
    _described,
    _key_unique,
)


class Concern(models.Model):
    """An indication the clinic treats (hair loss, melasma, acne scars, …)."""

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=120)
    description = models.TextField(max_length=2000, help_text=DESCRIPTION_HELP)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists (smallest first).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [_key_unique("concern"), _described("concern")]

    def __str__(self) -> str:
        return self.name


class Ingredient(models.Model):
    class Kind(models.TextChoices):
        VITAMIN = "vitamin", "Vitamin"
        MINERAL = "mineral", "Mineral"
        AMINO_ACID = "amino_acid", "Amino acid"
        HYALURONIC_ACID = "hyaluronic_acid", "Hyaluronic acid"
        ANTIOXIDANT = "antioxidant", "Antioxidant"
        PLANT_EXTRACT = "plant_extract", "Plant extract"
        PEPTIDE = "peptide", "Peptide"
        GROWTH_FACTOR = "growth_factor", "Growth factor"
        LIGHTENING = "lightening", "Skin-lightening agent"
        LIPOLYTIC = "lipolytic", "Fat-dissolving (lipolytic) agent"
        MEDICINE = "medicine", "Medicine"
        AUTOLOGOUS = "autologous", "From the patient's own blood"

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(max_length=2000, help_text=DESCRIPTION_HELP)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [_key_unique("ingredient"), _described("ingredient")]

    def __str__(self) -> str:
        return self.name


class Area(models.Model):
    """A treatment area (scalp, a face zone, submental, body). Its kind decides aftercare and site rules."""

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=AreaKind.choices)
    description = models.TextField(max_length=2000, help_text=DESCRIPTION_HELP)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists (smallest first).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [_key_unique("area"), _described("area")]

    def __str__(self) -> str:
        return self.name


class Technique(models.Model):
    """How the solution goes in: direct injection (point by point, papules, nappage) or a Dermapen."""

    class Method(models.TextChoices):
        DIRECT = "direct", "Direct injection"
        DERMAPEN = "dermapen", "Microneedling with a Dermapen"

    class Mode(models.TextChoices):
        POINT_BY_POINT = "point_by_point", "Point by point"
        PAPULE = "papule", "Papules"
        NAPPAGE = "nappage", "Nappage"
        STAMPING = "stamping", "Stamping"
        ROLLING = "rolling", "Rolling"
        STAMPING_AND_ROLLING = "stamping_and_rolling", "Stamping and rolling"

    DIRECT_MODES = (Mode.POINT_BY_POINT, Mode.PAPULE, Mode.NAPPAGE)
    DERMAPEN_MODES = (Mode.STAMPING, Mode.ROLLING, Mode.STAMPING_AND_ROLLING)

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=120)
    method = models.CharField(max_length=10, choices=Method.choices)
    mode = models.CharField(max_length=30, choices=Mode.choices)
    description = models.TextField(max_length=2000, help_text=DESCRIPTION_HELP)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["method", "name"]
        constraints = [
            _key_unique("technique"),
            _described("technique"),
            models.CheckConstraint(
                condition=Q(method="direct", mode__in=["point_by_point", "papule", "nappage"])
                | Q(method="dermapen", mode__in=["stamping", "rolling", "stamping_and_rolling"]),
                name="catalog_technique_mode_fits_method",
                violation_error_message="Direct injection is point by point, papules or nappage; a Dermapen stamps, rolls or does both.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.method == self.Method.DIRECT and self.mode and self.mode not in self.DIRECT_MODES:
            raise ValidationError({"mode": "Direct injection is point by point, papules or nappage."})
        if self.method == self.Method.DERMAPEN and self.mode and self.mode not in self.DERMAPEN_MODES:
            raise ValidationError({"mode": "A Dermapen stamps, rolls, or does both."})

    @property
    def needs_device(self) -> bool:
        """True when the technique needs a Dermapen (a bookable device)."""
        return self.method == self.Method.DERMAPEN


class Product(models.Model):
    """A meso solution the clinic buys and stocks. Stock lots point at it (stable id)."""

    class Unit(models.TextChoices):
        ML = "ml", "millilitre (ml)"
        VIAL = "vial", "vial"

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=160)
    manufacturer = models.CharField(max_length=160)
    description = models.TextField(max_length=2000, help_text=DESCRIPTION_HELP)
    ingredients: models.ManyToManyField[Ingredient, Any] = models.ManyToManyField(Ingredient, related_name="products", blank=True)
    approved_concerns: models.ManyToManyField[Concern, Any] = models.ManyToManyField(
        Concern, related_name="approved_products", blank=True, help_text="The indications this product is approved for in this clinic."
    )
    water_soluble = models.BooleanField(default=True, help_text="The clinic uses only water-soluble products in mesotherapy.")
    allergen_notes = models.TextField(max_length=1000, blank=True, help_text="Known allergens or sensitivities, if any.")
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.ML, help_text="The unit stock and doses are counted in.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [_key_unique("product"), _described("product")]

    def __str__(self) -> str:
        return self.name
