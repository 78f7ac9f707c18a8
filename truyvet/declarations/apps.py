from django.apps import AppConfig


class DeclarationsConfig(AppConfig):
    name = "truyvet.declarations"
    label = "declarations"
    verbose_name = "Khai báo y tế và chốt kiểm soát"
