"""API: the delivery log — `addresses/{id}/delivery-log/` (the address's managers and its
users with "read") and `mail-services/{id}/delivery-log/` (the organisation's managers)."""
from rest_framework import mixins, serializers, viewsets

from manager.core.api import ParentScopedMixin
from manager.core.serializers import ModelSerializer

from .. import selectors
from ..filters import DeliveryEventFilter
from ..models import Address, DeliveryEvent
from .addresses import AddressScopedMixin


class EventAddressSerializer(ModelSerializer):
    email = serializers.EmailField(read_only=True)

    class Meta:
        model = Address
        fields = ["id", "email"]


class DeliveryEventSerializer(ModelSerializer):
    """One (message, recipient) of the delivery log, newest first. `status`: accepted (a
    message the address sent was queued), rejected (refused during the SMTP dialogue:
    `dsn` and `reason` say why), delivered (`folder` and `sieve_action` say where and
    by which filter), forwarded (an alias or redirection to another server, or a filter's
    redirect), sent (handed to another server), deferred (a temporary failure, tried
    again), bounced (a permanent failure, the sender is told). `direction`: `in` (mail
    for the address), `out` (sent by an address, through submission: `sasl_username`).
    `original_recipient` is the alias or redirected address the mail was sent to.
    `address` is the address the mail was for, `sender_address` the one that sent it
    (null when not one of ours). Times are the mail server's, with its zone."""

    address = EventAddressSerializer(read_only=True, allow_null=True)
    sender_address = EventAddressSerializer(read_only=True, allow_null=True)

    class Meta:
        model = DeliveryEvent
        fields = ["id", "time", "status", "direction", "queue_id", "message_id", "subject",
                  "sender", "recipient", "original_recipient", "sasl_username", "size", "dsn",
                  "reason", "relay", "folder", "sieve_action", "mail_service", "address",
                  "sender_address"]
        read_only_fields = fields


class DeliveryLogViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = DeliveryEventSerializer
    filterset_class = DeliveryEventFilter
    queryset = DeliveryEvent.objects.none()  # the model, for the schema


class AddressDeliveryLogViewSet(AddressScopedMixin, DeliveryLogViewSet):
    """The address's delivery log: what it received and what it sent in the last days
    (`DELIVERY_LOG_DAYS`), searchable. Needs the "read" permission on the address
    (organisation managers may always); another organisation's address is a 404."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "address_pk" in self.kwargs:
            self.events = selectors.delivery_log_of_address(request.user, self.address())

    def get_queryset(self):
        return self.events


class MailServiceDeliveryLogViewSet(ParentScopedMixin, DeliveryLogViewSet):
    """Every event of the mail service, unknown recipients included: for the
    organisation's owners, legal representatives and administrators (a 404 for others)."""

    parent_kwarg = "service_pk"

    def parent(self):
        if not hasattr(self, "_service"):
            self._service = selectors.mail_service_for(self.request.user, self.kwargs["service_pk"])
        return self._service

    def get_queryset(self):
        return selectors.delivery_log_of_service(self.request.user, self.parent())


def register(router):
    router.register(r"addresses/(?P<address_pk>\d+)/delivery-log", AddressDeliveryLogViewSet,
                    basename="address-delivery-log")
    router.register(r"mail-services/(?P<service_pk>\d+)/delivery-log",
                    MailServiceDeliveryLogViewSet, basename="mail-service-delivery-log")
