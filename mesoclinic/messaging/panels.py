"""The patient page's "Messages not sent" panel: what the outbox could not send to this patient."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from . import selectors


def not_sent_panel(request: HttpRequest, patient: Any) -> dict[str, Any] | None:
    """Failed and undeliverable messages to the patient (one query, one audit row when shown)."""
    rows = selectors.not_sent_to_patient(scope=request.user.location_ids, patient_id=patient.pk)  # type: ignore[union-attr]
    if not rows:
        return None
    audit.record(
        audit.context_from_request(request),
        action=AuditEvent.Action.VIEW,
        object_type="message",
        patient_id=patient.pk,
        location_id=patient.location_id,
        detail={"screen": "patient-undelivered", "messages": len(rows)},
    )
    return {"messages": rows, "can_manage": request.user.can("messaging.manage")}  # type: ignore[union-attr]
