from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "mesoclinic.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel

        from . import workers
        from .panels import not_sent_panel

        register_patient_panel(
            PatientPanel(
                order=60,
                key="messages-not-sent",
                title="Messages not sent",
                template="messaging/patient_panel.html",
                context=not_sent_panel,
            )
        )
        workers.connect()  # task workers beat, so a killed one's task rows can be found (workers.py)
