"""The SPF doctor of a domain: `domains/{id}/spf/`."""
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.roles import CHANGE
from manager.core.serializers import ModelSerializer, Serializer

from ..models import SpfFlattening
from ..services import spf as spf_services


class SpfFindingSerializer(Serializer):
    code = serializers.CharField(help_text="Stable: too_many_lookups, too_many_void_lookups, "
                                 "several_records, no_record, include_loop, include_missing, "
                                 "syntax_error, pass_all, ptr, spf_record_type, void_lookup, …")
    message = serializers.CharField()
    domain = serializers.CharField(help_text="Whose record the finding is about.")
    position = serializers.IntegerField(allow_null=True,
                                        help_text="Syntax errors: the 1-based column in that record.")
    term = serializers.CharField()


class SpfTermSerializer(Serializer):
    term = serializers.CharField()
    lookup = serializers.BooleanField(help_text="Counts toward the 10 lookups.")
    explanation = serializers.CharField()


@extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/SpfNode"}})
class SpfChildrenField(serializers.ListField):
    pass


class SpfNodeSerializer(Serializer):
    domain = serializers.CharField()
    via = serializers.ChoiceField(choices=["record", "include", "redirect"])
    term = serializers.CharField(help_text="The include or redirect that leads here.")
    record = serializers.CharField(allow_null=True)
    lookups = serializers.IntegerField(help_text="This record's own DNS-querying terms.")
    subtotal = serializers.IntegerField(help_text="With those of the records below it.")
    void_lookups = serializers.IntegerField()
    problem = serializers.CharField(help_text="Not read: loop, missing, several, lookup_failed, "
                                    "truncated; empty otherwise.")
    terms = SpfTermSerializer(many=True)
    children = SpfChildrenField(child=serializers.DictField())


class SpfFlatteningSerializer(ModelSerializer):
    class Meta:
        model = SpfFlattening
        fields = ["source", "flattened", "inlined", "lookups_source", "lookups_flattened",
                  "flattened_at", "checked_at"]


class SpfReportSerializer(Serializer):
    record = serializers.CharField(allow_null=True, help_text="The SPF record published at the "
                                   "domain's name (the first, if there are several).")
    lookups = serializers.IntegerField(help_text="The real recursive total (receivers stop at 10).")
    limit = serializers.IntegerField()
    void_lookups = serializers.IntegerField(help_text="Lookups that find nothing (limit 2).")
    records_found = serializers.IntegerField(help_text="SPF records at the name (one is right).")
    errors = SpfFindingSerializer(many=True)
    warnings = SpfFindingSerializer(many=True)
    tree = SpfNodeSerializer(allow_null=True)
    zone_records = serializers.ListField(child=serializers.CharField(),
                                         help_text="The SPF records of our copy of the zone.")
    flattening = SpfFlatteningSerializer(allow_null=True)


class SpfActionSerializer(Serializer):
    action = serializers.ChoiceField(choices=["qualifier", "merge", "flatten"])
    dry_run = serializers.BooleanField(default=False, help_text="Preview only: nothing is saved.")
    qualifier = serializers.ChoiceField(
        choices=["-all", "~all", "?all"], required=False,
        help_text="qualifier: -all strict (rejected if not listed, recommended), ~all soft "
                  "(accepted but marked suspect), ?all neutral (accepted).")
    records = serializers.ListField(child=serializers.CharField(max_length=2000), required=False,
                                    max_length=20, help_text="merge: the other providers' SPF "
                                    "records, merged with the zone's.")
    enabled = serializers.BooleanField(default=True, help_text="flatten: on, or off again.")

    def validate(self, attrs):
        needed = {"qualifier": "qualifier", "merge": "records"}.get(attrs["action"])
        if needed and not attrs.get(needed):
            raise serializers.ValidationError({needed: [exceptions.ErrorDetail(
                "This field is required for this action.", code="required")]})
        return attrs


class SpfZoneChangeSerializer(Serializer):
    operation = serializers.ChoiceField(choices=["create", "update", "delete"])
    name = serializers.CharField()
    type = serializers.CharField()
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)


class SpfWarningSerializer(Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class SpfChangeSerializer(Serializer):
    action = serializers.CharField()
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    before = serializers.CharField(allow_null=True, help_text="The zone's SPF record now.")
    after = serializers.CharField(help_text="The record the zone will publish.")
    lookups_before = serializers.IntegerField()
    lookups_after = serializers.IntegerField()
    changes = SpfZoneChangeSerializer(many=True)
    warnings = SpfWarningSerializer(many=True)
    flattened = serializers.BooleanField()
    source = serializers.CharField(allow_null=True, help_text="Flattened: the record with the "
                                   "providers' includes it is derived from.")
    inlined = serializers.ListField(child=serializers.CharField())


def spf_report_payload(domain) -> dict:
    data = spf_services.report_data(spf_services.spf_report(domain))
    flattening = SpfFlattening.objects.filter(domain=domain).first()
    data.pop("domain")
    return {**data, "limit": 10,
            "zone_records": [r.shown_value for r in spf_services.zone_spf_records(domain)],
            "flattening": SpfFlatteningSerializer(flattening).data if flattening else None}


def spf_change_payload(change, dry_run) -> dict:
    return {"action": change.action, "dry_run": dry_run, "applied": change.applied,
            "before": change.before, "after": change.after,
            "lookups_before": change.lookups_before, "lookups_after": change.lookups_after,
            "changes": change.changes, "warnings": change.warnings,
            "flattened": change.flattened, "source": change.source, "inlined": change.inlined}


class SpfActions:
    """The `spf/` action of the domain resource."""

    @extend_schema(methods=["GET"], responses=SpfReportSerializer, request=None)
    @extend_schema(methods=["POST"], request=SpfActionSerializer, responses=SpfChangeSerializer)
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def spf(self, request, pk=None):
        """GET: the SPF doctor's report of the record published at the domain's name, as the
        world sees it (looked up through DNS_RESOLVER, for our zones and external ones):
        `lookups` is the real recursive total of DNS-querying terms (not cut at 10),
        `tree` each record reached with its own count and subtotal, `errors` and
        `warnings` each with a `code`. POST: change the zone's SPF record — `action`
        `qualifier` (-all / ~all / ?all), `merge` (other providers' `records` into the
        one record), `flatten` (`enabled`: includes replaced by their addresses, kept
        current from the providers' records; false publishes the includes again).
        `dry_run` previews the zone change (before → after, lookups before → after) and
        saves nothing."""
        domain = self.get_object()
        if request.method == "GET":
            return Response(spf_report_payload(domain))
        self.require(CHANGE, domain)
        serializer = SpfActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dry_run = data.get("dry_run", False)
        if data["action"] == "qualifier":
            change = spf_services.spf_set_qualifier(actor=request.user, domain=domain,
                                                    qualifier=data["qualifier"], dry_run=dry_run)
        elif data["action"] == "merge":
            change = spf_services.spf_merge(actor=request.user, domain=domain,
                                            records=data["records"], dry_run=dry_run)
        else:
            change = spf_services.spf_flatten(actor=request.user, domain=domain,
                                              enabled=data.get("enabled", True), dry_run=dry_run)
        return Response(spf_change_payload(change, dry_run))
