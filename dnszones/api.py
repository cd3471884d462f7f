"""API: domains (`domains/`), their records (`domains/{id}/records/`), the zone file
(`domains/{id}/zone-file/`: GET exports, PUT/POST imports, `?dry_run=1` previews), the
push status (`domains/{id}/sync/`), the external check (`domains/{id}/check/`) and the
synonym domains (`domains/{id}/synonyms/`)."""
from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.models import Organisation
from manager.accounts.roles import CHANGE
from manager.core.api import (
    FixedAfterCreationMixin,
    ParentScopedMixin,
    RestrictedViewSet,
    ServiceModelViewSet,
)

from . import selectors, services
from .external import check_records
from .filters import DomainFilter, RecordFilter
from .models import Domain, Record, SpfFlattening
from .services import security as security_services
from .services import spf as spf_services
from .zone.records import VALUE_MAX_CHARS

# --- push status ----------------------------------------------------------------------------

class SyncStatusMixin(serializers.Serializer):
    """`sync_status` (applied / pending / failed), `sync_error` and `last_applied` of the
    zone's push; the view puts the page's push jobs in the context (one query a page)."""

    sync_status = serializers.SerializerMethodField()
    sync_error = serializers.SerializerMethodField()
    last_applied = serializers.SerializerMethodField()

    def _job(self, obj):
        jobs = self.context.setdefault("sync_jobs", {})
        if obj.name not in jobs:
            jobs.update(selectors.sync_jobs([obj.name]))
            jobs.setdefault(obj.name, None)
        return jobs[obj.name]

    def get_sync_status(self, obj) -> str:
        return str(selectors.sync_status(obj, self._job(obj)))

    def get_sync_error(self, obj) -> str:
        job = self._job(obj)
        return job.last_error if job and job.sync_status == "failed" else ""

    def get_last_applied(self, obj) -> str | None:
        job = self._job(obj)
        return job.last_applied_at.isoformat() if job and job.last_applied_at else None


class DomainSerializer(FixedAfterCreationMixin, SyncStatusMixin, serializers.ModelSerializer):
    """A domain of an organisation. `name` may be sent in Unicode or as an A-label; it is
    stored and answered as the A-label (`unicode_name` is the readable form).
    `uses_our_dns`: our DNS serves its zone (else: the records are to be created at the
    owner's DNS host, see `check/`). `organisation` and `name` are fixed once created.
    `synonym_of`: the main domain's id when this domain is a synonym (see `synonyms/`)."""

    fixed_after_creation = ("organisation",)

    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
    name = serializers.CharField(max_length=253)
    unicode_name = serializers.CharField(read_only=True)
    record_count = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = ["id", "organisation", "name", "unicode_name", "uses_our_dns", "dns_host",
                  "default_ttl", "serial", "record_count", "synonym_of", "created",
                  "sync_status", "sync_error", "last_applied"]
        read_only_fields = ["id", "dns_host", "serial", "synonym_of", "created"]
        extra_kwargs = {"default_ttl": {"required": False}, "uses_our_dns": {"required": False}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["organisation"].queryset = Organisation.objects.restrict(request.user, "view")
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            self.fields["organisation"].read_only = True
            self.fields["name"].read_only = True

    def validate(self, attrs):
        """A different name on an update is refused (400 `read_only`), not ignored; the
        Unicode form of the stored name is the same name."""
        attrs = super().validate(attrs)
        sent = getattr(self, "initial_data", {}).get("name")
        if self.instance is not None and not isinstance(self.instance, list | tuple) and sent:
            from django.core.exceptions import ValidationError

            from mailservice.validators import clean_domain

            try:
                same = clean_domain(str(sent)) == self.instance.name
            except ValidationError:
                same = False
            if not same:
                raise serializers.ValidationError(
                    {"name": [exceptions.ErrorDetail("Fixed once created.", code="read_only")]})
        return attrs

    def get_record_count(self, obj) -> int:
        count = getattr(obj, "n_records", None)
        return count if count is not None else obj.records.count()


class ZoneSyncSerializer(SyncStatusMixin, serializers.ModelSerializer):
    class Meta:
        model = Domain
        fields = ["id", "name", "uses_our_dns", "sync_status", "sync_error", "last_applied"]


class RecordSerializer(serializers.ModelSerializer):
    """One record. `name` is relative to the zone (`@` for the apex); `value` is the rdata
    in zone-file text (`10 mx1.example.net.`; a TXT value may be sent unquoted: it is split
    into 255-byte strings for you). A target name without a final dot is relative to the
    zone. `display_value`: a TXT record's strings joined. The TTL is the RRset's: setting it
    on one record sets it on the records of the same name and type."""

    name = serializers.CharField(max_length=253, required=False, default="@")
    type = serializers.ChoiceField(choices=Record.Type.choices)
    ttl = serializers.IntegerField(required=False, help_text="Seconds; the domain's default TTL if left out.")
    value = serializers.CharField(max_length=VALUE_MAX_CHARS, allow_blank=True, trim_whitespace=False)
    display_value = serializers.CharField(source="shown_value", read_only=True)

    class Meta:
        model = Record
        fields = ["id", "name", "type", "ttl", "value", "display_value", "created", "updated"]
        read_only_fields = ["id", "created", "updated"]


class CheckSerializer(serializers.Serializer):
    record = RecordSerializer()
    present = serializers.BooleanField(allow_null=True, help_text="null: the lookup failed.")
    found = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField()


class ZoneFileSerializer(serializers.Serializer):
    zone_file = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                      help_text="The zone file's text ($ORIGIN and $TTL understood).")
    file = serializers.FileField(required=False, help_text="Or the zone file as an upload.")


class PlainRecordSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    ttl = serializers.IntegerField()
    value = serializers.CharField()


class ZoneImportSerializer(serializers.Serializer):
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


# --- the SPF doctor ---------------------------------------------------------------------------

class SpfFindingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: too_many_lookups, too_many_void_lookups, "
                                 "several_records, no_record, include_loop, include_missing, "
                                 "syntax_error, pass_all, ptr, spf_record_type, void_lookup, …")
    message = serializers.CharField()
    domain = serializers.CharField(help_text="Whose record the finding is about.")
    position = serializers.IntegerField(allow_null=True,
                                        help_text="Syntax errors: the 1-based column in that record.")
    term = serializers.CharField()


class SpfTermSerializer(serializers.Serializer):
    term = serializers.CharField()
    lookup = serializers.BooleanField(help_text="Counts toward the 10 lookups.")
    explanation = serializers.CharField()


@extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/SpfNode"}})
class SpfChildrenField(serializers.ListField):
    pass


class SpfNodeSerializer(serializers.Serializer):
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


class SpfFlatteningSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpfFlattening
        fields = ["source", "flattened", "inlined", "lookups_source", "lookups_flattened",
                  "flattened_at", "checked_at"]


class SpfReportSerializer(serializers.Serializer):
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


class SpfActionSerializer(serializers.Serializer):
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


class SpfZoneChangeSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=["create", "update", "delete"])
    name = serializers.CharField()
    type = serializers.CharField()
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)


class SpfWarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class SpfChangeSerializer(serializers.Serializer):
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


# --- the security check -----------------------------------------------------------------------

class SecurityFixSerializer(serializers.Serializer):
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


class SecurityFindingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="mx_missing, mx_elsewhere, spf_missing, "
                                 "spf_without_our_include, spf_too_many_lookups, dkim_missing, "
                                 "dmarc_missing, dmarc_invalid, dmarc_policy, autoconfig_missing, …")
    severity = serializers.ChoiceField(choices=["ok", "info", "warning", "error"])
    area = serializers.ChoiceField(choices=["mx", "spf", "dkim", "dmarc", "clients"])
    message = serializers.CharField()
    fix = SecurityFixSerializer(allow_null=True)


class SecurityCheckSerializer(serializers.Serializer):
    domain = serializers.CharField()
    worst = serializers.CharField(help_text="The worst severity of the findings (the badge).")
    checked_at = serializers.DateTimeField()
    uses_our_dns = serializers.BooleanField()
    findings = SecurityFindingSerializer(many=True)


class SecurityFixRequestSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=253, required=False,
                                 help_text="When several findings share the code: the name of the one.")


class SecurityFixResultSerializer(serializers.Serializer):
    record = serializers.DictField(help_text="The record created in the zone.")
    check = SecurityCheckSerializer()


# --- domains ----------------------------------------------------------------------------------

