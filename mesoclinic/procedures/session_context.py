"""What the practitioner needs to know before charting a session, shown at the top of the chart:

    session_context(record)   # "Session 2 of 6", open or recent adverse events, what was done last
                              # time, the consent and screening state, the patient's allergies

A constant number of queries whatever the patient's history (the chart's query-count test guards
it). Reads only: the chart view writes the audit row for the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone

from mesoclinic.catalog.models import Ingredient, Product
from mesoclinic.screening.selectors import Eligibility, eligibility

from .checks import allergens_by_product
from .models import AreaTreatment, ConsumableUsage, ProcedureRecord, ProductUsage, Reaction

# An adverse event closed less than this long ago is still shown ("recent"); open ones always are.
RECENT_ADVERSE_EVENTS = timedelta(days=90)
MAX_ADVERSE_EVENTS = 5


@dataclass(frozen=True)
class LastTime:
    """The patient's previous signed session of the same protocol, with its rows."""

    record: ProcedureRecord
    treatments: list[AreaTreatment]
    reactions: list[Reaction]
    signed_on: datetime  # in the location's zone

    def treatment_for(self, area_key: str) -> AreaTreatment | None:
        return next((t for t in self.treatments if t.area.key == area_key), None)


@dataclass(frozen=True)
class SessionContext:
    session_number: int | None
    sessions_planned: int | None
    adverse_events: list[Any]  # safety.models.AdverseEvent
    last: LastTime | None
    screening: Eligibility
    allergy_ingredients: list[Ingredient]
    allergy_notes: str
    allergens: dict[str, list[str]] = field(default_factory=dict)  # product name → the patient's allergens in it
    allergy_acknowledgement: str = ""  # the prescribing doctor's reason for accepting them (the course's)

    @property
    def session_label(self) -> str:
        if self.session_number is None or self.sessions_planned is None:
            return "Single session (not part of a course)"
        return f"Session {self.session_number} of {self.sessions_planned}"

    @property
    def has_allergies(self) -> bool:
        return bool(self.allergy_ingredients or self.allergy_notes)


def _adverse_events(record: ProcedureRecord, now: datetime) -> list[Any]:
    from mesoclinic.safety.models import AdverseEvent  # safety builds on procedures: read it lazily

    recent = Q(status=AdverseEvent.Status.OPEN) | Q(onset_at__gte=now - RECENT_ADVERSE_EVENTS)
    return list(
        AdverseEvent.objects.filter(recent, patient_id=record.patient_id)
        .select_related("record__protocol")
        .order_by("-onset_at", "-id")[:MAX_ADVERSE_EVENTS]
    )


def _last_time(record: ProcedureRecord) -> LastTime | None:
    previous = (
        ProcedureRecord.objects.filter(
            patient_id=record.patient_id,
            protocol_id=record.protocol_id,
            status=ProcedureRecord.Status.SIGNED,
            started_at__lt=record.started_at,
        )
        .select_related("location")
        .order_by("-started_at", "-id")
        .first()
    )
    if previous is None:
        return None
    treatments = list(
        AreaTreatment.objects.filter(record=previous)
        .select_related("area", "technique", "device")
        .prefetch_related(
            Prefetch("product_usages", queryset=ProductUsage.objects.select_related("product", "lot").order_by("id")),
            Prefetch("consumable_usages", queryset=ConsumableUsage.objects.select_related("consumable", "lot").order_by("id")),
        )
        .order_by("recorded_at", "id")
    )
    reactions = list(Reaction.objects.filter(record=previous).order_by("id"))
    signed = previous.signed_at or previous.started_at
    return LastTime(record=previous, treatments=treatments, reactions=reactions, signed_on=previous.location.local(signed))


def session_context(record: ProcedureRecord, *, products: list[Product], now: datetime | None = None) -> SessionContext:
    """The context panel of `record`'s chart. `products` are the protocol's (the chart already read them)."""
    now = now or timezone.now()
    course_session = record.course_session
    course = course_session.course if course_session is not None else None
    patient = record.patient
    allergies = list(patient.allergy_ingredients.order_by("name"))
    found = allergens_by_product(patient=patient, products=products) if allergies else {}
    return SessionContext(
        session_number=course_session.number if course_session is not None else None,
        sessions_planned=course.sessions_planned if course is not None else None,
        adverse_events=_adverse_events(record, now),
        last=_last_time(record),
        screening=eligibility(patient=patient, protocol=record.protocol, area_keys=record.area_keys),
        allergy_ingredients=allergies,
        allergy_notes=patient.allergy_notes,
        allergens={product.name: [i.name for i in found[product.pk]] for product in products if product.pk in found},
        allergy_acknowledgement=course.allergy_acknowledgement if course is not None else "",
    )
