from django.apps import AppConfig


class AftercareConfig(AppConfig):
    name = "mesoclinic.aftercare"
    label = "aftercare"
    verbose_name = "Aftercare"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel

        from .panels import aftercare_panel

        register_patient_panel(
            PatientPanel(
                order=50, key="aftercare", title="Aftercare and check-ins", template="aftercare/panel.html", context=aftercare_panel
            )
        )