class DomainViewSet(ServiceModelViewSet):
    """Domains of the caller's organisations; writes need an owner, legal representative or
    admin role. A domain a mail service uses cannot be deleted (409)."""

    queryset = Domain.objects.all()
    serializer_class = DomainSerializer
    filterset_class = DomainFilter

    def get_queryset(self):
        from django.db.models import Count

        return super().get_queryset().annotate(n_records=Count("records")).order_by("name")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        self._jobs = selectors.sync_jobs([r.name for r in rows])
        return page

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "_jobs", None) is not None:
            context["sync_jobs"] = self._jobs
        return context

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.domain_create(
            actor=self.request.user, organisation=data["organisation"], name=data["name"],
            uses_our_dns=data.get("uses_our_dns", True), default_ttl=data.get("default_ttl"))

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.domain_update(
            actor=self.request.user, domain=serializer.instance,
            uses_our_dns=data.get("uses_our_dns"), default_ttl=data.get("default_ttl"))

    def perform_destroy(self, instance):
        services.domain_delete(actor=self.request.user, domain=instance)

    @extend_schema(methods=["GET"], responses=ZoneSyncSerializer, request=None)
    @extend_schema(methods=["POST"], responses={202: ZoneSyncSerializer}, request=None)
    @action(detail=True, methods=["get", "post"])
    def sync(self, request, pk=None):
        """The zone's push status; POST ("Push now") queues a push of the whole zone."""
        domain = self.get_object()
        if request.method == "POST":
            self.require(CHANGE, domain)
            services.domain_sync(actor=request.user, domain=domain)
        return Response(ZoneSyncSerializer(domain).data,
                        status=202 if request.method == "POST" else 200)

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

    @extend_schema(responses=CheckSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def check(self, request, pk=None):
        """Whether each record of the domain is served where the world looks it up (through
        the product's resolver, DNS_RESOLVER): for a domain served by an external DNS host,
        the records its owner must create there."""
        domain = self.get_object()
        rows = check_records(domain, selectors.records_of(domain))
        return Response([{"record": RecordSerializer(row.record).data, "present": row.present,
                          "found": list(row.found), "error": row.error} for row in rows])

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


# --- records ----------------------------------------------------------------------------------

class DomainScopedMixin(ParentScopedMixin):
    """For resources under `domains/{id}/`: the domain goes through the gate first (another
    organisation's domain is a 404) before the body is read."""

    parent_kwarg = "domain_pk"

    def parent(self):
        return self.domain()

    def domain(self):
        if not hasattr(self, "_domain"):
            self._domain = selectors.domain_for(self.request.user, self.kwargs["domain_pk"])
        return self._domain


class RecordViewSet(DomainScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                    RestrictedViewSet):
    """The records of a domain's zone (`?type=`, `?name=` filter). A refused record is a 400
    `invalid_record` with the error on `value`, `name`, `type` or `ttl`."""

    queryset = Record.objects.all()
    serializer_class = RecordSerializer
    filterset_class = RecordFilter

    def get_queryset(self):
        return Record.objects.filter(domain=self.domain()).select_related("domain").order_by(
            "name", "type", "value", "pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record = services.record_create(actor=request.user, domain=self.domain(), name=data["name"],
                                        type=data["type"], ttl=data.get("ttl"), value=data["value"])
        return Response(RecordSerializer(record).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.record_update(actor=self.request.user,
                                                     record=serializer.instance,
                                                     **serializer.validated_data)

    def perform_destroy(self, instance):
        services.record_delete(actor=self.request.user, record=instance)


# --- synonyms ---------------------------------------------------------------------------------

class SynonymSerializer(SyncStatusMixin, serializers.ModelSerializer):
    """A synonym domain: `synonym_of` is the main domain's id."""

    domain = serializers.CharField(write_only=True, max_length=253,
                                   help_text="The name of the domain to make a synonym.")
    name = serializers.CharField(read_only=True)
    unicode_name = serializers.CharField(read_only=True)
    synonym_of = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Domain
        fields = ["id", "domain", "name", "unicode_name", "synonym_of", "sync_status",
                  "sync_error", "last_applied"]


class SynonymViewSet(DomainScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                     mixins.DestroyModelMixin, RestrictedViewSet):
    """The synonym domains of the domain in the URL. A synonym serves a copy of the main
    zone (owner names re-rooted, targets the main domain's hosts; no DKIM keys, no
    `_acme-challenge`, DMARC report addresses rewritten), kept in sync with it, and receives
    the main domain's mail (its addresses, aliases and catchall). POST with `domain`, the
    name of a domain of the same organisation that uses our DNS and is linked to no
    product; its own records are deleted. Refusals are 400 with a `code`:
    `unknown_domain`, `same_domain`, `other_organisation`, `main_is_synonym`,
    `main_external_dns`, `main_has_newsletter`, `already_synonym`, `has_synonyms`,
    `external_dns`, `linked_to_product`. DELETE dissociates (the domain stays, with
    nothing of the main domain: its zone is back to SOA and NS only and its mail is
    refused at RCPT)."""

    queryset = Domain.objects.all()
    serializer_class = SynonymSerializer
    action_map_to_permission = {"create": CHANGE, "destroy": CHANGE}

    def get_queryset(self):
        return (Domain.objects.restrict(self.request.user, "view")
                .filter(synonym_of=self.domain()).order_by("name", "pk"))

    def create(self, request, *args, **kwargs):
        from django.core.exceptions import ValidationError

        from mailservice.validators import clean_domain
        from manager.core.errors import ServiceError

        main = self.domain()
        self.require(CHANGE, main)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            name = clean_domain(serializer.validated_data["domain"])
        except ValidationError:
            name = None
        # A domain the caller cannot see is unknown, whether or not it exists.
        visible = Domain.objects.restrict(request.user, "view")
        synonym = visible.filter(name=name).first() if name else None
        if synonym is None:
            text = gettext("No domain of that name is registered here: add it to the "
                           "organisation first.")
            raise ServiceError(text, code="unknown_domain", fields={"domain": [text]})
        synonym = services.synonym_add(actor=request.user, main=main, synonym=synonym)
        return Response(SynonymSerializer(synonym).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.synonym_remove(actor=self.request.user, synonym=instance)


def register(router):
    router.register("domains", DomainViewSet, basename="domain")
    router.register(r"domains/(?P<domain_pk>\d+)/records", RecordViewSet, basename="dns-record")
    router.register(r"domains/(?P<domain_pk>\d+)/synonyms", SynonymViewSet, basename="dns-synonym")

