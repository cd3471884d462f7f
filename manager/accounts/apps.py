from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "manager.accounts"
    label = "accounts"
    verbose_name = "Accounts"
