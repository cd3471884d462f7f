"""A domain's records: `domains/{id}/records/`."""
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from manager.core.api import RestrictedViewSet
from manager.core.serializers import ModelSerializer

from .. import services
from ..filters import RecordFilter
from ..models import Record
from ..zone.records import VALUE_MAX_CHARS
from .domain_scope import DomainScopedMixin


class RecordSerializer(ModelSerializer):
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
