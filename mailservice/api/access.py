"""API: users of an address, invitations, device passwords."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.models import User

from .. import services
from ..models import AddressAccess, DevicePassword, Invitation, Permission
from ..permissions import manages
from .addresses import AddressChildViewSet


class AddressUserBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]


class AccessSerializer(serializers.ModelSerializer):
    user = AddressUserBriefSerializer(read_only=True)
    user_id = serializers.IntegerField(write_only=True, required=False,
                                       help_text="An existing member of the organisation.")
    email = serializers.EmailField(write_only=True, required=False,
                                   help_text="Or the member's login e-mail.")
    permissions = serializers.ListField(child=serializers.ChoiceField(choices=Permission.choices))

    class Meta:
        model = AddressAccess
        fields = ["id", "user", "user_id", "email", "permissions", "created"]
        read_only_fields = ["id", "created"]


class AccessViewSet(mixins.UpdateModelMixin, AddressChildViewSet):
    """Users of the address (grants with permissions). The `{id}` of an item is the user's
    id. DELETE removes all access; POST `…/{id}/disconnect/` revokes all their device
    passwords and keeps web access."""

    queryset = AddressAccess.objects.all()
    serializer_class = AccessSerializer
    lookup_field = "user_id"
    lookup_url_kwarg = "pk"
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().select_related("user", "address__mail_service").order_by("user__email")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        address = self.address()
        users = User.objects.filter(memberships__organisation_id=address.mail_service.organisation_id)
        if "user_id" in data:
            user = users.filter(pk=data["user_id"]).first()
        elif "email" in data:
            user = users.filter(email__iexact=data["email"]).first()
        else:
            raise serializers.ValidationError({"user_id": ["Give user_id or email."]})
        if user is None:
            raise serializers.ValidationError(
                {"user_id": ["No member of the organisation matches; invite the person instead."]},
                code="not_a_member")
        access = services.access_grant(actor=request.user, address=address, user=user,
                                       permissions=data["permissions"])
        return self.created(AccessSerializer, access)

    def perform_update(self, serializer):
        serializer.instance = services.access_update(
            actor=self.request.user, access=serializer.instance,
            permissions=serializer.validated_data.get("permissions", serializer.instance.permissions))

    def perform_destroy(self, instance):
        services.access_remove(actor=self.request.user, access=instance)

    @extend_schema(request=None, responses=inline_serializer(
        "DisconnectResult", {"revoked": serializers.IntegerField()}))
    @action(detail=True, methods=["post"])
    def disconnect(self, request, *args, **kwargs):
        """Disconnect all devices: revoke every device password of this user here."""
        count = services.access_disconnect_devices(actor=request.user, access=self.get_object())
        return Response({"revoked": count})


class InvitationSerializer(serializers.ModelSerializer):
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
    """Invitation links for new people (valid 30 days, single use). DELETE revokes;
    POST `…/{id}/resend/` e-mails a fresh link (the previous one stops working)."""

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


class InvitationAcceptViewSet(viewsets.GenericViewSet):
    """`POST invitations/{token}/accept/`: the authenticated caller accepts the invitation."""

    serializer_class = AccessSerializer
    lookup_field = "token"
    lookup_value_regex = r"[A-Za-z0-9_\-]+"
    queryset = Invitation.objects.none()

    @extend_schema(request=None, responses=AccessSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, token=None):
        access = services.invitation_accept(raw_token=token, user=request.user)
        return Response(AccessSerializer(access).data, status=status.HTTP_201_CREATED)


class DevicePasswordSerializer(serializers.ModelSerializer):
    user = AddressUserBriefSerializer(source="access.user", read_only=True)
    user_id = serializers.IntegerField(write_only=True, required=False,
                                       help_text="Administrators may create one for another user.")

    class Meta:
        model = DevicePassword
        fields = ["id", "name", "device_type", "user", "user_id", "can_send", "created",
                  "last_used", "revoked"]
        read_only_fields = ["id", "can_send", "created", "last_used", "revoked"]


class DevicePasswordCreatedSerializer(DevicePasswordSerializer):
    password = serializers.CharField(read_only=True, help_text="Shown once; never stored.")

    class Meta(DevicePasswordSerializer.Meta):
        fields = [*DevicePasswordSerializer.Meta.fields, "password"]


class DevicePasswordViewSet(AddressChildViewSet):
    """Device passwords of the address. Users see their own; administrators see all.
    POST returns the password once; DELETE revokes that device only."""

    queryset = DevicePassword.objects.all()
    serializer_class = DevicePasswordSerializer
    filterset_fields = ["revoked"]

    def get_queryset(self):
        queryset = super().get_queryset().select_related("access__user")
        if not manages(self.request.user, self.address()):
            queryset = queryset.filter(access__user=self.request.user)
        return queryset

    @extend_schema(responses={201: DevicePasswordCreatedSerializer})
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


def register(router):
    router.register(r"addresses/(?P<address_pk>\d+)/users", AccessViewSet, basename="address-user")
    router.register(r"addresses/(?P<address_pk>\d+)/invitations", InvitationViewSet,
                    basename="invitation")
    router.register(r"addresses/(?P<address_pk>\d+)/device-passwords", DevicePasswordViewSet,
                    basename="device-password")
    router.register("invitations", InvitationAcceptViewSet, basename="invitation-accept")
