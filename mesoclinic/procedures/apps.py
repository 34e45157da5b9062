from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "mesoclinic.procedures"
    label = "procedures"
    verbose_name = "Session records"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel
        from mesoclinic.scheduling.hooks import register_appointment_action

        from .actions import chart_action
        from .panels import sessions_panel

        register_appointment_action(chart_action)

        register_patient_panel(
            PatientPanel(order=40, key="sessions", title="Sessions", template="procedures/panel.html", context=sessions_panel)
        )
