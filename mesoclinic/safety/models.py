"""Side effects and recalls: adverse events tied to the session, its areas and lots; recall contacts.

An `AdverseEvent` belongs to a session (`procedures.ProcedureRecord`, signed or not) or to the
patient alone (a reaction outside a session); with a session, the areas
and the product usages (each with its own lot — a mixture has one row per product) it involves are
links to that session's chart rows, so the report can count by protocol, product, lot and
practitioner without copying the chart. Product and lot ids are kept on the link too (they are what
the reports and the recall group by). A doctor reviews and closes an event. See docs/decisions/0019 and 0021.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mesoclinic.aftercare.models import FollowUp
from mesoclinic.catalog.models import Area, Product
from mesoclinic.core.concurrency import version_at_least_one, version_field
from mesoclinic.core.models import Location
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import Patient
from mesoclinic.procedures.models import AreaTreatment, ProcedureRecord, ProductUsage

from .reaction_codes import ReactionCode

MAX_TEXT = 2000
SERIOUSNESS_FIELDS = (
    "serious_death",
    "serious_life_threatening",
    "serious_hospitalisation",
    "serious_disability",
    "serious_congenital_anomaly",
    "serious_other",
)


class EventType(models.TextChoices):
    BRUISING = "bruising", "Bruising"
    SWELLING = "swelling", "Swelling"
    PERSISTENT_REDNESS = "persistent_redness", "Persistent redness"
    PAIN = "pain", "Pain"
    INFECTION = "infection", "Infection"
    ALLERGIC_REACTION = "allergic_reaction", "Allergic reaction"
    NODULES = "nodules", "Nodules"
    SKIN_NECROSIS = "skin_necrosis", "Skin necrosis"
    OTHER = "other", "Other"


class EventSeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"
    SERIOUS = "serious", "Serious (life-threatening, hospital, lasting harm)"


class EventOutcome(models.TextChoices):
    ONGOING = "ongoing", "Not yet recovered"
    RECOVERING = "recovering", "Recovering"
    RESOLVED = "resolved", "Recovered"
    RESOLVED_WITH_SEQUELAE = "resolved_with_sequelae", "Recovered with lasting effects"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class AdverseEvent(models.Model):
    Type = EventType
    Severity = EventSeverity
    Outcome = EventOutcome

    class Causality(models.TextChoices):
        RELATED = "related", "Related to the treatment"
        POSSIBLE = "possible", "Possibly related"
        UNLIKELY = "unlikely", "Unlikely to be related"
        UNRELATED = "unrelated", "Not related"

    class Status(models.TextChoices):
        OPEN = "open", "Awaiting a doctor's review"
        CLOSED = "closed", "Reviewed and closed"

    class RegulatorChannel(models.TextChoices):
        YELLOW_CARD_WEB = "yellow_card_web", "Yellow Card website"
        YELLOW_CARD_APP = "yellow_card_app", "Yellow Card app"
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Telephone"
        POST = "post", "Post"
        OTHER = "other", "Other"

    record = models.ForeignKey(
        ProcedureRecord,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adverse_events",
        help_text="The session (signed, open or stopped); empty for an event not tied to a session.",
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    follow_up = models.OneToOneField(FollowUp, on_delete=models.PROTECT, null=True, blank=True, related_name="adverse_event")
    event_type = models.CharField("type", max_length=20, choices=Type.choices)
    description = models.TextField("what happened", max_length=MAX_TEXT)
    onset_at = models.DateTimeField("onset")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    treatment = models.TextField("treatment given", max_length=MAX_TEXT, blank=True)
    outcome = models.CharField(max_length=30, choices=Outcome.choices, default=Outcome.ONGOING)
    # What a regulator's report asks for (the UK's Yellow Card; FHIR AdverseEvent).
    reaction_code = models.CharField(
        "reaction (coded)", max_length=10, choices=ReactionCode.choices, blank=True, help_text="A local code with a MedDRA-style term."
    )
    serious_death = models.BooleanField("resulted in death", default=False)
    serious_life_threatening = models.BooleanField("life-threatening", default=False)
    serious_hospitalisation = models.BooleanField("caused or prolonged hospitalisation", default=False)
    serious_disability = models.BooleanField("disability or incapacity", default=False)
    serious_congenital_anomaly = models.BooleanField("congenital anomaly", default=False)
    serious_other = models.BooleanField("other medically important condition", default=False)
    reporter_name = models.CharField(max_length=160, blank=True, help_text="Who reports it (for the regulator).")
    reporter_role = models.CharField(max_length=80, blank=True, help_text="e.g. doctor, nurse, patient.")
    regulator_reported_on = models.DateField("reported to the regulator on", null=True, blank=True)
    regulator_channel = models.CharField("reported by", max_length=20, choices=RegulatorChannel.choices, blank=True)
    regulator_reference = models.CharField("regulator's reference", max_length=60, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    causality = models.CharField(max_length=10, choices=Causality.choices, blank=True)
    review_note = models.TextField(max_length=MAX_TEXT, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    version = version_field()

    class Meta:
        ordering = ["-onset_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(event_type__in=EventType.values), name="safety_adverseevent_type_valid"),
            models.CheckConstraint(condition=Q(severity__in=EventSeverity.values), name="safety_adverseevent_severity_valid"),
            models.CheckConstraint(condition=Q(outcome__in=EventOutcome.values), name="safety_adverseevent_outcome_valid"),
            models.CheckConstraint(condition=~Q(description=""), name="safety_adverseevent_description_present"),
            models.CheckConstraint(
                condition=Q(regulator_reported_on__isnull=True, regulator_channel="", regulator_reference="")
                | Q(regulator_reported_on__isnull=False) & ~Q(regulator_channel=""),
                name="safety_adverseevent_regulator_report_complete",
                violation_error_message="A report to the regulator needs its date and how it was sent.",
            ),
            models.CheckConstraint(
                condition=Q(status="open", reviewed_at__isnull=True, reviewed_by__isnull=True, causality="")
                | Q(status="closed", reviewed_at__isnull=False, reviewed_by__isnull=False)
                & ~Q(causality="")
                & ~Q(review_note="")
                & ~Q(outcome="ongoing"),
                name="safety_adverseevent_review_complete",
                violation_error_message=(
                    "Closing an event needs the doctor, the time, a causality, a note and an outcome other than “not yet recovered”."
                ),
            ),
            version_at_least_one("safety_adverseevent"),
        ]
        indexes = [
            models.Index(fields=["location", "-onset_at"], name="safety_event_location_onset"),
            models.Index(fields=["patient", "-onset_at"], name="safety_event_patient"),
            models.Index(fields=["location", "status", "-onset_at"], name="safety_event_location_status"),
        ]

    def __str__(self) -> str:
        return f"Adverse event {self.pk}: {self.get_event_type_display()} ({self.get_severity_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_serious(self) -> bool:
        return self.severity == self.Severity.SERIOUS

    @property
    def seriousness_criteria(self) -> list[str]:
        """The Yellow Card's seriousness criteria that apply, as labels."""
        return [str(getattr(self._meta.get_field(name), "verbose_name", name)) for name in SERIOUSNESS_FIELDS if getattr(self, name)]


