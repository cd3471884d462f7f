"""Forms of the DNS pages: they parse input; the services decide."""
import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .filters import RecordFilter
from .models import Record
from .zone.records import TTL_MAX, TTL_MIN, VALUE_MAX_CHARS


class DomainCreateForm(forms.Form):
    name = forms.CharField(label=_("Domain"), max_length=253,
                           widget=forms.TextInput(attrs={"placeholder": "example.org"}))
    uses_our_dns = forms.BooleanField(
        label=_("Serve its zone with our DNS"), required=False, initial=True,
        help_text=_("Unticked: the domain's DNS is hosted elsewhere; we list the records to "
                    "create there and check them."))


class DomainSettingsForm(forms.Form):
    uses_our_dns = forms.BooleanField(label=_("Serve its zone with our DNS"), required=False)
    default_ttl = forms.IntegerField(label=_("Default TTL (seconds)"), min_value=TTL_MIN,
                                     max_value=TTL_MAX)


class RecordForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=253, required=False, initial="@",
        help_text=_("Relative to the zone: “www” for www in this zone, “@” for the zone itself."))
    type = forms.ChoiceField(label=_("Type"), choices=Record.Type.choices)
    ttl = forms.IntegerField(label=_("TTL"), required=False,
                             help_text=_("Seconds; empty for the zone's default."))
    value = forms.CharField(
        label=_("Value"), max_length=VALUE_MAX_CHARS,
        help_text=_("A host name without a final dot is relative to the zone: “mail” means mail "
                    "in this zone; write “mx1.example.net.” with the dot for another domain's "
                    "host."))

    def __init__(self, *args, prefix_id="", **kwargs):
        super().__init__(*args, **kwargs)
        if prefix_id:  # the inputs of an edit row belong to the row's form (HTML form=)
            for field in self.fields.values():
                field.widget.attrs["form"] = prefix_id

    def clean_name(self):
        return self.cleaned_data["name"] or "@"


class ZoneImportForm(forms.Form):
    zone_file = forms.CharField(label=_("Zone file"), required=False,
                                widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}))
    upload = forms.FileField(label=_("Or upload a zone file"), required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("upload")
        if upload is not None:
            try:
                data["zone_file"] = upload.read(2 * 1024 * 1024 + 1).decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("upload", _("The file is not UTF-8 text."))
        elif not data.get("zone_file", "").strip():
            self.add_error("zone_file", _("Paste the zone file or upload it."))
        return data


class RecordListFilter(RecordFilter):
    """The API's record filter with labels for the page."""

    name = django_filters.CharFilter(method="filter_name", label=_("Name contains"))
    type = django_filters.ChoiceFilter(choices=Record.Type.choices, label=_("Type"),
                                       empty_label=_("All types"))


class SynonymAddForm(forms.Form):
    """A domain of the same organisation to make a synonym of the page's domain; the
    service checks the preconditions and says which one is not met."""

    synonym = forms.ModelChoiceField(label=_("Domain"), queryset=None,
                                     empty_label=_("Choose a domain"))

    def __init__(self, *args, main, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["synonym"].queryset = queryset.filter(
            organisation_id=main.organisation_id).exclude(pk=main.pk).order_by("name")
        self.fields["synonym"].label_from_instance = lambda domain: domain.unicode_name
