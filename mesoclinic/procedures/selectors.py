"""Reads of session records. Every read takes the caller's location scope (a record belongs to the
location where the session happens); another location's record does not exist for the caller.

For other apps:
    records_for_lot(lot=…, scope=…)          # the recall search: every session (signed or not) that used a lot, as amended
    signed_record_detail(record)             # a signed record with its rows (aftercare composes from it)
    patient_sessions(patient=…, scope=…)     # the patient page panel
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from mesoclinic.catalog.models import Product, Technique
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent, Device, Location
from mesoclinic.courses import selectors as courses_selectors
from mesoclinic.courses.models import Course
from mesoclinic.inventory import selectors as inventory_selectors
from mesoclinic.inventory.models import Consumable, Lot
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling import selectors as scheduling_selectors
from mesoclinic.scheduling.models import Appointment

from . import amended, step_rules
from .amendments import AmendableField, amendable_fields
from .models import Amendment, AreaTreatment, ConsumableUsage, ProcedureRecord, ProductUsage, PrpPreparation, Reaction, Step
from .services import OBJECT_TYPE, missing_steps
from .terms import ProtocolTerms, protocol_terms

MAX_ID = 2**63 - 1


def records_in_scope(scope: frozenset[int]) -> QuerySet[ProcedureRecord]:
    return ProcedureRecord.objects.filter(location_id__in=scope).select_related(
        "patient__location",
        "location",
        "practitioner",
        "protocol",
        "catalog_version",
        "appointment__device",
        "appointment__room",
        "signed_by",
        "course_session__course",
        "numbing_lot__consumable",
    )


def get_record(*, scope: frozenset[int], pk: int) -> ProcedureRecord:
    """The record if its location is in scope; otherwise ProcedureRecord.DoesNotExist (a 404)."""
    if not 0 < pk <= MAX_ID:
        raise ProcedureRecord.DoesNotExist(f"no record {pk}")
    return records_in_scope(scope).get(pk=pk)


def record_view(*, ctx: audit.AuditContext, record: ProcedureRecord, screen: str) -> None:
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type=OBJECT_TYPE,
        object_id=record.pk,
        patient_id=record.patient_id,
        location_id=record.location_id,
        detail={"screen": screen},
    )


def view_record(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int, screen: str) -> ProcedureRecord:
    record = get_record(scope=scope, pk=pk)
    record_view(ctx=ctx, record=record, screen=screen)
    return record


def record_for_appointment(*, scope: frozenset[int], appointment_id: int) -> ProcedureRecord | None:
    return records_in_scope(scope).filter(appointment_id=appointment_id).first()


def terms_of(record: ProcedureRecord) -> ProtocolTerms:
    return protocol_terms(record.catalog_version.snapshot, record.protocol.key)


def _treatments(record: ProcedureRecord) -> list[AreaTreatment]:
    return list(
        AreaTreatment.objects.filter(record=record)
        .select_related("area", "technique", "device", "recorded_by")
        .prefetch_related(
            Prefetch("product_usages", queryset=ProductUsage.objects.select_related("product", "lot__product").order_by("id")),
            Prefetch("consumable_usages", queryset=ConsumableUsage.objects.select_related("consumable", "lot__consumable").order_by("id")),
        )
        .order_by("recorded_at", "id")
    )


# --- the chart -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepState:
    key: str
    label: str
    number: int
    done: bool
    done_at: datetime | None  # in the location's zone
    available: bool  # the step may be charted now
    required: bool = True
    placeholder: bool = False


@dataclass(frozen=True)
class LotChoice:
    lot: Lot
    first: bool  # the soonest-expiring usable lot of its item: offered first

    @property
    def short_label(self) -> str:
        """Within its item's group: "lot HRC-2501, expires 09 Apr 2026, 10 ml left"."""
        lot = self.lot
        return f"lot {lot.lot_number}, expires {lot.expires_on:%d %b %Y}, {lot.on_hand.normalize():f} {lot.get_unit_display()} left"

    @property
    def label(self) -> str:
        lot = self.lot
        left = f"{lot.on_hand.normalize():f} {lot.get_unit_display()} left"
        return f"{lot.item_name} — lot {lot.lot_number}, expires {lot.expires_on:%d %b %Y}, {left}"


