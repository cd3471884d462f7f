"""API: organisations, their members and invitations, and the caller's own tokens."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.core.api import ParentScopedMixin, RestrictedViewSet, ServiceModelViewSet
from manager.core.errors import ServiceError
from manager.core.permissions import may
from manager.core.querysets import user_role
from manager.core.serializers import ModelSerializer, Serializer

from . import auth_limits, services
from .models import ApiToken, Membership, Organisation, OrganisationInvitation
from .roles import MANAGE_MEMBERS, MANAGE_ORGANISATION, VIEW, Role

# How every invitation accept endpoint refuses (documented once, used by each).
INVITATION_ERRORS = {
    403: OpenApiResponse(description="`invitation_for_another_account`: the invitation is for "
                                     "another e-mail than the caller's."),
    404: OpenApiResponse(description="`not_found`: no invitation has this token."),
    410: OpenApiResponse(description="`invitation_accepted`, `invitation_revoked` or "
                                     "`invitation_expired`: the link can no longer be used."),
}


class InvitationSentSerializer(Serializer):
    """The neutral answer to adding a person by e-mail: the same whether or not the e-mail
    has an account."""

    status = serializers.CharField(help_text="Always `invited`.")
    email = serializers.EmailField(help_text="Where the invitation link was sent.")
    invitation = serializers.IntegerField(help_text="The invitation's id (to revoke or resend it).")


def invitation_sent(invitation) -> Response:
    body = {"status": "invited", "email": invitation.email, "invitation": invitation.pk}
    return Response(body, status=status.HTTP_202_ACCEPTED)


class UserBriefSerializer(Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class OrganisationSerializer(ModelSerializer):
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


class MembershipSerializer(ModelSerializer):
    user = UserBriefSerializer(read_only=True)
    active = serializers.BooleanField(source="user.is_active", read_only=True,
                                      help_text="False once the person is disabled (`…/disable/`).")

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "active", "created"]
        read_only_fields = ["id", "user", "active", "created"]


class MemberInviteSerializer(Serializer):
    email = serializers.EmailField(help_text="The person's e-mail; the invitation link is sent there.")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER,
                                   help_text="The role they get on accepting.")


class MembershipUpdateSerializer(ModelSerializer):
    class Meta:
        model = Membership
        fields = ["id", "role"]


class OrganisationScopedMixin(ParentScopedMixin):
    """For resources under `organisations/{id}/`: the organisation goes through the gate
    first (another organisation's is a 404)."""

    parent_kwarg = "organisation_pk"

    def parent(self):
        return self.organisation()

    def organisation(self):
        if not hasattr(self, "_organisation"):
            self._organisation = get_object_or_404(
                Organisation.objects.restrict(self.request.user, "view"),
                pk=self.kwargs["organisation_pk"])
        return self._organisation


class MemberViewSet(OrganisationScopedMixin, ServiceModelViewSet):
    """Members of one organisation: admins invite people by e-mail (POST: 202, the same
    answer whether or not the e-mail has an account; the person joins by accepting the
    e-mailed link), change roles (the person's sessions end), remove. POST
    `…/{id}/disable/` disables a person who belongs to this organisation only: their web
    sessions, API tokens and device passwords end at once; `…/{id}/enable/` lets them log
    in again (what was revoked stays revoked)."""

    queryset = Membership.objects.all()
    serializer_class = MembershipSerializer
    action_map_to_permission = {"create": MANAGE_MEMBERS, "update": MANAGE_MEMBERS,
                                "partial_update": MANAGE_MEMBERS, "destroy": MANAGE_MEMBERS,
                                "disable": MANAGE_MEMBERS, "enable": MANAGE_MEMBERS}
    filterset_fields = ["role"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return MembershipUpdateSerializer
        if self.action == "create":
            return MemberInviteSerializer
        return MembershipSerializer

    def get_queryset(self):
        organisation = self.organisation()
        memberships = Membership.objects.filter(organisation=organisation)
        if not may(self.request.user, VIEW, organisation_id=organisation.pk):
            # A member sees only their own membership (to leave): never the others.
            memberships = memberships.filter(user=self.request.user)
        return memberships.select_related("user").order_by("user__email")

    @extend_schema(request=MemberInviteSerializer, responses={202: InvitationSentSerializer})
    def create(self, request, *args, **kwargs):
        """Invite a person by e-mail (never adds an account directly)."""
        organisation = self.organisation()
        self.require(MANAGE_MEMBERS, organisation)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.organisation_invitation_create(
            actor=request.user, organisation=organisation, **serializer.validated_data)
        return invitation_sent(invitation)

    def perform_update(self, serializer):
        serializer.instance = services.member_change_role(
            actor=self.request.user, membership=serializer.instance,
            role=serializer.validated_data.get("role", serializer.instance.role))

    def perform_destroy(self, instance):
        services.member_remove(actor=self.request.user, membership=instance)

    @extend_schema(request=None, responses=MembershipSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, *args, **kwargs):
        membership = self.get_object()
        services.user_disable(actor=request.user, user=membership.user, organisation=self.organisation())
        return Response(MembershipSerializer(membership).data)

    @extend_schema(request=None, responses=MembershipSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, *args, **kwargs):
        membership = self.get_object()
        services.user_enable(actor=request.user, user=membership.user, organisation=self.organisation())
        return Response(MembershipSerializer(membership).data)

    def check_object_permissions(self, request, obj):
        # Leaving an organisation is always allowed; the service guards the last owner.
        if self.action == "destroy" and obj.user_id == request.user.pk:
            return
        super().check_object_permissions(request, obj)


class OrganisationInvitationSerializer(ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = OrganisationInvitation
        fields = ["id", "email", "role", "status", "created", "expires", "accepted", "revoked",
                  "last_sent"]
        read_only_fields = fields


class OrganisationInvitationViewSet(OrganisationScopedMixin, mixins.ListModelMixin,
                                    mixins.RetrieveModelMixin, RestrictedViewSet):
    """Invitations to join one organisation (admins). Create them with `POST
    organisations/{id}/members/`; DELETE revokes; POST `…/{id}/resend/` e-mails a fresh link
    (the previous one stops working)."""

    queryset = OrganisationInvitation.objects.all()
    serializer_class = OrganisationInvitationSerializer
    queryset_action = MANAGE_MEMBERS

    def get_queryset(self):
        return super().get_queryset().filter(organisation=self.organisation()).order_by("-created", "-id")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.require(MANAGE_MEMBERS, self.organisation())

    def destroy(self, request, *args, **kwargs):
        services.organisation_invitation_revoke(actor=request.user, invitation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=OrganisationInvitationSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        invitation = services.organisation_invitation_resend(actor=request.user,
                                                             invitation=self.get_object())
        return Response(OrganisationInvitationSerializer(invitation).data)


class InvitationAcceptViewSet(viewsets.GenericViewSet):
    """Base of the `POST …/{token}/accept/` endpoints: the caller accepts the invitation
    through `accept_invitation` if it is for the caller's e-mail (refusals:
    `INVITATION_ERRORS`); the answer is what they got, as `serializer_class`."""

    lookup_field = "token"
    lookup_value_regex = r"[A-Za-z0-9_\-]+"

    def accept_invitation(self, *, raw_token, user):
        raise NotImplementedError

    @action(detail=True, methods=["post"])
    def accept(self, request, token=None):
        ip = auth_limits.client_ip(request)
        if auth_limits.refused("invitation", ip=ip):
            raise exceptions.Throttled(detail=auth_limits.wait_message())
        try:
            accepted = self.accept_invitation(raw_token=token, user=request.user)
        except ServiceError as exc:
            if exc.status == 404:  # an unknown link: guessing them is limited per IP
                auth_limits.count("invitation", ip=ip)
            raise
        return Response(self.get_serializer(accepted).data, status=status.HTTP_201_CREATED)


@extend_schema_view(accept=extend_schema(request=None,
                                         responses={201: MembershipSerializer, **INVITATION_ERRORS}))
class OrganisationInvitationAcceptViewSet(InvitationAcceptViewSet):
    """`POST organisation-invitations/{token}/accept/`: the caller joins the organisation
    with the invited role, if the invitation is for the caller's e-mail."""

    serializer_class = MembershipSerializer
    queryset = OrganisationInvitation.objects.none()

    def accept_invitation(self, *, raw_token, user):
        return services.organisation_invitation_accept(raw_token=raw_token, user=user)


class ApiTokenSerializer(ModelSerializer):
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
    router.register(r"organisations/(?P<organisation_pk>\d+)/invitations",
                    OrganisationInvitationViewSet, basename="organisation-invitation")
    router.register("organisation-invitations", OrganisationInvitationAcceptViewSet,
                    basename="organisation-invitation-accept")
    router.register("tokens", ApiTokenViewSet, basename="token")
