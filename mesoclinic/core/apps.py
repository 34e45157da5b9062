from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mesoclinic.core"
    label = "core"
    verbose_name = "Organisation and audit"