@dataclass(frozen=True)
class Chart:
    record: ProcedureRecord
    terms: ProtocolTerms
    steps: list[StepState]
    treatments: list[AreaTreatment]
    reactions: list[Reaction]
    prp: PrpPreparation | None
    now: datetime
    unlock_at: datetime | None  # in the location's zone
    seconds_left: int
    missing: list[str]
    product_lots: list[tuple[Product, list[LotChoice]]] = field(default_factory=list)
    consumable_lots: list[LotChoice] = field(default_factory=list)
    kit_lots: list[LotChoice] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    techniques: list[Technique] = field(default_factory=list)
    course_techniques: list[Technique] = field(default_factory=list)  # the course's choice: the chart's default
    rescreen_questions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def step(self) -> dict[str, StepState]:
        return {step.key: step for step in self.steps}

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.done and step.required)

    @property
    def required_count(self) -> int:
        return sum(1 for step in self.steps if step.required)

    @property
    def injections_unlocked(self) -> bool:
        return self.record.injections_started_at is not None or self.seconds_left == 0

    @property
    def area_guidance(self) -> list[tuple[str, str]]:
        return [(self.terms.areas[key].name, self.terms.areas[key].depth_label) for key in self.record.area_keys if key in self.terms.areas]

    @property
    def area_names(self) -> list[tuple[str, str]]:
        return [(key, self.terms.areas[key].name) for key in self.record.area_keys if key in self.terms.areas]


def _choices(lots: list[Lot]) -> list[LotChoice]:
    return [LotChoice(lot=lot, first=index == 0) for index, lot in enumerate(lots)]


def chart(record: ProcedureRecord, *, now: datetime | None = None, with_choices: bool = True) -> Chart:
    """Everything the chart page shows. The number of queries depends on the protocol's products and
    the clinic's consumables (one usable-lots query each), never on how much has been charted."""
    from mesoclinic.catalog.selectors import current_version
    from mesoclinic.screening.services import questions_to_ask

    now = now or timezone.now()
    terms = terms_of(record)
    treatments = _treatments(record)
    reactions = list(Reaction.objects.filter(record=record).order_by("id"))
    prp = PrpPreparation.objects.filter(record=record).select_related("kit_lot__consumable").first()
    local = record.location.local
    unlock = record.injections_unlock_at
    seconds_left = max(0, int((unlock - now).total_seconds()) + (1 if (unlock - now).total_seconds() % 1 else 0)) if unlock else 0
    rescreen_ok = record.rescreened_at is not None and record.status != ProcedureRecord.Status.STOPPED
    before = record.injections_started_at is None and record.is_open
    prep_done = all((rescreen_ok, record.consent_confirmed_at, record.photos_confirmed_at, record.numbing_applied_at, record.antisepsis_at))
    steps = [
        StepState(
            "rescreen",
            str(Step.RESCREEN.label),
            1,
            rescreen_ok,
            local(record.rescreened_at) if record.rescreened_at else None,
            record.status != ProcedureRecord.Status.SIGNED and record.injections_started_at is None,
        ),
        StepState(
            "consent",
            str(Step.CONSENT.label),
            2,
            record.consent_confirmed_at is not None,
            local(record.consent_confirmed_at) if record.consent_confirmed_at else None,
            record.is_open,
            placeholder=True,
        ),
        StepState(
            "photos",
            str(Step.PHOTOS.label),
            3,
            record.photos_confirmed_at is not None,
            local(record.photos_confirmed_at) if record.photos_confirmed_at else None,
            record.is_open,
            placeholder=True,
        ),
        StepState(
            "numbing",
            str(Step.NUMBING.label),
            4,
            record.numbing_applied_at is not None,
            local(record.numbing_applied_at) if record.numbing_applied_at else None,
            before and rescreen_ok,
        ),
        StepState(
            "antisepsis",
            str(Step.ANTISEPSIS.label),
            5,
            record.antisepsis_at is not None,
            local(record.antisepsis_at) if record.antisepsis_at else None,
            before and record.numbing_applied_at is not None,
        ),
        StepState(
            "treatment",
            str(Step.TREATMENT.label),
            6,
            bool(treatments),
            local(record.injections_started_at) if record.injections_started_at else None,
            record.is_open and prep_done,
        ),
    ]
    number = 7
    if terms.uses_prp:
        steps.append(
            StepState(
                "prp", str(Step.PRP.label), number, prp is not None, local(prp.recorded_at) if prp else None, record.is_open and rescreen_ok
            )
        )
        number += 1
    steps.append(
        StepState(
            "reactions",
            str(Step.REACTIONS.label),
            number,
            record.reactions_recorded_at is not None,
            local(record.reactions_recorded_at) if record.reactions_recorded_at else None,
            record.is_open and bool(treatments),
        )
    )
    steps.append(
        StepState(
            "sign_off",
            str(Step.SIGN_OFF.label),
            number + 1,
            record.is_signed,
            local(record.signed_at) if record.signed_at else None,
            record.is_open,
        )
    )
    steps = step_rules.in_catalog_order(steps, record.catalog_version.snapshot)  # the catalog's procedure steps set the order
    missing = missing_steps(record, treatments=len(treatments), has_prp=prp is not None, uses_prp=terms.uses_prp)
    result = Chart(
        record=record,
        terms=terms,
        steps=steps,
        treatments=treatments,
        reactions=reactions,
        prp=prp,
        now=now,
        unlock_at=local(unlock) if unlock else None,
        seconds_left=seconds_left,
        missing=missing,
    )
    if not with_choices or not record.is_open:
        return result
    on = local(now).date()
    location = record.location
    products = list(Product.objects.filter(key__in=terms.product_keys).order_by("name"))
    product_lots = [(product, _choices(inventory_selectors.usable_lots(location=location, on=on, product=product))) for product in products]
    consumables = list(Consumable.objects.filter(is_active=True).order_by("kind", "name"))
    consumable_lots: list[LotChoice] = []
    kit_lots: list[LotChoice] = []
    for consumable in consumables:
        if consumable.kind == Consumable.Kind.PRP_KIT and not terms.uses_prp:
            continue
        lots = _choices(inventory_selectors.usable_lots(location=location, on=on, consumable=consumable))
        (kit_lots if consumable.kind == Consumable.Kind.PRP_KIT else consumable_lots).extend(lots)
    devices = list(Device.objects.filter(location=location, kind=Device.Kind.DERMAPEN, in_service=True).order_by("model", "serial_number"))
    techniques = list(Technique.objects.filter(key__in=terms.technique_keys).order_by("method", "name"))
    course = record.course_session.course if record.course_session is not None else None
    course_techniques = [t for t in course.techniques.order_by("method", "name") if t.key in terms.technique_keys] if course else []
    questions: list[dict[str, Any]] = []
    if steps[0].available:
        questions = questions_to_ask(version=current_version(), kind="rescreen", area_keys=record.area_keys)
    return replace(
        result,
        product_lots=product_lots,
        consumable_lots=consumable_lots,
        kit_lots=kit_lots,
        devices=devices,
        techniques=techniques,
        course_techniques=course_techniques,
        rescreen_questions=questions,
    )


