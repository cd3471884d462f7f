"""The zone file of a domain: `domains/{id}/zone-file/` (GET exports, PUT/POST imports,
`?dry_run=1` previews)."""
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.roles import CHANGE
from manager.core.serializers import Serializer

from .. import selectors, services


class ZoneFileSerializer(Serializer):
    zone_file = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                      help_text="The zone file's text ($ORIGIN and $TTL understood).")
    file = serializers.FileField(required=False, help_text="Or the zone file as an upload.")


class PlainRecordSerializer(Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    ttl = serializers.IntegerField()
    value = serializers.CharField()


class ZoneImportSerializer(Serializer):
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    added = PlainRecordSerializer(many=True)
    removed = PlainRecordSerializer(many=True)
    changed = inline_serializer("RecordTtlChange", {"before": PlainRecordSerializer(),
                                                    "after": PlainRecordSerializer()}, many=True)
    unchanged = serializers.IntegerField()
    ignored = serializers.ListField(child=serializers.CharField(),
                                    help_text="Lines kept by the platform (SOA, apex NS).")


def _plain(record):
    return {"name": record.name, "type": record.type, "ttl": record.ttl, "value": record.value}


class ZoneFileActions:
    """The `zone-file/` action of the domain resource."""

    @extend_schema(methods=["GET"], responses={(200, "text/dns"): OpenApiResponse(OpenApiTypes.STR)})
    @extend_schema(methods=["PUT", "POST"], parameters=[OpenApiParameter(
        "dry_run", bool, description="1: tell what would change, save nothing.")],
        request={"application/json": ZoneFileSerializer, "multipart/form-data": ZoneFileSerializer},
        responses=ZoneImportSerializer)
    @action(detail=True, methods=["get", "put", "post"], url_path="zone-file")
    def zone_file(self, request, pk=None):
        """GET: the zone as a zone file. PUT/POST: import a zone file (its records replace
        the zone's; the SOA and apex NS are the platform's). Errors name their lines (400
        `invalid_zone_file`, under `fields.zone_file`)."""
        domain = self.get_object()
        if request.method == "GET":
            response = HttpResponse(selectors.zone_file(domain), content_type="text/dns; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{domain.name}.zone"'
            return response
        self.require(CHANGE, domain)
        serializer = ZoneFileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data.get("file")
        if upload is not None:
            raw = upload.read(services.zone_files.ZONE_FILE_MAX_CHARS + 1)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise serializers.ValidationError({"file": ["The file is not UTF-8 text."]}) from exc
        elif "zone_file" in serializer.validated_data:
            text = serializer.validated_data["zone_file"]
        else:
            raise serializers.ValidationError({"zone_file": ["Send the zone file's text, or upload it as `file`."]})
        dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
        result = services.zone_import(actor=request.user, domain=domain, text=text, dry_run=dry_run)
        changes = result.changes
        return Response({"dry_run": dry_run, "applied": result.applied,
                         "added": [_plain(r) for r in changes.added],
                         "removed": [_plain(r) for r in changes.removed],
                         "changed": [{"before": _plain(b), "after": _plain(a)} for b, a in changes.changed],
                         "unchanged": changes.unchanged, "ignored": result.ignored})
