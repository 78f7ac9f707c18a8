from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "truyvet.certificates"
    label = "certificates"
    verbose_name = "Chứng nhận"

    def ready(self) -> None:
        from truyvet.certificates.issuing.services import certificates_follow_corrected_dose
        from truyvet.vaccination.hooks import dose_corrected

        dose_corrected.register(certificates_follow_corrected_dose)
