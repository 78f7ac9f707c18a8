from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "truyvet.core"
    label = "core"
    verbose_name = "Core"
