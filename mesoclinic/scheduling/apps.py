from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest


def appointments_panel(request: HttpRequest, patient: Any) -> dict[str, Any] | None:
    """The patient page's Appointments section: two queries, whatever the patient's history."""
    from mesoclinic.catalog.selectors import protocol_names

    from . import selectors

    user = request.user
    if not user.can("schedule.view"):  # type: ignore[union-attr]
        return None
    appointments = list(selectors.appointments_for_patient(scope=user.location_ids, patient_id=patient.pk))  # type: ignore[union-attr]
    names = protocol_names({a.protocol_key for a in appointments})  # one more query, whatever the number
    for appointment in appointments:
        appointment.protocol_name = names.get(appointment.protocol_key, appointment.protocol_key)  # type: ignore[attr-defined]
    return {
        "appointments": appointments,
        "can_book": user.can("appointment.book"),  # type: ignore[union-attr]
    }


class SchedulingConfig(AppConfig):
    name = "mesoclinic.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel

        register_patient_panel(
            PatientPanel(
                order=30, key="appointments", title="Appointments", template="scheduling/patient_panel.html", context=appointments_panel
            )
        )
