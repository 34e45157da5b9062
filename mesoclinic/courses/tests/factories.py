"""Test helpers for courses: a catalog, a clinic with qualified practitioners, screened patients."""

from __future__ import annotations

from mesoclinic.accounts.roles import Role
from mesoclinic.catalog.models import Concern, Protocol, Technique
from mesoclinic.catalog.services import load_default_catalog
from mesoclinic.core import audit
from mesoclinic.courses.models import Course, Qualification
from mesoclinic.courses.services import prescribe_course
from mesoclinic.scheduling.tests.factories import (
    AppointmentFactory,
    DeviceFactory,
    PatientFactory,
    RoomFactory,
    open_every_day,
    practitioner_at,
    works_every_day,
)
from mesoclinic.screening.services import override_verdict, questions_to_ask, record_screening

__all__ = [
    "AppointmentFactory",
    "DeviceFactory",
    "PatientFactory",
    "RoomFactory",
    "hair",
    "load_catalog",
    "open_every_day",
    "practitioner_at",
    "prescribe_hair",
    "qualify",
    "screen",
    "works_every_day",
]


def load_catalog():
    return load_default_catalog()


def hair() -> Protocol:
    return Protocol.objects.get(key="hair_cocktail")


def hair_clinic(location):
    """The browser walks' clinic: the default catalog, open every day, Dr Daniela Ortega and nurse
    Nadia Brooks qualified for the hair protocol. Returns (doctor, nurse)."""
    load_catalog()
    open_every_day(location)
    doctor = practitioner_at(location, role=Role.DOCTOR, first_name="Daniela", last_name="Ortega")
    nurse = practitioner_at(location, first_name="Nadia", last_name="Brooks")
    qualify(hair(), doctor, nurse)
    return doctor, nurse


def qualify(protocol: Protocol, *users) -> None:
    Qualification.objects.bulk_create([Qualification(practitioner=user, protocol=protocol) for user in users], ignore_conflicts=True)


def screen(doctor, patient, **yes: bool):
    """A full screening by `doctor`: every answer "no" except the keys given as True ("yes")."""
    ctx = audit.AuditContext(actor=doctor, path="/test")
    from mesoclinic.catalog.selectors import current_version

    asked = questions_to_ask(version=current_version(), kind="full")
    answers = {str(q["key"]): ("yes" if yes.get(str(q["key"])) else "no") for q in asked}
    return record_screening(ctx=ctx, patient=patient, answers=answers, kind="full")


def override(doctor, screening, protocol, area_keys):
    return override_verdict(
        ctx=audit.AuditContext(actor=doctor, path="/test"),
        screening=screening,
        protocol=protocol,
        area_keys=area_keys,
        reason="Benefits outweigh the risk; discussed with the patient.",
    )


def prescribe_hair(doctor, patient, *, sessions=6, interval=(28, 28), dermapen=True, preferred=None, location=None) -> Course:
    protocol = hair()
    techniques = Technique.objects.filter(key="dermapen_rolling" if dermapen else "direct_papule")
    return prescribe_course(
        ctx=audit.AuditContext(actor=doctor, path="/test"),
        patient=patient,
        protocol=protocol,
        concern=Concern.objects.get(key="hair_loss"),
        area_keys=["scalp"],
        sessions=sessions,
        interval_min_days=interval[0],
        interval_max_days=interval[1],
        preferred_practitioner=preferred,
        techniques=list(techniques),
        location=location,
    )
