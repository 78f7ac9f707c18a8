from django.apps import AppConfig


class VenuesConfig(AppConfig):
    name = "truyvet.venues"
    label = "venues"
    verbose_name = "Venues"

    def ready(self) -> None:
        # Imported here, not at the top: services import models, which are
        # loaded only once every app's config is (Django calls ready() then).
        from django.db.models.signals import post_save

        from truyvet.accounts import hooks as account_hooks
        from truyvet.venues.models import Venue
        from truyvet.venues.qr import venue_qr_forget_saved
        from truyvet.venues.services import venue_staff_claim

        # A venue saved through this instance is read again by its next scan here.
        post_save.connect(venue_qr_forget_saved, sender=Venue,
                          dispatch_uid="venues.qr.forget_saved")

        # Staff added by phone before the number had an account take up
        # their places as soon as it has one.
        account_hooks.account_created.register(venue_staff_claim)
