from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "truyvet.certificates"
    label = "certificates"
    verbose_name = "Chứng nhận"

    def ready(self) -> None:
        from truyvet.certificates.issuing.services import certificates_follow_corrected_dose
        from truyvet.vaccination.hooks import dose_corrected

        dose_corrected.register(certificates_follow_corrected_dose)
        # --- Test results, recoveries and the card colour (issue 16) ---------------------
        # Imported here: the receivers import models, loaded only once every
        # app's config is. Checkins asks for the colour on the personal QR
        # page and at the door; tracing reports a case closed (as recovered).
        from truyvet.accounts import hooks as account_hooks
        from truyvet.certificates.status_services import (
            card_status,
            recovery_from_case,
            status_follow_merged_person,
        )
        from truyvet.checkins import hooks as checkin_hooks
        from truyvet.tracing import hooks as tracing_hooks

        checkin_hooks.card_status.register(card_status)
        # A rule saved or deleted through this process applies here at once.
        from django.db.models.signals import post_delete, post_save

        from truyvet.certificates.models import ColourRule
        from truyvet.certificates.status_selectors import colour_rules_cache_clear

        for signal in (post_save, post_delete):
            signal.connect(colour_rules_cache_clear, sender=ColourRule,
                           dispatch_uid=f"certificates.rules_cache.{signal is post_save}")
        tracing_hooks.case_closed.register(recovery_from_case)
        # A claimed record's tests and recoveries follow it, as its visits do.
        account_hooks.person_merged.register(status_follow_merged_person)
