"""URL map: the platform's pages, each installed app's pages (its `urls` module, under its
`url_prefix`), and the API under /api/v1/."""
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from manager.audit.views import AuditLogView
from manager.core.discovery import app_modules
from manager.core.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("audit-log/", AuditLogView.as_view(), name="audit_log"),
    path("api/v1/", include(("manager.api_urls", "api"), namespace="api")),
]


def app_urlpatterns():
    return [path(getattr(app_urls, "url_prefix", ""), include(app_urls))
            for app_urls in app_modules("urls", needs="urlpatterns")]


urlpatterns += app_urlpatterns()

# The product's own error pages (JSON error shape under /api/): manager/core/views.py.
handler400 = "manager.core.views.bad_request"
handler403 = "manager.core.views.permission_denied"
handler404 = "manager.core.views.page_not_found"
handler500 = "manager.core.views.server_error"
