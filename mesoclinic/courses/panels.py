"""The courses panel on the patient page (two queries, whatever the patient's history)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mesoclinic.patients.models import Patient

from .selectors import patient_courses


def courses_panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    user = request.user
    if not user.can("course.view"):  # type: ignore[union-attr]
        return None
    return {
        "courses": patient_courses(patient=patient, scope=user.location_ids),  # type: ignore[union-attr]
        "can_prescribe": user.can("course.prescribe"),  # type: ignore[union-attr]
    }
