"""The REST API v1 router: each installed app of the project mounts its resources (SPEC
§9) through its `api.register(router)`, platform core first (INSTALLED_APPS order)."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from manager.core.discovery import app_modules


def build_router() -> DefaultRouter:
    router = DefaultRouter()
    for api in app_modules("api", needs="register"):
        api.register(router)
    return router


router = build_router()

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
