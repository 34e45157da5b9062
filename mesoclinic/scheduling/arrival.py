"""Arrival: what the front desk is told about the patient's screening when they check in.

A treatment needs a screening that allows it: at check-in the patient's current screening is
evaluated for the appointment's protocol and areas by screening's own `eligibility()` (no rule is
repeated here). An expired, missing, incomplete or not-eligible screening stops a treatment's
check-in with the reason and what to do ("Screening expired on 3 May 2026: a doctor must screen
the patient again before the treatment."); a consultation is only told, never stopped — it is
where a doctor screens. See docs/decisions/0024.

    arrival_check(appointment)               # the verdict shown on the appointment page
    check_in_patient(ctx=…, appointment=…)   # check-in, refused for a treatment the screening does not allow
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from mesoclinic.catalog.models import Protocol
from mesoclinic.core import audit
from mesoclinic.screening.selectors import EligibilityStatus, current_screening, eligibility

from . import hooks, services
from .models import Appointment


class ScreeningStopsCheckIn(services.SchedulingError):
    """The treatment cannot start: the patient's screening does not allow it (HTTP 409)."""


@dataclass(frozen=True)
class ArrivalCheck:
    status: str  # one of screening's EligibilityStatus values
    message: str  # the reason and what to do, one or two sentences
    stops: bool  # True: a treatment that must not be checked in

    @property
    def fine(self) -> bool:
        return self.status == EligibilityStatus.ELIGIBLE


def _todo(treatment: bool, action: str) -> str:
    if treatment:
        return f"{action} before the treatment."
    return f"{action} before any treatment; this consultation can go ahead."


def arrival_check(appointment: Appointment) -> ArrivalCheck:
    """The patient's screening for this appointment, judged on its local day (three to five queries)."""
    treatment = appointment.kind == Appointment.Kind.TREATMENT
    day = appointment.local_starts_at().date()
    protocol = Protocol.objects.filter(key=appointment.protocol_key).first() if appointment.protocol_key else None
    areas = None
    if protocol is not None:
        areas = hooks.appointment_areas(appointment)
        if areas is None:
            areas = list(protocol.areas.values_list("key", flat=True))
    if protocol is not None and areas:
        result = eligibility(patient=appointment.patient, protocol=protocol, area_keys=areas, on=day)
        status, screening, override = result.status, result.screening, result.override
        conditions = result.detail.rstrip(".")
    else:  # a consultation, or a treatment naming no protocol: only whether a valid screening exists
        screening = current_screening(appointment.patient)
        if screening is None:
            status = EligibilityStatus.UNSCREENED
        elif screening.is_expired_on(day):
            status = EligibilityStatus.EXPIRED
        else:
            status = EligibilityStatus.ELIGIBLE
        override, conditions = None, ""
    name = f"“{protocol.name}”" if protocol is not None else "the treatment"
    if status == EligibilityStatus.UNSCREENED:
        return ArrivalCheck(status, f"Not screened: {_todo(treatment, 'a doctor must screen the patient')}", stops=treatment)
    if status == EligibilityStatus.EXPIRED:
        assert screening is not None
        expired = f"Screening expired on {screening.expires_on:%-d %B %Y}"
        return ArrivalCheck(status, f"{expired}: {_todo(treatment, 'a doctor must screen the patient again')}", stops=treatment)
    if status == EligibilityStatus.INCOMPLETE:
        todo = _todo(treatment, "A doctor must complete the screening")
        return ArrivalCheck(status, f"Screening incomplete for {name}: {conditions}. {todo}", stops=treatment)
    if status == EligibilityStatus.NOT_ELIGIBLE and override is None:
        todo = _todo(treatment, "A doctor must review the screening (and may override it with a written reason)")
        return ArrivalCheck(status, f"Not eligible for {name}: {conditions}. {todo}", stops=treatment)
    assert screening is not None
    valid = f"Screening valid until {screening.expires_on - timedelta(days=1):%-d %B %Y}"
    if status == EligibilityStatus.NOT_ELIGIBLE:
        return ArrivalCheck(status, f"{valid}; not eligible for {name}: {conditions}.", stops=False)
    if status == EligibilityStatus.CAUTION:
        return ArrivalCheck(status, f"{valid}; caution for {name}: {conditions}. The practitioner re-screens first.", stops=False)
    return ArrivalCheck(status, f"{valid}.", stops=False)


def check_in_patient(*, ctx: audit.AuditContext, appointment: Appointment) -> Appointment:
    """Check the patient in, unless this is a treatment their screening does not allow
    (ScreeningStopsCheckIn, with the reason and what to do). Otherwise as `services.check_in`."""
    with transaction.atomic():
        check = arrival_check(appointment)
        if check.stops:
            raise ScreeningStopsCheckIn(f"Not checked in. {check.message}", code="screening")
        return services.check_in(ctx=ctx, appointment=appointment)
