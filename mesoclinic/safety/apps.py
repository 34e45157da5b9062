from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "mesoclinic.safety"
    label = "safety"
    verbose_name = "Safety: adverse events and recalls"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel

        from .panels import safety_panel

        register_patient_panel(
            PatientPanel(order=55, key="safety", title="Adverse events", template="safety/panel.html", context=safety_panel)
        )
