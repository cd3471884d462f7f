"""The REST API v1 router: each installed app of the project mounts its resources (SPEC
§9) through its `api.register(router)`, platform core first (INSTALLED_APPS order)."""
from django.urls import Resolver404, include, path, re_path, resolve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from manager.core.discovery import app_modules
from manager.core.views import error_page


def build_router() -> DefaultRouter:
    router = DefaultRouter()
    for api in app_modules("api", needs="register"):
        api.register(router)
    return router


router = build_router()


def not_routed(request, *args, **kwargs):
    """A path the router has no route for. Without its final slash, it is the route with
    the slash, served as is (Django's APPEND_SLASH would answer a redirect that drops a
    POST body, or an error in DEBUG); anything else is a 404 in the error shape, in DEBUG
    too (Django's debug page would answer HTML)."""
    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_routed:
            return match.func(request, *match.args, **match.kwargs)
    return error_page(request, 404)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script from a URL instead of inline, and our
    # template puts the response's nonce on its <style>: the docs page keeps the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema",
                                                     template_name="api/swagger_ui.html"),
         name="docs"),
    path("", include(router.urls)),
    re_path(r"", not_routed),
]
