from django.apps import AppConfig


class DnszonesConfig(AppConfig):
    # Not "dns": a top-level dns package would hide dnspython's.
    name = "dnszones"
    verbose_name = "DNS"

    def ready(self):
        from . import push

        push.register()