# --- the signed record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One line of the signed record as shown: its value as signed and, when amended, its value now."""

    label: str
    signed: str
    current: str
    amendments: tuple[Amendment, ...] = ()

    @property
    def amended(self) -> bool:
        return bool(self.amendments)


@dataclass(frozen=True)
class SignedRecord:
    record: ProcedureRecord
    terms: ProtocolTerms
    treatments: list[AreaTreatment]
    reactions: list[Reaction]
    prp: PrpPreparation | None
    amendments: list[Amendment]
    fields: list[AmendableField]
    course_progress: Any | None  # courses.selectors.CourseProgress

    def _fact(self, section: str, target_id: int | None, name: str, label: str, value: str = "") -> Fact:
        for item in self.fields:
            if (item.section, item.target_id, item.field) == (section, target_id, name):
                return Fact(label=label, signed=item.signed, current=item.current, amendments=item.amendments)
        return Fact(label=label, signed=value, current=value)

    @property
    def record_facts(self) -> list[Fact]:
        facts = [self._fact(Step.NUMBING, None, "numbing_product", "Numbing cream")]
        lot = self._fact(Step.NUMBING, None, "numbing_lot", "Numbing cream lot")
        if lot.signed or lot.amended:
            facts.append(lot)
        facts.append(self._fact(Step.SIGN_OFF, None, "notes", "Session notes"))
        return facts

    @property
    def treatment_facts(self) -> list[tuple[AreaTreatment, list[Fact]]]:
        rows = []
        for treatment in self.treatments:
            facts = [
                self._fact(Step.TREATMENT, treatment.pk, "technique", "Technique"),
                self._fact(Step.TREATMENT, treatment.pk, "depth_mm", "Needle depth (mm)"),
                self._fact(Step.TREATMENT, treatment.pk, "passes", "Passes"),
            ]
            if treatment.method == "dermapen":
                facts.append(self._fact(Step.TREATMENT, treatment.pk, "dermapen_speed", "Dermapen speed"))
                facts.append(self._fact(Step.TREATMENT, treatment.pk, "device", "Device"))
            for usage in treatment.product_usages.all():
                facts.append(self._fact(Step.TREATMENT, usage.pk, "lot", "Product and lot"))
                facts.append(self._fact(Step.TREATMENT, usage.pk, "volume_ml", "Volume (ml)"))
            for item in treatment.consumable_usages.all():
                facts.append(self._fact(Step.TREATMENT, item.pk, "consumable_lot", "Needles / cartridges"))
                facts.append(self._fact(Step.TREATMENT, item.pk, "quantity", "Count"))
            facts.append(self._fact(Step.TREATMENT, treatment.pk, "notes", "Notes"))
            rows.append((treatment, facts))
        return rows

    @property
    def reaction_facts(self) -> list[Fact]:
        facts = []
        for reaction in self.reactions:
            if reaction.kind == Reaction.Kind.NONE:
                facts.append(Fact("Reactions", "None", "None"))
            else:
                facts.append(self._fact(Step.REACTIONS, reaction.pk, "severity", reaction.get_kind_display()))
                described = self._fact(Step.REACTIONS, reaction.pk, "description", f"{reaction.get_kind_display()}: description")
                if described.signed or described.amended:
                    facts.append(described)
        return facts

    @property
    def amended_fields(self) -> list[AmendableField]:
        return [item for item in self.fields if item.amendments]


