from django.apps import AppConfig


class AftercareConfig(AppConfig):
    name = "mesoclinic.aftercare"
    label = "aftercare"
    verbose_name = "Aftercare"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel
        from mesoclinic.messaging.renderers import register_attachment_renderer
        from mesoclinic.procedures.hooks import register_sign_off_hook

        from .messages import HANDOUT_PDF
        from .panels import aftercare_panel
        from .pdf import handout_pdf_for
        from .services import on_sign_off

        # The e-mailed handout carries the PDF, made by the worker when it sends (not stored in the outbox).
        register_attachment_renderer(HANDOUT_PDF, handout_pdf_for)

        # Every signed session gets its handout, check-in and messages, inside the sign-off transaction.
        register_sign_off_hook("aftercare", on_sign_off)

        register_patient_panel(
            PatientPanel(
                order=50, key="aftercare", title="Aftercare and check-ins", template="aftercare/panel.html", context=aftercare_panel
            )
        )
