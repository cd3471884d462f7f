"""Delivery log pages: an address's (its managers, its users with "read") and a mail
service's (the organisation's managers), searchable; htmx swaps the results only."""
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.urls import path

from manager.core.errors import ServiceError
from manager.core.views import RestrictedView, htmx_render

from .. import selectors
from ..filters import DeliveryEventFilter
from ..models import Address, MailService
from .addresses import AddressMixin

PAGE_SIZE = 50


class DeliveryLogMixin:
    template = "mailservice/deliveryevent_list.html"
    partial = "mailservice/_deliveryevent_table.html"

    def answer(self, request, events, **context):
        filterset = DeliveryEventFilter(request.GET, queryset=events)
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return htmx_render(request, self.template, {
            "filter": filterset, "page": page, "rows": page.object_list,
            "query": query.urlencode(), "days": settings.DELIVERY_LOG_DAYS, **context,
        }, partial=self.partial)


class AddressDeliveryLogView(DeliveryLogMixin, AddressMixin, RestrictedView):
    """`mail/addresses/<id>/delivery-log/`."""

    model = Address

    def get(self, request, pk):
        address = self.get_address(pk)
        try:
            events = selectors.delivery_log_of_address(request.user, address)
        except ServiceError as exc:
            raise PermissionDenied(exc.message) from exc
        return self.answer(request, events, address=address, service=address.mail_service)


class MailServiceDeliveryLogView(DeliveryLogMixin, RestrictedView):
    """`mail/services/<id>/delivery-log/`."""

    model = MailService

    def get(self, request, pk):
        service = selectors.mail_service_for(request.user, pk)
        try:
            events = selectors.delivery_log_of_service(request.user, service)
        except ServiceError as exc:
            raise PermissionDenied(exc.message) from exc
        return self.answer(request, events, service=service, address=None)


urlpatterns = [
    path("mail/addresses/<int:pk>/delivery-log/", AddressDeliveryLogView.as_view(),
         name="address_delivery_log"),
    path("mail/services/<int:pk>/delivery-log/", MailServiceDeliveryLogView.as_view(),
         name="service_delivery_log"),
]
