from django.apps import AppConfig


class MailserviceConfig(AppConfig):
    name = "mailservice"
    verbose_name = "Mail services"

    def ready(self):
        from . import push

        push.register()
