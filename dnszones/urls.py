"""Domains & DNS pages under /dns/."""
from .views import urlpatterns  # noqa: F401

url_prefix = "dns/"  # where manager/urls.py mounts these pages
app_name = "dnszones"
