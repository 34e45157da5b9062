"""Roles and what each may do: the single table behind every permission check.

Least privilege: a role gets a permission only if the clinic's work needs it. The `admin`
role configures the system (Django admin) and sees no patient records.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    DOCTOR = "doctor", "Doctor (dermatologist)"
    NURSE = "nurse", "Nurse / practitioner"
    RECEPTIONIST = "receptionist", "Receptionist"
    MANAGER = "manager", "Clinic manager"
    MEDICAL_DIRECTOR = "medical_director", "Medical director"
    ADMIN = "admin", "System administrator"


CLINICAL = {Role.DOCTOR, Role.NURSE, Role.MEDICAL_DIRECTOR}

PERMISSIONS: dict[str, frozenset[Role]] = {
    "patient.view": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER, Role.MEDICAL_DIRECTOR}),
    "patient.register": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER}),
    "patient.edit": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER}),
    "audit.view": frozenset({Role.MANAGER, Role.ADMIN}),
    "location.manage": frozenset({Role.MANAGER, Role.ADMIN}),
    "catalog.edit": frozenset({Role.MEDICAL_DIRECTOR}),
    # The second person on a catalog change that weakens a safety rule (never its author; decision 0022).
    "catalog.approve": frozenset({Role.MEDICAL_DIRECTOR, Role.DOCTOR}),
    "catalog.view": frozenset({Role.DOCTOR, Role.NURSE, Role.MEDICAL_DIRECTOR}),
    "screening.view": frozenset({Role.DOCTOR, Role.NURSE, Role.MEDICAL_DIRECTOR}),
    "screening.screen": frozenset({Role.DOCTOR}),
    "screening.rescreen": frozenset({Role.DOCTOR, Role.NURSE}),
    "screening.override": frozenset({Role.DOCTOR}),
    # Scheduling and messaging (mesoclinic/scheduling, mesoclinic/messaging).
    "schedule.view": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER, Role.MEDICAL_DIRECTOR}),
    "appointment.book": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER}),
    "appointment.attend": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER}),
    "waitlist.manage": frozenset({Role.RECEPTIONIST, Role.MANAGER}),
    "schedule.manage": frozenset({Role.MANAGER}),
    "schedule.own_feed": frozenset({Role.DOCTOR, Role.NURSE, Role.MEDICAL_DIRECTOR}),
    "messaging.manage": frozenset({Role.MANAGER}),
    # Courses (mesoclinic/courses): a doctor prescribes and stops; the front desk and clinical staff book.
    "course.view": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER, Role.MEDICAL_DIRECTOR}),
    "course.prescribe": frozenset({Role.DOCTOR}),
    "course.book": frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER}),
    "course.stop": frozenset({Role.DOCTOR}),
    "course.window_override": frozenset({Role.DOCTOR}),  # move a session outside its window, with a reason
    # Stock (mesoclinic/inventory): clinical roles look up lots; the manager receives, adjusts and recalls.
    "stock.view": frozenset({Role.DOCTOR, Role.NURSE, Role.MANAGER, Role.MEDICAL_DIRECTOR}),
    "stock.manage": frozenset({Role.MANAGER}),
    # Session records (mesoclinic/procedures): nurses and doctors chart and sign; corrections are amendments.
    "procedure.view": frozenset({Role.DOCTOR, Role.NURSE, Role.MEDICAL_DIRECTOR}),
    "procedure.chart": frozenset({Role.DOCTOR, Role.NURSE}),
    "procedure.sign": frozenset({Role.DOCTOR, Role.NURSE}),
    "procedure.amend": frozenset({Role.DOCTOR, Role.NURSE}),
    # Aftercare and safety (mesoclinic/aftercare, mesoclinic/safety): nurses work the follow-ups, a doctor closes adverse events.
    "aftercare.view": frozenset({Role.DOCTOR, Role.NURSE, Role.MEDICAL_DIRECTOR}),
    "followup.manage": frozenset({Role.DOCTOR, Role.NURSE}),
    "adverse_event.view": frozenset({Role.DOCTOR, Role.NURSE, Role.MEDICAL_DIRECTOR}),
    "adverse_event.record": frozenset({Role.DOCTOR, Role.NURSE}),
    "adverse_event.review": frozenset({Role.DOCTOR}),
    "safety.report": frozenset({Role.DOCTOR, Role.MANAGER, Role.MEDICAL_DIRECTOR}),
    "recall.manage": frozenset({Role.DOCTOR, Role.NURSE, Role.MANAGER, Role.MEDICAL_DIRECTOR}),  # as stock.view: from the lot page
}


def role_may(role: str, permission: str) -> bool:
    try:
        allowed = PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"unknown permission {permission!r}") from None
    return role in allowed
