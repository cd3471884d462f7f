"""URL map: UI pages per app, the API under /api/v1/."""
from importlib.util import find_spec

from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from manager.audit.views import AuditLogView
from manager.core.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("manager.accounts.urls")),
    path("audit-log/", AuditLogView.as_view(), name="audit_log"),
    path("api/v1/", include(("manager.api_urls", "api"), namespace="api")),
]
for _module, _prefix in (("mailservice.urls", ""), ("dnszones.urls", "dns/"),
                         ("signatures.urls", "signatures/")):
    if find_spec(_module.split(".")[0]) and find_spec(_module):
        urlpatterns.append(path(_prefix, include(_module)))
