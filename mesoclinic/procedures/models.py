"""The session record: one `ProcedureRecord` per appointment, its checklist as explicit timestamped
fields, the treated areas with their products, lots and consumables, PRP, reactions — and, once
signed, amendments only.

Signed records are immutable in the database itself: migration 0002 installs triggers (PostgreSQL
and SQLite) that refuse UPDATE and DELETE of a signed `ProcedureRecord` and any INSERT, UPDATE or
DELETE of its child rows; `Amendment` rows can be added to a signed record but never changed or
deleted. See docs/decisions/0015 (the record) and 0016 (signing, immutability, amendments).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from mesoclinic.catalog.models import Area, CatalogVersion, Product, Protocol, Technique
from mesoclinic.core.models import Device, Location
from mesoclinic.inventory.models import Consumable, Lot
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.models import Appointment
from mesoclinic.screening.models import Screening
from mesoclinic.screening.selectors import EligibilityStatus

from .terms import DEPTH_LIMIT_MM

MAX_PASSES = 20
MAX_DERMAPEN_SPEED = 20
MAX_VOLUME_ML = Decimal("100.00")
MAX_BLOOD_ML = Decimal("120.0")


class Step(models.TextChoices):
    """The clinic's procedure, in order (docs/golden-path.md, step 5); each is a timestamped item of the checklist."""

    RESCREEN = "rescreen", "Re-screen"
    CONSENT = "consent", "Consent on file"
    PHOTOS = "photos", "Before-photos"
    NUMBING = "numbing", "Numbing cream"
    ANTISEPSIS = "antisepsis", "Antisepsis (alcohol swab)"
    TREATMENT = "treatment", "Treated areas"
    PRP = "prp", "Platelet-rich plasma (PRP)"
    REACTIONS = "reactions", "Immediate reactions"
    SIGN_OFF = "sign_off", "Sign-off"


