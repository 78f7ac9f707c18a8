from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "truyvet.certificates"
    label = "certificates"
    verbose_name = "Chứng nhận"
