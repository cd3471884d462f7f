"""API: the bans affecting an organisation's addresses and members, and lifting one."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.api import OrganisationScopedMixin
from manager.accounts.roles import CHANGE
from manager.core.permissions import may

from . import services
from .models import Ban


class BanSerializer(serializers.ModelSerializer):
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


def register(router):
    router.register(r"organisations/(?P<organisation_pk>\d+)/bans", BanViewSet, basename="ban")
