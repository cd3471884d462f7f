"""The REST API v1 router: every resource of SPEC §9 is mounted here."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from manager.accounts.api import ApiTokenViewSet, MemberViewSet, OrganisationViewSet
from manager.audit.api import AuditEntryViewSet

router = DefaultRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register(r"organisations/(?P<organisation_pk>\d+)/members", MemberViewSet, basename="member")
router.register("tokens", ApiTokenViewSet, basename="token")
router.register("audit-log", AuditEntryViewSet, basename="audit-entry")



def register_app_routes():
    from importlib import import_module

    for module in ("mailservice.api", "dnszones.api", "signatures.api"):
        try:
            api = import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        api.register(router)


register_app_routes()

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
