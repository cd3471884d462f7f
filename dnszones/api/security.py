"""The security check of a domain's mail DNS: `domains/{id}/security-check/` and its
`fix/`."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.roles import CHANGE
from manager.core.serializers import Serializer

from ..services import security as security_services
from .records import RecordSerializer


class SecurityFixSerializer(Serializer):
    name = serializers.CharField(help_text="Relative to the zone (`@` the apex).")
    fqdn = serializers.CharField()
    type = serializers.CharField()
    value = serializers.CharField(help_text="The record to create (TXT: its text).")
    replaces = serializers.ListField(child=serializers.CharField(),
                                     help_text="The values at that name and type it replaces.")
    record = serializers.CharField(help_text="The record in zone-file form, to create at the "
                                   "DNS host of a zone served elsewhere.")
    applicable = serializers.BooleanField(help_text="Our DNS serves the zone: "
                                          "`security-check/fix/` applies it.")


class SecurityFindingSerializer(Serializer):
    code = serializers.CharField(help_text="mx_missing, mx_elsewhere, spf_missing, "
                                 "spf_without_our_include, spf_too_many_lookups, dkim_missing, "
                                 "dmarc_missing, dmarc_invalid, dmarc_policy, autoconfig_missing, …")
    severity = serializers.ChoiceField(choices=["ok", "info", "warning", "error"])
    area = serializers.ChoiceField(choices=["mx", "spf", "dkim", "dmarc", "clients"])
    message = serializers.CharField()
    fix = SecurityFixSerializer(allow_null=True)


class SecurityCheckSerializer(Serializer):
    domain = serializers.CharField()
    worst = serializers.CharField(help_text="The worst severity of the findings (the badge).")
    checked_at = serializers.DateTimeField()
    uses_our_dns = serializers.BooleanField()
    findings = SecurityFindingSerializer(many=True)


class SecurityFixRequestSerializer(Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=253, required=False,
                                 help_text="When several findings share the code: the name of the one.")


class SecurityFixResultSerializer(Serializer):
    record = serializers.DictField(help_text="The record created in the zone.")
    check = SecurityCheckSerializer()


class SecurityCheckActions:
    """The `security-check/` actions of the domain resource."""

    @extend_schema(methods=["GET"], responses=SecurityCheckSerializer, request=None,
                   parameters=[OpenApiParameter("refresh", bool, description="1: check again now.")])
    @extend_schema(methods=["POST"], responses=SecurityCheckSerializer, request=None)
    @action(detail=True, methods=["get", "post"], url_path="security-check",
            pagination_class=None, filter_backends=[])
    def security_check(self, request, pk=None):
        """The security check of the domain's mail DNS, as the world sees it (through
        DNS_RESOLVER): MX, SPF, DKIM, DMARC, the names mail clients look up. Cached (checked
        periodically); `?refresh=1` or POST checks again now. Each finding has a `code`, a
        `severity` (ok / info / warning / error), a `message` and a `fix` (or null): the
        record to create and those it replaces — applied by `security-check/fix/` when our
        DNS serves the zone, to be created at the DNS host otherwise."""
        domain = self.get_object()
        refresh = request.method == "POST" or request.query_params.get(
            "refresh", "").lower() in ("1", "true", "yes")
        check = security_services.security_check(domain, refresh=refresh)
        return Response(SecurityCheckSerializer(security_services.check_data(check)).data)

    @extend_schema(request=SecurityFixRequestSerializer, responses=SecurityFixResultSerializer)
    @action(detail=True, methods=["post"], url_path="security-check/fix",
            pagination_class=None, filter_backends=[])
    def security_check_fix(self, request, pk=None):
        """Applies a finding's fix (`code`, and `name` when several findings share it) to the
        zone through the record service, after checking again: the record is created (and
        those it replaces deleted) and the zone pushed; the finding disappears from the
        check once the DNS serves the change. 404 `nothing_to_fix`, 409 `external_dns` (a
        zone served elsewhere: create the record shown) or `zone_not_served`."""
        domain = self.get_object()
        self.require(CHANGE, domain)
        serializer = SecurityFixRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record = security_services.apply_fix(actor=request.user, domain=domain, code=data["code"],
                                             name=data.get("name"))
        check = security_services.security_check(domain)
        return Response({"record": RecordSerializer(record).data,
                         "check": SecurityCheckSerializer(security_services.check_data(check)).data})
