from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "truyvet.places"
    label = "places"
    verbose_name = "Administrative units"
