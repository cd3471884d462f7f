"""django-filter FilterSets of the mail lists, shared by the pages and the API (NetBox):
the API's filter and the page's differ only in labels and widgets."""
from datetime import datetime, timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .models import CATCHALL_LOCAL_PART, Address, DeliveryEvent, MailService


class MailServiceFilter(django_filters.FilterSet):
    domain = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = MailService
        fields = ["organisation", "plan", "backend_host"]


# The address list's orderings. Each walks an index of Address in order (models.py): the
# rows are grouped by mail service first, so a page never sorts the whole table.
ADDRESS_ORDERINGS = {
    "email": ("mail_service_id", "local_part"),
    "-email": ("-mail_service_id", "-local_part"),
    "created": ("mail_service_id", "created", "id"),
    "-created": ("-mail_service_id", "-created", "-id"),
}


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A whole-number id compared as such: no query to find the row it names first."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)  # a bigint: larger is a 400, not a DataError
        super().__init__(*args, **kwargs)


class AddressFilter(django_filters.FilterSet):
    """`search` and `q` are the same filter (`search` is DRF's usual name); `ordering`
    picks one of ADDRESS_ORDERINGS (default `email`: by mail service, then local part).
    `mail_service` is compared as an id: a service the gate hides lists nothing, like one
    that does not exist (looking it up first cost a query, and told which ids exist)."""

    mail_service = IdFilter(field_name="mail_service_id", label="Mail service")

    # This class's filters are the same for every request, so the form class they make is
    # made once (django-filter makes a new class per request). Only for a class that says
    # so itself: a subclass whose choices depend on the request (the page's services of
    # the current organisation) must keep a form class per request.
    form_class_made_once = True

    def get_form_class(self):
        if not type(self).__dict__.get("form_class_made_once"):
            return super().get_form_class()
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    search = django_filters.CharFilter(method="filter_search",
                                       label="Search local part or display name")
    q = django_filters.CharFilter(method="filter_search",
                                  label="Search local part or display name (same as search)")
    catchall = django_filters.BooleanFilter(method="filter_catchall")
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", choices=[(key, key) for key in ADDRESS_ORDERINGS],
        label="Order: email (by mail service, then local part) or created; - reverses")

    class Meta:
        model = Address
        fields = ["mail_service", "enabled", "sieve_mode"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(local_part__icontains=value) | Q(display_name__icontains=value))

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*ADDRESS_ORDERINGS[value])

    def filter_catchall(self, queryset, name, value):
        if value:
            return queryset.filter(local_part=CATCHALL_LOCAL_PART)
        return queryset.exclude(local_part=CATCHALL_LOCAL_PART)


def services_of_current_organisation(request):
    """The mail services the filter's select offers: the current organisation's only."""
    if request is None or request.organisation is None:
        return MailService.objects.none()
    return MailService.objects.restrict(request.user, "view").filter(organisation=request.organisation)


ENABLED_CHOICES = [("", _("All")), ("true", _("Enabled")), ("false", _("Disabled"))]


class AddressListFilter(AddressFilter):
    """The API's address filter with labels and choices for the page."""

    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    search = None
    ordering = None
    mail_service = django_filters.ModelChoiceFilter(
        queryset=services_of_current_organisation, label=_("Mail service"),
        empty_label=_("All services"))
    enabled = django_filters.BooleanFilter(label=_("Status"),
                                           widget=forms.Select(choices=ENABLED_CHOICES))


class DeliveryEventFilter(django_filters.FilterSet):
    """The delivery log's search (page and API): parts of the sender, the recipient (or
    the address it was first sent to) and the subject, the exact Message-ID (with or
    without its angle brackets), the status and direction, and a range of days in the
    current time zone (both days included)."""

    sender = django_filters.CharFilter(lookup_expr="icontains", label=_("Sender"))
    recipient = django_filters.CharFilter(method="filter_recipient", label=_("Recipient"))
    subject = django_filters.CharFilter(lookup_expr="icontains", label=_("Subject"))
    message_id = django_filters.CharFilter(method="filter_message_id", label=_("Message-ID"))
    status = django_filters.ChoiceFilter(choices=DeliveryEvent.Status.choices, label=_("Status"),
                                         empty_label=_("All"))
    direction = django_filters.ChoiceFilter(choices=DeliveryEvent.Direction.choices,
                                            label=_("Direction"), empty_label=_("All"))
    date_from = django_filters.DateFilter(method="filter_date_from", label=_("From"),
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(method="filter_date_to", label=_("To"),
                                        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = DeliveryEvent
        fields = ["queue_id"]

    def filter_recipient(self, queryset, name, value):
        return queryset.filter(Q(recipient__icontains=value) | Q(original_recipient__icontains=value))

    def filter_message_id(self, queryset, name, value):
        value = value.strip().strip("<>")
        return queryset.filter(message_id__in=[f"<{value}>", value])

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(time__gte=_day_start(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(time__lt=_day_start(value + timedelta(days=1)))


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
