from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mesoclinic.patients.models import Patient

from . import selectors


def safety_panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """The patient's adverse events and, for recording a new one, their latest sessions (two queries)."""
    user = request.user
    if not user.can("adverse_event.view"):  # type: ignore[union-attr]
        return None
    events = selectors.events_for_patient(patient=patient)
    can_record = user.can("adverse_event.record")  # type: ignore[union-attr]
    scope = frozenset(user.location_ids)  # type: ignore[union-attr]
    records = selectors.sessions_for_patient(patient=patient, scope=scope) if can_record else []
    if not events and not can_record:
        return None
    return {"events": events, "records": records, "can_record": can_record}