class AdverseEventArea(models.Model):
    """A treated area of the session the event involves."""

    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.CASCADE, related_name="area_links")
    treatment = models.ForeignKey(AreaTreatment, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["adverse_event", "id"]
        constraints = [models.UniqueConstraint(fields=["adverse_event", "treatment"], name="safety_adverseeventarea_unique")]

    def __str__(self) -> str:
        return f"{self.area} in event {self.adverse_event_id}"


class AdverseEventProduct(models.Model):
    """A suspected product with its lot: a product usage of the session (one product, one lot), or a
    lot named directly (the numbing cream, or a product when the event has no session)."""

    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.CASCADE, related_name="product_links")
    usage = models.ForeignKey(ProductUsage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="Empty for a consumable."
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["adverse_event", "id"]
        constraints = [
            models.UniqueConstraint(fields=["adverse_event", "usage"], name="safety_adverseeventproduct_unique"),
            models.UniqueConstraint(
                fields=["adverse_event", "lot"], condition=Q(usage__isnull=True), name="safety_adverseeventproduct_lot_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["lot"], name="safety_event_product_lot"),
            models.Index(fields=["product"], name="safety_event_product"),
        ]

    def __str__(self) -> str:
        return f"Lot {self.lot_id} in event {self.adverse_event_id}"

    @property
    def item_name(self) -> str:
        return self.lot.item_name


class RecallContact(models.Model):
    """A patient who received a recalled lot has been contacted about it (one row per lot and patient)."""

    class Method(models.TextChoices):
        PHONE = "phone", "Phone call"
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        LETTER = "letter", "Letter"
        IN_PERSON = "in_person", "In person"

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10, choices=Method.choices)
    note = models.CharField(max_length=500, blank=True)
    contacted_at = models.DateTimeField()
    contacted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["lot", "contacted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "patient"],
                name="safety_recallcontact_unique",
                violation_error_message="This patient is already marked contacted.",
            ),
            models.CheckConstraint(
                condition=Q(method__in=["phone", "email", "sms", "letter", "in_person"]), name="safety_recallcontact_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Patient {self.patient_id} contacted about lot {self.lot_id}"
