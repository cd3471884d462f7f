"""API: the bans affecting an organisation's addresses and members, and lifting one."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.api import OrganisationScopedMixin
from manager.accounts.roles import CHANGE
from manager.core.permissions import may
from manager.core.serializers import ModelSerializer, Serializer

from . import services
from .models import AllowedNetwork, Ban


class BanSerializer(ModelSerializer):
    class Meta:
        model = Ban
        fields = ["id", "network", "account", "reason", "protocol", "created", "expires"]
        read_only_fields = fields


class BanViewSet(OrganisationScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Active bans of the organisation's addresses and members' logins from a network
    (web, API, IMAP, ManageSieve, SMTP AUTH), and whole networks banned for spraying
    them. Owners and administrators list and lift them (403 for other roles)."""

    serializer_class = BanSerializer
    queryset = Ban.objects.none()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "organisation_pk" in self.kwargs and not may(request.user, CHANGE,
                                                        organisation_id=self.organisation().pk):
            self.permission_denied(request, message="Your role does not allow this action.")

    def get_queryset(self):
        return services.bans_affecting(self.organisation())

    @extend_schema(request=None, responses={200: BanSerializer})
    @action(detail=True, methods=["post"])
    def lift(self, request, *args, **kwargs):
        """Lift the ban now (audited); the failures that led to it are forgotten."""
        ban = get_object_or_404(Ban, pk=kwargs["pk"], lifted_at__isnull=True)
        ban = services.ban_lift(actor=request.user, organisation=self.organisation(), ban=ban)
        return Response(BanSerializer(ban).data)


class AllowedNetworkSerializer(ModelSerializer):
    accepted_by = serializers.EmailField(source="accepted_by.email", read_only=True, allow_null=True)
    accepted_warning_version = serializers.IntegerField(
        write_only=True, help_text="The version of the warning the caller read and accepts "
                                   "(GET allowed-networks/warning/); any other is a 400 "
                                   "`consent_required` whose message is the warning.")

    class Meta:
        model = AllowedNetwork
        fields = ["id", "network", "label", "warning_version", "warning_text", "accepted_by",
                  "accepted_at", "accepted_warning_version"]
        read_only_fields = ["id", "warning_version", "warning_text", "accepted_by", "accepted_at"]


class WarningSerializer(Serializer):
    version = serializers.IntegerField()
    text = serializers.CharField()


class AllowedNetworkViewSet(OrganisationScopedMixin, mixins.ListModelMixin,
                            mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                            mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Networks never banned for the organisation's addresses and members. Adding one needs
    the owner's or an administrator's explicit acceptance of the warning; who accepted
    which text, and when, is kept with the entry and in the audit log."""

    serializer_class = AllowedNetworkSerializer
    queryset = AllowedNetwork.objects.none()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "organisation_pk" in self.kwargs and not may(request.user, CHANGE,
                                                        organisation_id=self.organisation().pk):
            self.permission_denied(request, message="Your role does not allow this action.")

    def get_queryset(self):
        return AllowedNetwork.objects.filter(organisation=self.organisation()).select_related("accepted_by")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.allowed_network_add(
            actor=self.request.user, organisation=self.organisation(), network=data["network"],
            label=data.get("label", ""), accepted_warning_version=data["accepted_warning_version"])

    def perform_destroy(self, instance):
        services.allowed_network_remove(actor=self.request.user, allowed=instance)

    @extend_schema(responses={200: WarningSerializer})
    @action(detail=False, methods=["get"])
    def warning(self, request, *args, **kwargs):
        """The warning to show and have accepted before adding a network."""
        return Response({"version": services.ALLOW_WARNING_VERSION, "text": services.allow_warning()})


def register(router):
    router.register(r"organisations/(?P<organisation_pk>\d+)/bans", BanViewSet, basename="ban")
    router.register(r"organisations/(?P<organisation_pk>\d+)/allowed-networks", AllowedNetworkViewSet,
                    basename="allowed-network")
