from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "truyvet.tracing"
    label = "tracing"
    verbose_name = "Truy vết"
