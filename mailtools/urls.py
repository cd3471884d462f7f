"""Mail tools pages under /tools/ (the views module holds them)."""
from .views import app_name, url_prefix, urlpatterns

__all__ = ["app_name", "url_prefix", "urlpatterns"]
