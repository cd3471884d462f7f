"""API: what removed mail services and addresses share — the list of those that can
still be restored (`…/removed/`) and the restore (`…/{id}/restore/`), for the people who
may delete them."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.roles import DELETE
from manager.core.serializers import Serializer


class RemovedSerializer(Serializer):
    """A removed mail service or address: no longer served; its mail is kept until
    `purge_after`, when it is deleted for good unless restored before."""

    id = serializers.IntegerField(read_only=True)
    removed_at = serializers.DateTimeField(read_only=True)
    purge_after = serializers.DateTimeField(read_only=True)
    purge_started = serializers.SerializerMethodField()

    def get_purge_started(self, obj) -> bool:
        return obj.purge_started_at is not None


class RemovedAddressSerializer(RemovedSerializer):
    mail_service = serializers.IntegerField(source="mail_service_id", read_only=True)
    local_part = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)


class RemovedMailServiceSerializer(RemovedSerializer):
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    domain = serializers.CharField(read_only=True)


class RestoreMixin:
    """For a viewset whose model has a `removed` manager: `removed_serializer_class`,
    and `restore_service(actor, obj)` returning the restored object."""

    removed_serializer_class = RemovedSerializer
    removal_actions = ("removed", "restore")

    def get_queryset(self):
        if self.action in self.removal_actions:
            model = self.queryset.model
            return (model.removed.restrict(self.request.user, DELETE)
                    .select_related(*self.removed_related).order_by("purge_after", "pk"))
        return super().get_queryset()

    def filter_queryset(self, queryset):
        if self.action in self.removal_actions:
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        if self.action == "removed":
            return self.removed_serializer_class
        return super().get_serializer_class()

    def restore_service(self, actor, obj):
        raise NotImplementedError

    @action(detail=False, methods=["get"])
    def removed(self, request):
        """Removed and not purged yet: each can be restored until `purge_after`."""
        queryset = self.get_queryset()
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page if page is not None else queryset, many=True)
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        """Serve it again, with its mail, as before the removal (409 `purge_started` once
        the purge has begun)."""
        restored = self.restore_service(request.user, self.get_object())
        return Response(self.serializer_class(restored, context=self.get_serializer_context()).data)