def signed_record_detail(record: ProcedureRecord, *, with_course: bool = True) -> SignedRecord:
    """A record with every row it holds, its amendments and each amendable field's signed and current
    value. A constant number of queries. Aftercare's sign-off hook composes from this."""
    treatments = _treatments(record)
    reactions = list(Reaction.objects.filter(record=record).select_related("recorded_by").order_by("id"))
    amendments = list(Amendment.objects.filter(record=record).select_related("amended_by").order_by("amended_at", "id"))
    progress = None
    if with_course and record.course_session is not None:
        try:
            course = courses_selectors.get_course(scope=frozenset({record.location_id}), pk=record.course_session.course_id)
        except Course.DoesNotExist:
            course = None
        progress = courses_selectors.progress_of(course) if course is not None else None
    return SignedRecord(
        record=record,
        terms=terms_of(record),
        treatments=treatments,
        reactions=reactions,
        prp=PrpPreparation.objects.filter(record=record).select_related("kit_lot__consumable").first(),
        amendments=amendments,
        fields=amendable_fields(record, treatments=treatments, reactions=reactions, amendments=amendments),
        course_progress=progress,
    )


# --- lists ---------------------------------------------------------------------------------------


def patient_sessions(*, patient: Patient, scope: frozenset[int], limit: int = 10) -> list[ProcedureRecord]:
    """The patient's session records at the caller's locations, newest first (one query)."""
    return list(
        ProcedureRecord.objects.filter(patient=patient, location_id__in=scope)
        .select_related("protocol", "location", "practitioner")
        .order_by("-started_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class DayRow:
    appointment: Appointment
    record: ProcedureRecord | None


def sessions_for_day(*, ctx: audit.AuditContext, scope: frozenset[int], location: Location, on: date) -> list[DayRow]:
    """The treatment appointments of a location's day with their records (two queries and one audit row)."""
    appointments = [
        appointment
        for appointment in scheduling_selectors.appointments_for_day(scope=scope, location=location, on=on)
        if appointment.kind == Appointment.Kind.TREATMENT
    ]
    records = {
        record.appointment_id: record
        for record in ProcedureRecord.objects.filter(appointment_id__in=[a.pk for a in appointments]).only("id", "appointment_id", "status")
    }
    scheduling_selectors.record_calendar_view(ctx, location=location, screen="sessions", on=on, count=len(appointments))
    return [DayRow(appointment=appointment, record=records.get(appointment.pk)) for appointment in appointments]


# --- the recall search ---------------------------------------------------------------------------

# Every session (signed or still open) that used a lot, as amended: see `procedures.amended`.
records_for_lot = amended.records_for_lot
LotUse = amended.LotUse
