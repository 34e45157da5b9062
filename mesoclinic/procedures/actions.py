"""The procedures app's button on the appointment page: open (or continue) the chart, or the record."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from mesoclinic.scheduling.hooks import AppointmentAction

from .models import ProcedureRecord

CHARTABLE = frozenset({"booked", "checked_in", "in_progress"})


def chart_action(user: Any, appointment: Any) -> AppointmentAction | None:
    """ "Open the chart" for a treatment session a clinician can chart (`procedures:open` goes to the
    record when one exists); "The session record" once it is done and has one (one query)."""
    if appointment.kind != "treatment":
        return None
    if appointment.status in CHARTABLE and user.can("procedure.chart"):
        return AppointmentAction(label="Open the chart", url=reverse("procedures:open", args=[appointment.pk]), primary=True)
    if appointment.status == "completed" and user.can("procedure.view"):
        record_id = ProcedureRecord.objects.filter(appointment_id=appointment.pk).values_list("pk", flat=True).first()
        if record_id is not None:
            return AppointmentAction(label="The session record", url=reverse("procedures:detail", args=[record_id]))
    return None
