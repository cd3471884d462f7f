"""API: the audit log, read-only, for roles allowed to view it."""
import django_filters
from rest_framework import mixins, serializers

from manager.accounts.roles import VIEW_AUDIT
from manager.core.api import RestrictedViewSet

from .models import AuditEntry


class AuditEntryFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="lt")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains")
    q = django_filters.CharFilter(field_name="object_repr", lookup_expr="icontains")

    class Meta:
        model = AuditEntry
        fields = ["organisation", "action", "object_type", "object_id", "request_id", "verb"]


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "time", "organisation", "actor", "actor_label", "request_id", "action",
                  "verb", "object_type", "object_id", "object_repr", "changes"]


class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    queryset = AuditEntry.objects.all()
    queryset_action = VIEW_AUDIT
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
