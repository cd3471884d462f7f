"""API: addresses (`addresses/`), their aliases and redirections."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from manager.core.api import (
    FixedAfterCreationMixin,
    ParentScopedMixin,
    RestrictedViewSet,
    ServiceModelViewSet,
)
from manager.core.serializers import (
    FieldsBuiltOnceMixin,
    GatedPrimaryKeyRelatedField,
    ModelSerializer,
    ReadPlanMixin,
)

from .. import limits, permissions, selectors, services
from ..filters import ADDRESS_ORDERINGS, AddressFilter
from ..models import Address, Alias, MailService, Permission, Redirection
from .bulk import AddressBulkMixin
from .removal import RemovedAddressSerializer, RestoreMixin
from .sync import SyncContextMixin, SyncStatusMixin

MANAGERS_ONLY = "managers"


class AddressSerializer(ReadPlanMixin, FieldsBuiltOnceMixin, FixedAfterCreationMixin,
                        SyncStatusMixin, ModelSerializer):
    """An address (mailbox) of a mail service. `mail_service` and `local_part` are set at
    creation and fixed afterwards (a different value is 400 `read_only`); `sync_*` tell
    whether the backend serves the latest change; `sieve_sync_error` tells why the mail
    server does not run the address's current filters (refused before activation, or put
    aside after they stopped delivery), empty when it runs them."""

    fixed_after_creation = ("mail_service", "local_part")

    mail_service = GatedPrimaryKeyRelatedField(MailService)
    # Length and characters are checked by the service, which gives the RFC 5321 reason.
    local_part = serializers.CharField(max_length=254, allow_blank=True)
    email = serializers.EmailField(read_only=True)
    is_catchall = serializers.BooleanField(read_only=True)
    sieve_sync_error = serializers.CharField(read_only=True)
    sieve_sync_error_at = serializers.DateTimeField(source="sieve_failure_at", read_only=True,
                                                    allow_null=True)
    autoreply_start = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="The first moment the auto-reply answers (ISO 8601 with its offset; stored in "
                  "UTC). Null: from now on.")
    autoreply_end = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="The first moment it no longer answers; after the start, and not in the past "
                  "while the auto-reply is enabled. Null: until it is turned off.")
    autoreply_days = serializers.IntegerField(
        required=False, min_value=limits.AUTOREPLY_DAYS_MIN, max_value=limits.AUTOREPLY_DAYS_MAX,
        help_text="One reply per sender within this many days (Sieve vacation `:days`).")
    autoreply_addresses = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, allow_null=True,
        help_text="The aliases it answers for besides the address itself, which is always "
                  "answered for; only the address's own aliases. Null: all of them, aliases "
                  "added later included.")
    autoreply_time_zone = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text="The time zone (IANA name) the pages show the period in; empty: the "
                  "server's.")
    quota_used_mb = serializers.FloatField(
        read_only=True, allow_null=True,
        help_text="The space the mailbox uses, in MB (to 1/100), as the mail server last "
                  "reported it; null until its first report. Set by the periodic quota "
                  "report, never by a request. The mail server refuses mail beyond `quota_mb` "
                  "(552 5.2.2, a bounce to the sender).")
    quota_used_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="When the mail server reported `quota_used_mb`.")
    autoreply_state = serializers.ChoiceField(
        choices=Address.AutoReplyState.choices, read_only=True,
        help_text="What the auto-reply does now: `active` (enabled and inside its period), "
                  "`scheduled` (its period starts later), `ended` (its period is over) or "
                  "`off` (disabled, or the address is disabled or runs an advanced script).")

    class Meta:
        model = Address
        fields = ["id", "mail_service", "local_part", "email", "display_name", "quota_mb",
                  "quota_used_mb", "quota_used_at", "enabled", "is_catchall", "sieve_mode", "autoreply_enabled", "autoreply_subject",
                  "autoreply_body", "autoreply_start", "autoreply_end", "autoreply_days",
                  "autoreply_addresses", "autoreply_time_zone", "autoreply_state", "created", "sync_status", "sync_error", "last_applied",
                  "sieve_sync_error", "sieve_sync_error_at"]
        read_only_fields = ["id", "created", "sieve_mode"]
        extra_kwargs = {"local_part": {"validators": []}}
        # The service decides whether a local part is free (409 local_part_taken, whatever
        # the case of the letters); the model's unique constraint must not answer first.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["mail_service"].read_only = True
            fields["local_part"].read_only = True
        return fields


# A paginated list, like the resource's own list.
@extend_schema_view(removed=extend_schema(responses=RemovedAddressSerializer(many=True)))
class AddressViewSet(AddressBulkMixin, RestoreMixin, SyncContextMixin, ServiceModelViewSet):
    """Addresses (mailboxes). Writes need an organisation manager role; the auto-reply
    fields may also be changed by users of the address with that permission. DELETE
    removes the address at once but keeps its mail for MAIL_REMOVAL_GRACE_DAYS: until
    then it is listed in `removed/` and `restore/` brings it back."""

    queryset = Address.objects.all()
    serializer_class = AddressSerializer
    filterset_class = AddressFilter
    action_map_to_permission = {"create": "add", "destroy": "delete"}  # update: the service decides
    removed_serializer_class = RemovedAddressSerializer
    removed_related = ("mail_service",)

    def restore_service(self, actor, obj):
        return services.address_restore(actor=actor, address=obj)

    def get_queryset(self):
        if self.action in self.removal_actions:
            return super().get_queryset()
        # The default order is an index's (filters.ADDRESS_ORDERINGS); `ordering` may
        # pick another. A page reads its services apart: with no join, the planner walks
        # the address index in order and stops at the page's end.
        queryset = super().get_queryset().order_by(*ADDRESS_ORDERINGS["email"])
        if self.action == "list":
            return queryset.prefetch_related("mail_service")
        return queryset.select_related("mail_service")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.address_create(
            actor=self.request.user, service=data["mail_service"], local_part=data["local_part"],
            display_name=data.get("display_name", ""), quota_mb=data.get("quota_mb"),
            enabled=data.get("enabled", True))

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items()
                if k not in ("mail_service", "local_part")}
        serializer.instance = services.address_update(actor=self.request.user,
                                                      address=serializer.instance, **data)

    def perform_destroy(self, instance):
        services.address_delete(actor=self.request.user, address=instance)


class AddressScopedMixin(ParentScopedMixin):
    """For resources under `addresses/{id}/`: the address goes through the gate first
    (another organisation's address is a 404), before the request body is read."""

    parent_kwarg = "address_pk"

    def parent(self):
        return self.address()

    def address(self):
        if not hasattr(self, "_address"):
            self._address = selectors.address_for(self.request.user, self.kwargs["address_pk"])
        return self._address


class AddressChildViewSet(AddressScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                          mixins.RetrieveModelMixin, mixins.DestroyModelMixin, RestrictedViewSet):
    """CRUD-style resources under `addresses/{id}/`. `address_gate`: who may use the
    resource at all, once the address is visible — `MANAGERS_ONLY`, a tuple of
    permissions (any one of them), or None when the services decide per action."""

    address_gate = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.address_gate == MANAGERS_ONLY:
            permissions.require_manager(request.user, self.address())
        elif self.address_gate:
            permissions.require_any(request.user, self.address(), self.address_gate)

    def get_queryset(self):
        return self.queryset.model.objects.filter(address=self.address())

    def check_object_permissions(self, request, obj):
        pass  # the services check roles and per-address permissions

    def created(self, serializer_class, instance):
        return Response(serializer_class(instance, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


class AliasSerializer(ModelSerializer):
    email = serializers.SerializerMethodField()

    class Meta:
        model = Alias
        fields = ["id", "local_part", "email", "created"]
        read_only_fields = ["id", "created"]
        extra_kwargs = {"local_part": {"validators": []}}

    def get_email(self, obj) -> str:
        return str(obj)


class AliasViewSet(AddressChildViewSet):
    """Other local parts delivering to the address (organisation managers only)."""

    queryset = Alias.objects.all()
    address_gate = MANAGERS_ONLY
    serializer_class = AliasSerializer

    def get_queryset(self):
        return super().get_queryset().select_related("mail_service")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alias = services.alias_create(actor=request.user, address=self.address(),
                                      local_part=serializer.validated_data["local_part"])
        return self.created(AliasSerializer, alias)

    def perform_destroy(self, instance):
        services.alias_delete(actor=self.request.user, alias=instance)


class RedirectionSerializer(ModelSerializer):
    target = serializers.CharField(max_length=254)

    class Meta:
        model = Redirection
        fields = ["id", "target", "keep_copy", "created"]
        read_only_fields = ["id", "created"]


class RedirectionViewSet(AddressChildViewSet):
    """Forward the address's mail elsewhere, keeping a copy or not. Loops are refused.
    Needs "manage redirections" (organisation managers may always)."""

    queryset = Redirection.objects.all()
    address_gate = (Permission.MANAGE_REDIRECTIONS,)
    serializer_class = RedirectionSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redirection = services.redirection_create(
            actor=request.user, address=self.address(), target=serializer.validated_data["target"],
            keep_copy=serializer.validated_data.get("keep_copy", True))
        return self.created(RedirectionSerializer, redirection)

    def perform_destroy(self, instance):
        services.redirection_delete(actor=self.request.user, redirection=instance)


def register(router):
    router.register("addresses", AddressViewSet, basename="address")
    router.register(r"addresses/(?P<address_pk>\d+)/aliases", AliasViewSet, basename="alias")
    router.register(r"addresses/(?P<address_pk>\d+)/redirections", RedirectionViewSet,
                    basename="redirection")
