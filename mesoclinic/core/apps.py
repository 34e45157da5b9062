from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mesoclinic.core"
    label = "core"
    verbose_name = "Organisation and audit"

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the deploy check of the database role)
