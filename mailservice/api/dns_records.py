"""API: a mail service's DNS records (`mail-services/{id}/dns-records/`) and its DKIM key
rotation (`mail-services/{id}/dkim/rotate/`)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.roles import CHANGE
from manager.core.serializers import ModelSerializer, Serializer

from .. import services
from ..mail_records import CLIENT_SETUP, DKIM, DMARC, MX, SPF, SRV
from ..models import DkimKey
from ..selectors import mail_dns
from ..services.dns_records import INSTALLED, KEPT, MISSING, OWNER


class MailDnsRecordSerializer(Serializer):
    """`status`: `installed` (the service's record is in the zone, or on the list to create
    at an external DNS host), `owner` (the owner has this very record), `kept` (the owner
    has another record of this kind there, kept instead of ours: `their_value`, `reason`),
    `missing` (ours, removed by the owner). `present`: for an external domain checked with
    `?check=1`, whether the owner's DNS host answers it (null: not checked or no answer)."""

    name = serializers.CharField()
    fqdn = serializers.CharField()
    type = serializers.CharField()
    ttl = serializers.IntegerField()
    value = serializers.CharField()
    purpose = serializers.ChoiceField(choices=[MX, SPF, DMARC, CLIENT_SETUP, SRV, DKIM])
    status = serializers.ChoiceField(choices=[INSTALLED, OWNER, KEPT, MISSING])
    their_value = serializers.CharField()
    reason = serializers.CharField()
    present = serializers.BooleanField(allow_null=True)


class DkimKeySerializer(ModelSerializer):
    """A DKIM key: `publishing` (selector record published, not signing yet; it switches
    after `switch_after`), `active` (signing), `retired` (record kept until
    `remove_after`). The private key never leaves the server."""

    class Meta:
        model = DkimKey
        fields = ["selector", "state", "public_key", "created", "published_at", "switch_after",
                  "activated_at", "retired_at", "remove_after"]
        read_only_fields = fields


class MailDnsSerializer(Serializer):
    domain = serializers.CharField(allow_null=True)
    uses_our_dns = serializers.BooleanField()
    records = MailDnsRecordSerializer(many=True)
    dkim_keys = DkimKeySerializer(many=True)


def mail_dns_body(service, *, check=False) -> dict:
    dns = mail_dns(service, check=check)
    return MailDnsSerializer({
        "domain": dns.domain.name if dns.domain else None, "uses_our_dns": dns.uses_our_dns,
        "records": [record.__dict__ for record in dns.records],
        "dkim_keys": list(dns.dkim_keys)}).data


class MailDnsActionsMixin:
    """On the mail service viewset."""

    @extend_schema(responses=MailDnsSerializer, parameters=[OpenApiParameter(
        "check", OpenApiTypes.BOOL, description="For a domain at an external DNS host: look "
        "each record up (the product's resolver) and fill `present`.")])
    @action(detail=True, methods=["get"], url_path="dns-records")
    def dns_records(self, request, pk=None):
        """The DNS records the service needs and how its domain has them, and its DKIM
        keys. In a zone we serve they are installed for you; for a domain at an external
        DNS host they are the records to create there."""
        service = self.get_object()
        check = request.query_params.get("check", "").lower() in ("1", "true", "yes")
        return Response(mail_dns_body(service, check=check))

    @extend_schema(request=None, responses={201: DkimKeySerializer})
    @action(detail=True, methods=["post"], url_path="dkim/rotate")
    def dkim_rotate(self, request, pk=None):
        """Start a DKIM key rotation: a new key's selector record is published at once; the
        signer switches to it once the record is served and its TTL has passed, and the
        old record is withdrawn MAIL_DKIM_RETIRED_DAYS later (each step in the audit log).
        409 `rotation_in_progress` while one is under way."""
        service = self.get_object()
        self.require(CHANGE, service)
        key = services.dkim_rotate(actor=request.user, service=service)
        return Response(DkimKeySerializer(key).data, status=status.HTTP_201_CREATED)
