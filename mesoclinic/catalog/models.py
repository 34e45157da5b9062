"""The clinic's mesotherapy catalog: concerns, ingredients, products, protocols, areas, techniques,
aftercare rules, screening questions and contraindication rules — as data the medical director edits.

Rows keep stable ids (stock lots, courses and screenings point at them); they are never deleted,
only deactivated. Every edit goes through `catalog.services`, which writes a `CatalogVersion`
holding a JSON snapshot of the whole catalog in the same transaction. Records that evaluate rules
(screening verdicts) evaluate against the snapshot of the version they were made under.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

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


class CatalogVersion(models.Model):
    """One state of the whole catalog, written by every edit. Never changed after it is written."""

    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    snapshot = models.JSONField(help_text="The whole catalog in the export format.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the snapshot.")
    changes = models.JSONField(default=list, blank=True, help_text="What changed since the previous version.")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For a change that weakened a safety rule: the second person who approved it.",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="catalog_catalogversion_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="catalog_catalogversion_number_positive"),
        ]

    def __str__(self) -> str:
        return f"Catalog version {self.number}"


class CatalogProposal(models.Model):
    """A catalog change that weakens a safety rule, held until a second person approves or rejects it.

    It holds the whole catalog as it would be (`snapshot`, the export format) and the diff from the
    version it was made from (`base_version`). Approval applies the snapshot in a catalog edit — only
    while the catalog is still at `base_version` — and writes the version with both names.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    base_version = models.ForeignKey(CatalogVersion, on_delete=models.PROTECT, related_name="+")
    snapshot = models.JSONField(help_text="The whole catalog as it would be, in the export format.")
    changes = models.JSONField(default=list, help_text="What would change (the diff from the base version).")
    weakenings = models.JSONField(default=list, help_text="The safety rules the change weakens, one sentence each.")
    note = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=20, default="edit", help_text="edit or import.")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    version = models.ForeignKey(
        CatalogVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="The version it became."
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected"]), name="catalog_catalogproposal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True, version__isnull=True)
                | Q(status="approved", decided_by__isnull=False, decided_at__isnull=False, version__isnull=False)
                | Q(status="rejected", decided_by__isnull=False, decided_at__isnull=False, version__isnull=True),
                name="catalog_catalogproposal_decision_complete",
                violation_error_message="A decided change names who decided, when, and (if approved) the version it became.",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="catalog_catalogproposal_second_person",
                violation_error_message="A change that weakens a safety rule needs a second person: its author cannot approve it.",
            ),
        ]

    def __str__(self) -> str:
        return f"Proposed catalog change {self.pk} ({self.get_status_display()})"
