"""API: mail services (`mail-services/`)."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from manager.accounts.models import Organisation
from manager.accounts.roles import CHANGE
from manager.core.api import FixedAfterCreationMixin, ServiceModelViewSet
from manager.core.serializers import ModelSerializer

from .. import services
from ..filters import MailServiceFilter
from ..models import MailService
from ..plans import PLAN_CHOICES
from ..selectors import StorageSummary, storage_summary
from .dns_records import MailDnsActionsMixin
from .removal import RemovedMailServiceSerializer, RestoreMixin
from .sync import SyncContextMixin, SyncStatusMixin


class MailServiceSerializer(FixedAfterCreationMixin, SyncStatusMixin, ModelSerializer):
    """A mail service: one domain of an organisation on a plan. `organisation` and `domain`
    are set at creation and fixed afterwards (a different value is 400 `read_only`);
    `sync_*` tell whether the backend serves the latest change."""

    fixed_after_creation = ("organisation", "domain")

    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
    plan = serializers.ChoiceField(choices=PLAN_CHOICES)
    address_limit = serializers.IntegerField(read_only=True)
    address_count = serializers.SerializerMethodField()
    storage_limit_mb = serializers.IntegerField(
        read_only=True, allow_null=True,
        help_text="What the addresses' quotas may add up to on this plan and capacity, in MB; "
                  "null: the plan sets no cap.")
    storage_allocated_mb = serializers.SerializerMethodField(
        help_text="The addresses' quotas added up, in MB.")
    storage_used_mb = serializers.SerializerMethodField(
        help_text="The space the addresses use, in MB, as the mail server last reported it "
                  "(addresses not reported yet count as 0).")

    class Meta:
        model = MailService
        fields = ["id", "organisation", "domain", "plan", "capacity", "address_limit",
                  "address_count", "storage_limit_mb", "storage_allocated_mb", "storage_used_mb",
                  "backend_host", "created", "sync_status", "sync_error",
                  "last_applied"]
        read_only_fields = ["id", "created", "backend_host"]
        extra_kwargs = {"domain": {"validators": []}, "capacity": {"required": False}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Form/choice fields go through the gate: only the caller's organisations.
            self.fields["organisation"].queryset = Organisation.objects.restrict(request.user, "view")
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            self.fields["organisation"].read_only = True
            self.fields["domain"].read_only = True

    def get_address_count(self, obj) -> int:
        count = getattr(obj, "n_addresses", None)
        return count if count is not None else obj.addresses.count()

    def get_storage_allocated_mb(self, obj) -> int:
        return self._storage(obj).allocated_mb

    def get_storage_used_mb(self, obj) -> float:
        return self._storage(obj).used_mb

    def _storage(self, obj):
        if hasattr(obj, "n_allocated_mb"):  # annotated by the viewset's list
            return StorageSummary(limit_mb=obj.storage_limit_mb,
                                  allocated_mb=obj.n_allocated_mb or 0,
                                  used_mb=round(obj.n_used_mb or 0, 2))
        return storage_summary(obj)


class SyncSerializer(SyncStatusMixin, ModelSerializer):
    class Meta:
        model = MailService
        fields = ["id", "domain", "sync_status", "sync_error", "last_applied"]


# A paginated list, like the resource's own list.
@extend_schema_view(removed=extend_schema(responses=RemovedMailServiceSerializer(many=True)))
class MailServiceViewSet(MailDnsActionsMixin, RestoreMixin, SyncContextMixin, ServiceModelViewSet):
    """Mail services of the caller's organisations; create/update/delete need an
    owner, legal representative or admin role. DELETE stops serving the service at once
    but keeps its addresses and mail for MAIL_REMOVAL_GRACE_DAYS: until then it is listed
    in `removed/` and `restore/` brings it back."""

    queryset = MailService.objects.all()
    serializer_class = MailServiceSerializer
    filterset_class = MailServiceFilter
    removed_serializer_class = RemovedMailServiceSerializer
    removed_related = ()

    def restore_service(self, actor, obj):
        return services.mail_service_restore(actor=actor, service=obj)

    def get_queryset(self):
        from django.db.models import Count, Q, Sum

        if self.action in self.removal_actions:
            return super().get_queryset()
        in_use = Q(addresses__removed_at__isnull=True)
        return (super().get_queryset().annotate(
            n_addresses=Count("addresses", filter=in_use),
            n_allocated_mb=Sum("addresses__quota_mb", filter=in_use),
            n_used_mb=Sum("addresses__quota_used_mb", filter=in_use)).order_by("domain"))

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.mail_service_create(
            actor=self.request.user, organisation=data["organisation"], domain=data["domain"],
            plan=data["plan"], capacity=data.get("capacity"))

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.mail_service_update(
            actor=self.request.user, service=serializer.instance, plan=data.get("plan"),
            capacity=data.get("capacity"))

    def perform_destroy(self, instance):
        services.mail_service_delete(actor=self.request.user, service=instance)

    @extend_schema(methods=["GET"], responses=SyncSerializer, request=None)
    @extend_schema(methods=["POST"], responses={202: SyncSerializer}, request=None)
    @action(detail=True, methods=["get", "post"])
    def sync(self, request, pk=None):
        """Backend status; POST forces a push of the whole service now."""
        return _sync_view(self, request)


def _sync_view(viewset, request):
    service = viewset.get_object()
    if request.method == "POST":
        viewset.require(CHANGE, service)
        services.mail_service_sync(actor=request.user, service=service)
    body = SyncSerializer(service).data
    return Response(body, status=202 if request.method == "POST" else 200)


def register(router):
    router.register("mail-services", MailServiceViewSet, basename="mail-service")