class ProcedureRecord(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        STOPPED = "stopped", "Stopped at the re-screen"
        SIGNED = "signed", "Signed"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="procedure_records")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="procedure_records")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", help_text="Where the session happens.")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    catalog_version = models.ForeignKey(
        CatalogVersion,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The catalog the session is checked against (pinned at opening).",
    )
    course_session = models.ForeignKey(
        "courses.CourseSession", on_delete=models.PROTECT, null=True, blank=True, related_name="procedure_records"
    )
    area_keys = models.JSONField(default=list, help_text="The areas planned for this session (re-screened, then treated).")
    numbing_minutes = models.PositiveSmallIntegerField(help_text="The protocol's numbing wait, pinned at opening.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()

    # 1. Re-screen (the screening app's engine).
    rescreen = models.ForeignKey(Screening, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    rescreened_at = models.DateTimeField(null=True, blank=True)
    rescreen_status = models.CharField(max_length=20, blank=True, help_text="The eligibility the re-screen gave (eligible, caution, …).")
    rescreen_overridden = models.BooleanField(default=False, help_text="A doctor overrode a “not eligible” verdict.")
    stop_reason = models.TextField(max_length=2000, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # 2. Consent — PLACEHOLDER until the consent issue lands: a practitioner confirms a signed form is on file.
    consent_confirmed_at = models.DateTimeField(null=True, blank=True)
    consent_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # 3. Before-photos — PLACEHOLDER until the photos issue lands: a practitioner confirms they were taken.
    photos_confirmed_at = models.DateTimeField(null=True, blank=True)
    photos_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # 4. Numbing.
    numbing_product = models.CharField(max_length=160, blank=True, help_text="The numbing cream, as on the tube.")
    numbing_lot = models.ForeignKey(
        Lot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procedure_numbing",
        help_text="The tube's lot (a topical anaesthetic in stock); the recall and adverse events trace it.",
    )
    numbing_applied_at = models.DateTimeField(null=True, blank=True)
    numbing_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # 5. Antisepsis.
    antisepsis_at = models.DateTimeField(null=True, blank=True)
    antisepsis_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # 6. Injections: the first treated area starts them; before the numbing wait only with a reason.
    injections_started_at = models.DateTimeField(null=True, blank=True)
    early_start_reason = models.TextField(max_length=1000, blank=True)
    # 7. Immediate reactions.
    reactions_recorded_at = models.DateTimeField(null=True, blank=True)
    # 8. Sign-off.
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    notes = models.TextField(max_length=2000, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"],
                name="procedures_procedurerecord_appointment_unique",
                violation_error_message="This appointment already has a session record.",
            ),
            models.UniqueConstraint(
                fields=["course_session"],
                condition=Q(course_session__isnull=False),
                name="procedures_procedurerecord_course_session_unique",
            ),
            models.CheckConstraint(condition=Q(status__in=["open", "stopped", "signed"]), name="procedures_procedurerecord_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="stopped") | Q(stopped_at__isnull=False) & ~Q(stop_reason=""),
                name="procedures_procedurerecord_stop_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(numbing_applied_at__isnull=True, numbing_product="")
                | Q(numbing_applied_at__isnull=False) & ~Q(numbing_product=""),
                name="procedures_procedurerecord_numbing_complete",
            ),
            models.CheckConstraint(
                # A signed record has every required step: the database refuses a sign-off that skipped one.
                condition=~Q(status="signed")
                | Q(
                    signed_at__isnull=False,
                    signed_by__isnull=False,
                    rescreened_at__isnull=False,
                    consent_confirmed_at__isnull=False,
                    photos_confirmed_at__isnull=False,
                    numbing_applied_at__isnull=False,
                    antisepsis_at__isnull=False,
                    injections_started_at__isnull=False,
                    reactions_recorded_at__isnull=False,
                ),
                name="procedures_procedurerecord_signed_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "-started_at"], name="procedures_record_patient"),
            models.Index(fields=["location", "-started_at"], name="procedures_record_location"),
        ]

    def __str__(self) -> str:
        return f"Session {self.pk} of patient {self.patient_id} ({self.get_status_display()})"

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED

    @property
    def rescreen_label(self) -> str:
        """The re-screen's verdict in words ("Not eligible"), never its stored key."""
        return str(EligibilityStatus.LABELS.get(self.rescreen_status, self.rescreen_status.replace("_", " ").capitalize()))

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def injections_unlock_at(self) -> datetime | None:
        """When the numbing wait is over (None before numbing is charted)."""
        if self.numbing_applied_at is None:
            return None
        return self.numbing_applied_at + timedelta(minutes=self.numbing_minutes)

    def numbing_wait_over(self, now: datetime) -> bool:
        unlock = self.injections_unlock_at
        return unlock is not None and now >= unlock

    def local(self, moment: datetime | None) -> datetime | None:
        return self.location.local(moment) if moment is not None else None


class AreaTreatment(models.Model):
    """One treated area: technique, depth, passes, speed, device — with its products and consumables."""

    record = models.ForeignKey(ProcedureRecord, on_delete=models.CASCADE, related_name="treatments")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    technique = models.ForeignKey(Technique, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10, choices=Technique.Method.choices, help_text="Copied from the technique when charted.")
    mode = models.CharField(max_length=30, choices=Technique.Mode.choices, help_text="Copied from the technique when charted.")
    depth_mm = models.DecimalField("needle depth (mm)", max_digits=3, decimal_places=2, null=True, blank=True)
    passes = models.PositiveSmallIntegerField(null=True, blank=True)
    dermapen_speed = models.PositiveSmallIntegerField("Dermapen speed setting", null=True, blank=True)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    notes = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["record", "recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(depth_mm__isnull=True) | Q(depth_mm__gt=0, depth_mm__lte=DEPTH_LIMIT_MM),
                name="procedures_areatreatment_depth_in_range",
                violation_error_message="A needle depth must be more than 0 and at most 3 mm.",
            ),
            models.CheckConstraint(
                condition=Q(passes__isnull=True) | Q(passes__gte=1, passes__lte=MAX_PASSES), name="procedures_areatreatment_passes_in_range"
            ),
            models.CheckConstraint(
                condition=Q(dermapen_speed__isnull=True) | Q(dermapen_speed__gte=1, dermapen_speed__lte=MAX_DERMAPEN_SPEED),
                name="procedures_areatreatment_speed_in_range",
            ),
            models.CheckConstraint(
                condition=Q(method="direct", mode__in=["point_by_point", "papule", "nappage"], dermapen_speed__isnull=True)
                | Q(
                    method="dermapen",
                    mode__in=["stamping", "rolling", "stamping_and_rolling"],
                    device__isnull=False,
                    depth_mm__isnull=False,
                    dermapen_speed__isnull=False,
                ),
                name="procedures_areatreatment_technique_complete",
                violation_error_message="A Dermapen treatment needs the device, a depth and a speed; direct injection has no speed.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area} by {self.technique}"


class ProductUsage(models.Model):
    """One product of an area's solution with its own lot (several rows make a mixture)."""

    record = models.ForeignKey(ProcedureRecord, on_delete=models.CASCADE, related_name="product_usages")
    treatment = models.ForeignKey(AreaTreatment, on_delete=models.CASCADE, related_name="product_usages")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="procedure_usages")
    volume_ml = models.DecimalField("volume (ml)", max_digits=5, decimal_places=2)
    stock_quantity = models.DecimalField(
        max_digits=10, decimal_places=2, help_text="Taken from the lot at sign-off, in the lot's unit (ml, or whole vials)."
    )

    class Meta:
        ordering = ["treatment", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(volume_ml__gt=0, volume_ml__lte=MAX_VOLUME_ML),
                name="procedures_productusage_volume_positive",
                violation_error_message="The volume must be more than 0 ml.",
            ),
            models.CheckConstraint(condition=Q(stock_quantity__gt=0), name="procedures_productusage_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.volume_ml} ml of {self.product} (lot {self.lot_id})"


class ConsumableUsage(models.Model):
    """Needles, cartridges or syringes used at an area, with their lot."""

    record = models.ForeignKey(ProcedureRecord, on_delete=models.CASCADE, related_name="consumable_usages")
    treatment = models.ForeignKey(AreaTreatment, on_delete=models.CASCADE, related_name="consumable_usages")
    consumable = models.ForeignKey(Consumable, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="procedure_consumable_usages")
    quantity = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["treatment", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1, quantity__lte=100), name="procedures_consumableusage_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.consumable} (lot {self.lot_id})"


class PrpPreparation(models.Model):
    """Platelet-rich plasma prepared from the patient's own blood. The plasma is never stock; the kit is."""

    record = models.ForeignKey(ProcedureRecord, on_delete=models.CASCADE, related_name="prp_preparations")
    blood_drawn_ml = models.DecimalField("blood drawn (ml)", max_digits=4, decimal_places=1)
    drawn_at = models.DateTimeField()
    kit_lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="procedure_prp_kits")
    centrifuge_programme = models.CharField(max_length=120, help_text="As set on the centrifuge, e.g. “1500 g, 5 min”.")
    prepared_ml = models.DecimalField("plasma prepared (ml)", max_digits=4, decimal_places=1)
    injected_ml = models.DecimalField("plasma injected (ml)", max_digits=4, decimal_places=1)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record"], name="procedures_prppreparation_record_unique"),
            models.CheckConstraint(
                condition=Q(blood_drawn_ml__gt=0, blood_drawn_ml__lte=MAX_BLOOD_ML), name="procedures_prppreparation_blood_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    prepared_ml__gt=0,
                    injected_ml__gt=0,
                    injected_ml__lte=models.F("prepared_ml"),
                    prepared_ml__lte=models.F("blood_drawn_ml"),
                ),
                name="procedures_prppreparation_volumes_consistent",
                violation_error_message="The plasma injected cannot exceed the plasma prepared, nor that the blood drawn.",
            ),
            models.CheckConstraint(condition=~Q(centrifuge_programme=""), name="procedures_prppreparation_programme_present"),
        ]

    def __str__(self) -> str:
        return f"PRP of record {self.record_id}"


class Reaction(models.Model):
    class Kind(models.TextChoices):
        NONE = "none", "None"
        REDNESS = "redness", "Redness"
        BRUISING = "bruising", "Bruising"
        SWELLING = "swelling", "Swelling"
        PAIN = "pain", "Pain"
        BLEEDING = "bleeding", "Bleeding"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    record = models.ForeignKey(ProcedureRecord, on_delete=models.CASCADE, related_name="reactions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    description = models.CharField(max_length=300, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["record", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record", "kind"], name="procedures_reaction_once_per_kind"),
            models.CheckConstraint(
                condition=Q(kind="none", severity="") | ~Q(kind="none") & Q(severity__in=["mild", "moderate", "severe"]),
                name="procedures_reaction_severity_fits_kind",
                violation_error_message="Give a severity for every reaction (and none for “no reaction”).",
            ),
            models.CheckConstraint(condition=~Q(kind="other") | ~Q(description=""), name="procedures_reaction_other_described"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display() if self.kind == self.Kind.NONE else f"{self.get_kind_display()} ({self.get_severity_display()})"


class Amendment(models.Model):
    """A correction to a signed record: who, when, why, what, the new value — the original stays as it was.

    Append-only in the database (migration 0002), and only a signed record can be amended.
    """

    record = models.ForeignKey(ProcedureRecord, on_delete=models.PROTECT, related_name="amendments")
    section = models.CharField(max_length=20, choices=Step.choices)
    target_id = models.BigIntegerField(null=True, blank=True, help_text="The row amended within the section (a treated area, a product).")
    field = models.CharField(max_length=40)
    label = models.CharField(max_length=200, help_text="What was amended, as shown to staff.")
    original_value = models.TextField(max_length=2000, blank=True, help_text="As signed (or as the previous amendment left it).")
    new_value = models.TextField(max_length=2000)
    # For a field that points at another row (a lot, a technique, a device): the ids behind the values,
    # so the recall finds a lot named by an amendment with one indexed query (docs/decisions/0021).
    original_ref = models.BigIntegerField(null=True, blank=True, help_text="The id behind the replaced value (a lot, technique, device).")
    new_ref = models.BigIntegerField(null=True, blank=True, help_text="The id behind the new value (a lot, technique, device).")
    reason = models.TextField(max_length=2000)
    amended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amended_at = models.DateTimeField()

    class Meta:
        ordering = ["record", "amended_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="procedures_amendment_reason_present"),
            models.CheckConstraint(condition=~Q(field=""), name="procedures_amendment_field_present"),
        ]
        indexes = [models.Index(fields=["field", "new_ref"], name="procedures_amendment_new_ref")]

    def __str__(self) -> str:
        return f"Amendment of {self.label} on record {self.record_id}"
