"""API: organisations, their members, and the caller's own tokens."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from manager.core.api import RestrictedViewSet, ServiceModelViewSet
from manager.core.permissions import may
from manager.core.querysets import user_role

from . import services
from .models import ApiToken, Membership, Organisation
from .roles import MANAGE_MEMBERS, MANAGE_ORGANISATION, VIEW, Role


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class OrganisationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="The caller's role in this organisation.")

    class Meta:
        model = Organisation
        fields = ["id", "name", "created", "role"]
        read_only_fields = ["id", "created", "role"]

    def get_role(self, obj) -> str | None:
        return user_role(self.context["request"].user, obj.pk)


class OrganisationViewSet(ServiceModelViewSet):
    """Organisations the caller belongs to. POST creates one owned by the caller."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    action_map_to_permission = {"update": MANAGE_ORGANISATION, "partial_update": MANAGE_ORGANISATION,
                                "destroy": MANAGE_ORGANISATION}
    filterset_fields = {"name": ["exact", "icontains"]}

    def perform_create(self, serializer):
        serializer.instance = services.organisation_create(
            actor=self.request.user, name=serializer.validated_data["name"])

    def perform_update(self, serializer):
        serializer.instance = services.organisation_update(
            actor=self.request.user, organisation=serializer.instance,
            name=serializer.validated_data.get("name", serializer.instance.name))

    def perform_destroy(self, instance):
        services.organisation_delete(actor=self.request.user, organisation=instance)


class MembershipSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)
    email = serializers.EmailField(write_only=True, help_text="E-mail of an existing account.")

    class Meta:
        model = Membership
        fields = ["id", "user", "email", "role", "created"]
        read_only_fields = ["id", "user", "created"]


class MembershipUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Membership
        fields = ["id", "role"]


class MemberViewSet(ServiceModelViewSet):
    """Members of one organisation: admins add existing accounts, change roles, remove."""

    queryset = Membership.objects.all()
    serializer_class = MembershipSerializer
    action_map_to_permission = {"create": MANAGE_MEMBERS, "update": MANAGE_MEMBERS,
                                "partial_update": MANAGE_MEMBERS, "destroy": MANAGE_MEMBERS}
    filterset_fields = ["role"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return MembershipUpdateSerializer
        return MembershipSerializer

    def organisation(self):
        if not hasattr(self, "_organisation"):
            self._organisation = get_object_or_404(
                Organisation.objects.restrict(self.request.user, "view"),
                pk=self.kwargs["organisation_pk"])
        return self._organisation

    def get_queryset(self):
        organisation = self.organisation()
        memberships = Membership.objects.filter(organisation=organisation)
        if not may(self.request.user, VIEW, organisation_id=organisation.pk):
            # A member sees only their own membership (to leave): never the others.
            memberships = memberships.filter(user=self.request.user)
        return memberships.select_related("user").order_by("user__email")

    def create(self, request, *args, **kwargs):
        organisation = self.organisation()
        self.require(MANAGE_MEMBERS, organisation)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_add(
            actor=request.user, organisation=organisation,
            email=serializer.validated_data["email"],
            role=serializer.validated_data.get("role", Role.MEMBER))
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.member_change_role(
            actor=self.request.user, membership=serializer.instance,
            role=serializer.validated_data.get("role", serializer.instance.role))

    def perform_destroy(self, instance):
        services.member_remove(actor=self.request.user, membership=instance)

    def check_object_permissions(self, request, obj):
        # Leaving an organisation is always allowed; the service guards the last owner.
        if self.action == "destroy" and obj.user_id == request.user.pk:
            return
        super().check_object_permissions(request, obj)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "created", "last_used", "revoked"]
        read_only_fields = ["id", "hint", "created", "last_used", "revoked"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The caller's own API tokens. DELETE revokes."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(responses={201: ApiTokenCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.api_token_create(actor=request.user,
                                               name=serializer.validated_data["name"])
        data = ApiTokenSerializer(token).data | {"token": raw}
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.api_token_revoke(actor=self.request.user, token=instance)


__all__ = ["OrganisationViewSet", "MemberViewSet", "ApiTokenViewSet", "RestrictedViewSet"]


def register(router):
    router.register("organisations", OrganisationViewSet, basename="organisation")
    router.register(r"organisations/(?P<organisation_pk>\d+)/members", MemberViewSet,
                    basename="member")
    router.register("tokens", ApiTokenViewSet, basename="token")
