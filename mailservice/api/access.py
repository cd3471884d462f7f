"""API: users of an address, invitations, device passwords."""
from datetime import timedelta

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.api import (
    INVITATION_ERRORS,
    InvitationAcceptViewSet,
    InvitationSentSerializer,
    invitation_sent,
)
from manager.accounts.models import User
from manager.core.serializers import ModelSerializer, Serializer

from .. import services
from ..models import AddressAccess, DevicePassword, Invitation, Permission
from ..permissions import manages
from ..services import people
from .addresses import AddressChildViewSet

GRANT_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH,
    description="The grant's `id`, as in the list and the create response (not the user's id).")


class AddressUserBriefSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]


class AccessSerializer(ModelSerializer):
    user = AddressUserBriefSerializer(read_only=True)
    user_id = serializers.IntegerField(write_only=True, required=False,
                                       help_text="An existing member of the organisation: added "
                                                 "directly (201).")
    email = serializers.EmailField(write_only=True, required=False,
                                   help_text="Or the person's e-mail: an invitation is e-mailed to "
                                             "them (202), whether or not they have an account.")
    permissions = serializers.ListField(child=serializers.ChoiceField(choices=Permission.choices))

    class Meta:
        model = AddressAccess
        fields = ["id", "user", "user_id", "email", "permissions", "created"]
        read_only_fields = ["id", "created"]


@extend_schema_view(
    retrieve=extend_schema(parameters=[GRANT_ID]),
    update=extend_schema(parameters=[GRANT_ID]),
    partial_update=extend_schema(parameters=[GRANT_ID]),
    destroy=extend_schema(parameters=[GRANT_ID]),
)
class AccessViewSet(mixins.UpdateModelMixin, AddressChildViewSet):
    """Users of the address (grants with permissions), for administrators of its
    organisation: anyone else gets 403. The `{id}` of an item is the grant's `id` shown in
    the list and in the create response. POST with `user_id` adds an existing member of the
    organisation (201); with `email` it e-mails an invitation to that address instead (202,
    the same answer whether or not the e-mail has an account). DELETE removes all access;
    POST `…/{id}/disconnect/` revokes all their device passwords and keeps web access."""

    queryset = AddressAccess.objects.all()
    serializer_class = AccessSerializer
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().select_related("user", "address__mail_service").order_by("user__email")

    def list(self, request, *args, **kwargs):
        people.check_users_visible(request.user, self.address())
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        people.check_users_visible(request.user, self.address())
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(responses={201: AccessSerializer, 202: InvitationSentSerializer})
    def create(self, request, *args, **kwargs):
        address = self.address()
        if not manages(request.user, address):  # before any lookup: nothing to learn here
            raise exceptions.PermissionDenied("Only administrators add users to an address.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "user_id" in data:
            user = User.objects.filter(
                memberships__organisation_id=address.mail_service.organisation_id,
                pk=data["user_id"]).first()
            if user is None:
                raise serializers.ValidationError(
                    {"user_id": ["No member of the organisation matches; give the person's "
                                 "e-mail to invite them instead."]}, code="not_a_member")
            access = services.access_grant(actor=request.user, address=address, user=user,
                                           permissions=data["permissions"])
            return self.created(AccessSerializer, access)
        if "email" in data:
            invitation, _raw = services.invitation_create(
                actor=request.user, address=address, permissions=data["permissions"],
                email=data["email"], send=True)
            return invitation_sent(invitation)
        raise serializers.ValidationError({"user_id": ["Give user_id or email."]})

    def perform_update(self, serializer):
        serializer.instance = services.access_update(
            actor=self.request.user, access=serializer.instance,
            permissions=serializer.validated_data.get("permissions", serializer.instance.permissions))

    def perform_destroy(self, instance):
        services.access_remove(actor=self.request.user, access=instance)

    @extend_schema(request=None, parameters=[GRANT_ID], responses=inline_serializer(
        "DisconnectResult", {"revoked": serializers.IntegerField()}))
    @action(detail=True, methods=["post"])
    def disconnect(self, request, *args, **kwargs):
        """Disconnect all devices: revoke every device password of this user here."""
        count = services.access_disconnect_devices(actor=request.user, access=self.get_object())
        return Response({"revoked": count})


class InvitationSerializer(ModelSerializer):
    # Required: the service answers a missing one with code `invalid` on `email`.
    email = serializers.EmailField(required=False, allow_blank=True,
                                   help_text="Required. The invited person's e-mail: only the "
                                             "account with it (or created with it from the link) "
                                             "can accept.")
    send = serializers.BooleanField(write_only=True, default=False,
                                    help_text="E-mail the link to `email`.")
    permissions = serializers.ListField(child=serializers.ChoiceField(choices=Permission.choices))
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "permissions", "send", "status", "created", "expires", "accepted",
                  "revoked", "last_sent"]
        read_only_fields = ["id", "created", "expires", "accepted", "revoked", "last_sent"]


