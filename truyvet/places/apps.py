from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PlacesConfig(AppConfig):
    name = "truyvet.places"
    label = "places"
    verbose_name = "Administrative units"

    def ready(self) -> None:
        from truyvet.places.cache import units_cache_clear
        from truyvet.places.levels import commune_levels_cache_clear
        from truyvet.places.models import AdministrativeUnit, CommuneLevel

        # A unit saved or deleted through this process is never served stale here.
        for signal in (post_save, post_delete):
            signal.connect(units_cache_clear, sender=AdministrativeUnit,
                           dispatch_uid=f"places.units_cache.{signal is post_save}")
            signal.connect(commune_levels_cache_clear, sender=CommuneLevel,
                           dispatch_uid=f"places.levels_cache.{signal is post_save}")
