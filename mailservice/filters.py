"""django-filter FilterSets of the mail lists, shared by the pages and the API (NetBox):
the API's filter and the page's differ only in labels and widgets."""
import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import CATCHALL_LOCAL_PART, Address, MailService


class MailServiceFilter(django_filters.FilterSet):
    domain = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = MailService
        fields = ["organisation", "plan", "backend_host"]


class AddressFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search local part or display name")
    catchall = django_filters.BooleanFilter(method="filter_catchall")

    class Meta:
        model = Address
        fields = ["mail_service", "enabled", "sieve_mode"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(local_part__icontains=value) | Q(display_name__icontains=value))

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

    q = django_filters.CharFilter(method="search", label=_("Search"))
    mail_service = django_filters.ModelChoiceFilter(
        queryset=services_of_current_organisation, label=_("Mail service"),
        empty_label=_("All services"))
    enabled = django_filters.BooleanFilter(label=_("Status"),
                                           widget=forms.Select(choices=ENABLED_CHOICES))
