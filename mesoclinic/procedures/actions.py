"""The procedures app's button on the appointment page: open (or continue) the session chart."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from mesoclinic.scheduling.hooks import AppointmentAction

CHARTABLE = frozenset({"booked", "checked_in", "in_progress"})


def chart_action(user: Any, appointment: Any) -> AppointmentAction | None:
    """ "Open the chart" for a treatment session a clinician can chart; `procedures:open` goes to the
    record when one exists already, so no query is needed here."""
    if appointment.kind != "treatment" or appointment.status not in CHARTABLE or not user.can("procedure.chart"):
        return None
    return AppointmentAction(label="Open the chart", url=reverse("procedures:open", args=[appointment.pk]), primary=True)
