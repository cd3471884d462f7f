"""django-filter FilterSets of the DNS lists, shared by the pages and the API."""
import django_filters

from .models import Domain, Record


class DomainFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Domain
        fields = ["organisation", "uses_our_dns"]


class RecordFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(method="filter_name", label="Name contains")
    type = django_filters.ChoiceFilter(choices=Record.Type.choices)

    class Meta:
        model = Record
        fields = ["type"]

    def filter_name(self, queryset, name, value):
        return queryset.filter(name__icontains=value.strip().lower())
