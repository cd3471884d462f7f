"""API: the audit log, read-only, for roles allowed to view it."""
from rest_framework import exceptions, mixins

from manager.accounts.roles import VIEW_AUDIT
from manager.core.api import RestrictedViewSet
from manager.core.permissions import may
from manager.core.querysets import user_role
from manager.core.serializers import ModelSerializer

from .filters import AuditEntryFilter
from .models import AuditEntry


class AuditEntrySerializer(ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "time", "organisation", "actor", "actor_label", "request_id", "action",
                  "verb", "object_type", "object_id", "object_repr", "changes"]


class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """The change log of the caller's organisations (roles with the audit right).
    A member sees that entries exist (403) but not their content; another
    organisation's entry is a 404."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    action_map_to_permission = {"retrieve": VIEW_AUDIT}

    def get_queryset(self):
        if self.action == "list":
            wanted = self.request.query_params.get("organisation")
            if wanted and wanted.isdigit() and not may(self.request.user, VIEW_AUDIT,
                                                        organisation_id=int(wanted)):
                if user_role(self.request.user, int(wanted)) is not None:
                    raise exceptions.PermissionDenied("Your role does not allow viewing the audit log.")
            return AuditEntry.objects.restrict(self.request.user, VIEW_AUDIT)
        return super().get_queryset()


def register(router):
    router.register("audit-log", AuditEntryViewSet, basename="audit-entry")
