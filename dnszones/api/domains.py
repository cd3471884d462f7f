"""Domains (`domains/`), their push status (`domains/{id}/sync/`) and the external check
(`domains/{id}/check/`); the zone file, SPF and security actions come from their modules."""
from django.core.exceptions import ValidationError
from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from mailservice.validators import clean_domain
from manager.accounts.models import Organisation
from manager.accounts.roles import CHANGE
from manager.core.api import FixedAfterCreationMixin, ServiceModelViewSet
from manager.core.serializers import ModelSerializer, Serializer

from .. import selectors, services
from ..external import check_records
from ..filters import DomainFilter
from ..models import Domain
from .records import RecordSerializer
from .security import SecurityCheckActions
from .spf import SpfActions
from .sync import SyncStatusMixin
from .zone_files import ZoneFileActions


class DomainSerializer(FixedAfterCreationMixin, SyncStatusMixin, ModelSerializer):
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


class ZoneSyncSerializer(SyncStatusMixin, ModelSerializer):
    class Meta:
        model = Domain
        fields = ["id", "name", "uses_our_dns", "sync_status", "sync_error", "last_applied"]


class CheckSerializer(Serializer):
    record = RecordSerializer()
    present = serializers.BooleanField(allow_null=True, help_text="null: the lookup failed.")
    found = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField()


class DomainViewSet(ZoneFileActions, SpfActions, SecurityCheckActions, ServiceModelViewSet):
    """Domains of the caller's organisations; writes need an owner, legal representative or
    admin role. A domain a mail service uses cannot be deleted (409)."""

    queryset = Domain.objects.all()
    serializer_class = DomainSerializer
    filterset_class = DomainFilter

    def get_queryset(self):
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
