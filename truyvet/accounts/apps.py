from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "truyvet.accounts"
    label = "accounts"
    verbose_name = "People and accounts"
