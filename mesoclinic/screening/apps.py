from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "mesoclinic.screening"
    label = "screening"
    verbose_name = "Screening"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel

        from .panels import screening_panel

        register_patient_panel(
            PatientPanel(order=20, key="screening", title="Screening", template="screening/panel.html", context=screening_panel)
        )
