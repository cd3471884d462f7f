"""The audit log's FilterSet, shared by the page and the API."""
import django_filters

from manager.accounts.models import Organisation

from .models import AuditEntry


def _visible_organisations(request):
    # Choice fields go through the gate too: no other organisation in the options.
    if request is None:
        return Organisation.objects.none()
    return Organisation.objects.restrict(request.user, "view")


class AuditEntryFilter(django_filters.FilterSet):
    organisation = django_filters.ModelChoiceFilter(queryset=_visible_organisations)
    since = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="lt")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains")
    q = django_filters.CharFilter(field_name="object_repr", lookup_expr="icontains")

    class Meta:
        model = AuditEntry
        fields = ["action", "object_type", "object_id", "request_id", "verb"]
