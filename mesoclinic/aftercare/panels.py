from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mesoclinic.patients.models import Patient

from . import selectors


def aftercare_panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """Recent handouts with their check-in answers, and follow-ups (two queries)."""
    user = request.user
    if not user.can("aftercare.view"):  # type: ignore[union-attr]
        return None
    found = selectors.for_patient(patient=patient)
    if not found.handouts and not found.follow_ups:
        return None
    return {"handouts": found.handouts, "follow_ups": found.follow_ups, "can_manage": user.can("followup.manage")}  # type: ignore[union-attr]