class InvitationCreatedSerializer(InvitationSerializer):
    url = serializers.CharField(read_only=True, help_text="The link to give the person; shown once.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "url"]


class InvitationViewSet(AddressChildViewSet):
    """Invitation links to the address, each bound to the invited e-mail (valid
    `INVITATION_VALID_DAYS` days, single use). DELETE revokes; POST `…/{id}/resend/`
    e-mails a fresh link (the previous one stops working)."""

    queryset = Invitation.objects.all()
    serializer_class = InvitationSerializer

    def list(self, request, *args, **kwargs):
        if not manages(request.user, self.address()):
            raise exceptions.PermissionDenied("Only administrators see invitations.")
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={201: InvitationCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invitation, raw = services.invitation_create(
            actor=request.user, address=self.address(), permissions=data["permissions"],
            email=data.get("email", ""), send=data.get("send", False))
        body = InvitationSerializer(invitation).data | {"url": services.invitation_url(raw)}
        return Response(body, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.invitation_revoke(actor=request.user, invitation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=InvitationCreatedSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        invitation, raw = services.invitation_resend(actor=request.user, invitation=self.get_object())
        return Response(InvitationSerializer(invitation).data | {"url": services.invitation_url(raw)})


@extend_schema_view(accept=extend_schema(request=None,
                                         responses={201: AccessSerializer, **INVITATION_ERRORS}))
class AddressInvitationAcceptViewSet(InvitationAcceptViewSet):
    """`POST invitations/{token}/accept/`: the caller accepts an invitation to an address,
    if it is for the caller's e-mail; they become a user of the address and a member of its
    organisation."""

    serializer_class = AccessSerializer
    queryset = Invitation.objects.none()

    def accept_invitation(self, *, raw_token, user):
        return services.invitation_accept(raw_token=raw_token, user=user)


class RevokedCountSerializer(Serializer):
    revoked = serializers.IntegerField()


class DevicePasswordSerializer(ModelSerializer):
    user = AddressUserBriefSerializer(source="access.user", read_only=True)
    user_id = serializers.IntegerField(write_only=True, required=False,
                                       help_text="Administrators may create one for another user.")

    unused = serializers.SerializerMethodField(
        help_text="Active and not used for DEVICE_UNUSED_DAYS days (never used: created that long ago).")

    class Meta:
        model = DevicePassword
        fields = ["id", "name", "device_type", "user", "user_id", "can_send", "created",
                  "last_used", "last_used_ip", "last_used_protocol", "unused", "revoked"]
        read_only_fields = ["id", "can_send", "created", "last_used", "last_used_ip",
                            "last_used_protocol", "revoked"]

    def get_unused(self, device) -> bool:
        if device.revoked is not None:
            return False
        since = timezone.now() - timedelta(days=settings.DEVICE_UNUSED_DAYS)
        return (device.last_used or device.created) < since


class DevicePasswordCreatedSerializer(DevicePasswordSerializer):
    password = serializers.CharField(read_only=True, help_text="Shown once; never stored.")

    class Meta(DevicePasswordSerializer.Meta):
        fields = [*DevicePasswordSerializer.Meta.fields, "password"]


class DevicePasswordViewSet(AddressChildViewSet):
    """Device passwords of the address. Administrators see all; a user of the address needs
    the "read" or "send" permission (else 403) and sees their own. POST returns the password
    once; DELETE revokes that device only."""

    queryset = DevicePassword.objects.all()
    serializer_class = DevicePasswordSerializer
    filterset_fields = ["revoked"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        people.check_device_passwords_visible(request.user, self.address())

    def get_queryset(self):
        queryset = super().get_queryset().select_related("access__user")
        if not manages(self.request.user, self.address()):
            queryset = queryset.filter(access__user=self.request.user)
        return queryset

    @extend_schema(
        description="Creates a device password for the caller, or (administrators) for the "
                    "user `user_id` of the address. The caller, or that user, must already be a "
                    "user of the address: otherwise 403 with code `not_a_user` (add them first "
                    "with `POST addresses/{id}/users/`). The password is in this response only.",
        responses={201: DevicePasswordCreatedSerializer,
                   403: OpenApiResponse(description="`not_a_user`: not a user of the address; "
                                                    "`permission_denied`: no \"read\" or \"send\" "
                                                    "permission.")})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = None
        if data.get("user_id"):
            user = get_object_or_404(User, pk=data["user_id"], address_accesses__address=self.address())
        device, raw = services.device_password_create(
            actor=request.user, address=self.address(), name=data["name"],
            device_type=data.get("device_type", "other"), user=user)
        body = DevicePasswordSerializer(device).data | {"password": raw}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.device_password_revoke(actor=self.request.user, device=instance)

    @extend_schema(request=None, responses={200: RevokedCountSerializer})
    @action(detail=False, methods=["post"], url_path="revoke-unused")
    def revoke_unused(self, request, *args, **kwargs):
        """Revoke every device password flagged `unused` that the caller may revoke
        (administrators: all of the address's; a user: their own)."""
        count = services.device_passwords_revoke_unused(actor=request.user, address=self.address())
        return Response({"revoked": count})


def register(router):
    router.register(r"addresses/(?P<address_pk>\d+)/users", AccessViewSet, basename="address-user")
    router.register(r"addresses/(?P<address_pk>\d+)/invitations", InvitationViewSet,
                    basename="invitation")
    router.register(r"addresses/(?P<address_pk>\d+)/device-passwords", DevicePasswordViewSet,
                    basename="device-password")
    router.register("invitations", AddressInvitationAcceptViewSet, basename="invitation-accept")
