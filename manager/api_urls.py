"""The REST API v1 router: each installed app of the project mounts its resources (SPEC
§9) through its `api.register(router)`, platform core first (INSTALLED_APPS order)."""
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from manager.core.discovery import app_modules
from manager.core.views import error_page


def build_router() -> DefaultRouter:
    router = DefaultRouter()
    # A path without its final slash is the same route: no redirect that drops a POST
    # body, no APPEND_SLASH error (DRF's regex routes take the pattern as it is).
    router.trailing_slash = "/?"
    for api in app_modules("api", needs="register"):
        api.register(router)
    return router


router = build_router()

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    # Any other path under the API is a 404 in the error shape, in DEBUG too (Django's
    # debug 404 page would answer HTML otherwise).
    re_path(r"", lambda request, *args, **kwargs: error_page(request, 404)),
]
