from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "truyvet.checkins"
    label = "checkins"
    verbose_name = "Check-ins"
