"""API: client settings of an address (`addresses/{id}/client-config/`, `…/mobileconfig/`)
and the connectivity check of the mail hosts (`tools/connectivity-check/`)."""
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from manager.core.serializers import Serializer

from .. import clientsetup, connectivity, permissions, selectors
from ..models import Address, MailService


class ServerSettingsSerializer(Serializer):
    protocol = serializers.ChoiceField(choices=["imap", "smtp"])
    host = serializers.CharField()
    port = serializers.IntegerField()
    security = serializers.ChoiceField(choices=["SSL/TLS", "STARTTLS"])


@extend_schema_serializer(many=False)  # one object, although served on a list route
class ClientSettingsSerializer(Serializer):
    address = serializers.IntegerField(help_text="The address id.")
    email = serializers.EmailField()
    display_name = serializers.CharField()
    username = serializers.CharField(help_text="Always the full address.")
    password = serializers.CharField(
        help_text='Never a real password: "a device password" (create one under '
                  "`addresses/{id}/device-passwords/`).")
    incoming = ServerSettingsSerializer(help_text="IMAP, implicit TLS (993).")
    outgoing = ServerSettingsSerializer(help_text="SMTP submission with STARTTLS (587).")
    outgoing_fallback = ServerSettingsSerializer(
        help_text="SMTP with implicit TLS (465), tolerated for clients that need it.")
    can_send = serializers.BooleanField(help_text="False for the catchall, which only receives.")
    downloads = serializers.DictField(child=serializers.URLField(),
                                      help_text="mobileconfig and autoconfig URLs.")


class MobileConfigRenderer(BaseRenderer):
    """Lets `Accept: application/x-apple-aspen-config` through content negotiation; the
    profile itself is returned as a ready HttpResponse, errors stay JSON."""

    media_type = clientsetup.MOBILECONFIG_TYPE
    format = "mobileconfig"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


address_pk_parameter = OpenApiParameter("address_pk", OpenApiTypes.INT, OpenApiParameter.PATH,
                                        description="The address id.")


class ClientConfigViewSet(viewsets.GenericViewSet):
    """How to configure a mail client for the address: organisation managers and users of
    the address with "read" or "send" (403 otherwise); another organisation's address is 404."""

    serializer_class = ClientSettingsSerializer
    queryset = Address.objects.none()
    pagination_class = None
    filter_backends = []

    def get_address(self) -> Address:
        address = selectors.address_for(self.request.user, self.kwargs["address_pk"])
        permissions.require_any(self.request.user, address, permissions.CLIENT_SETUP)
        return address

    @extend_schema(operation_id="addresses_client_config_retrieve",
                   parameters=[address_pk_parameter], responses=ClientSettingsSerializer)
    def list(self, request, address_pk=None):
        """IMAP/SMTP hosts, ports and security, the username (the full address), and the
        download links. The password is always a device password, never shown here."""
        address = self.get_address()
        data = clientsetup.for_address(address).as_dict()
        data["address"] = address.pk
        data["downloads"] = {
            "mobileconfig": request.build_absolute_uri(
                reverse("api:client-config-mobileconfig", kwargs={"address_pk": address.pk})),
            "autoconfig": request.build_absolute_uri(
                reverse("mailservice:autoconfig") + "?" + urlencode({"emailaddress": address.email})),
        }
        return Response(ClientSettingsSerializer(data).data)

    @extend_schema(
        operation_id="addresses_client_config_mobileconfig",
        parameters=[address_pk_parameter],
        responses={(200, clientsetup.MOBILECONFIG_TYPE): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="An Apple configuration profile (plist, unsigned) with the IMAP and "
                        "SMTP settings; it holds no password.")})
    @action(detail=False, url_path="mobileconfig",
            renderer_classes=[JSONRenderer, MobileConfigRenderer])
    def mobileconfig(self, request, address_pk=None):
        """Apple configuration profile (iOS, iPadOS, macOS). Its identifiers derive from the
        address, so downloading it again updates the installed profile."""
        address = self.get_address()
        return HttpResponse(
            clientsetup.render_mobileconfig(clientsetup.for_address(address)),
            content_type=clientsetup.MOBILECONFIG_TYPE,
            headers={"Content-Disposition": clientsetup.attachment(
                clientsetup.mobileconfig_filename(address.email))})


class ConnectivityCheckSerializer(Serializer):
    mail_service = serializers.IntegerField(
        required=False, help_text="Test the hosts that serve this mail service (by default the "
                                  "hosts of the settings).")


class ConnectivityResultSerializer(Serializer):
    host = serializers.CharField()
    port = serializers.IntegerField()
    protocol = serializers.ChoiceField(choices=["imap", "smtp"])
    tls = serializers.ChoiceField(choices=["implicit", "starttls", "none"])
    verdict = serializers.ChoiceField(choices=["ok", "warning", "error"])
    message = serializers.CharField()
    banner = serializers.CharField()
    elapsed_ms = serializers.IntegerField()


class ConnectivityReportSerializer(Serializer):
    mail_service = serializers.IntegerField(allow_null=True)
    timeout = serializers.FloatField(help_text="Seconds allowed per port.")
    verdict = serializers.ChoiceField(choices=["ok", "warning", "error"],
                                      help_text="The worst verdict of the results.")
    results = ConnectivityResultSerializer(many=True)


class ConnectivityCheckThrottle(UserRateThrottle):
    """Each check opens three outgoing connections: keep it a tool, not a scanner."""

    scope = "connectivity_check"
    rate = "20/min"


class ConnectivityCheckViewSet(viewsets.GenericViewSet):
    """Tests TCP reachability of the IMAP (993) and SMTP (587, 465) hosts: banner, TLS
    handshake on 993/465, STARTTLS offered on 587, with a readable verdict per port."""

    serializer_class = ConnectivityCheckSerializer
    throttle_classes = [UserRateThrottle, ConnectivityCheckThrottle]
    pagination_class = None
    filter_backends = []

    @extend_schema(request=ConnectivityCheckSerializer,
                   responses={200: ConnectivityReportSerializer, 404: OpenApiResponse(
                       description="`mail_service` does not exist, or is another "
                                   "organisation's.")})
    def create(self, request):
        serializer = ConnectivityCheckSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        service_id = serializer.validated_data.get("mail_service")
        backend_host = None
        if service_id is not None:
            backend_host = get_object_or_404(MailService.objects.restrict(request.user, "view"),
                                             pk=service_id).backend_host
        report = connectivity.check_configured_hosts(backend_host)
        return Response({"mail_service": service_id, **report})


def register(router):
    router.register(r"addresses/(?P<address_pk>\d+)/client-config", ClientConfigViewSet,
                    basename="client-config")
    router.register("tools/connectivity-check", ConnectivityCheckViewSet,
                    basename="connectivity-check")
