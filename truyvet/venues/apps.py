from django.apps import AppConfig


class VenuesConfig(AppConfig):
    name = "truyvet.venues"
    label = "venues"
    verbose_name = "Venues"
