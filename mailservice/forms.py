"""Forms of the mail pages: they parse input; the services decide. Choice fields list only
what the permission gate lets the person see."""
import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from manager.accounts.models import User

from .api.addresses import AddressFilter
from .models import CATCHALL_LOCAL_PART, DevicePassword, MailService, Permission
from .plans import PLAN_CHOICES


def add_service_errors(form, error):
    """Put a ServiceError's field errors on the form fields they name."""
    for field, messages in error.fields.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


# --- Mail services ---------------------------------------------------------------------

class MailServiceCreateForm(forms.Form):
    domain = forms.CharField(label=_("Domain"), max_length=253,
                             widget=forms.TextInput(attrs={"placeholder": "domain.xyz"}))
    plan = forms.ChoiceField(label=_("Plan"), choices=PLAN_CHOICES)
    capacity = forms.IntegerField(
        label=_("Addresses bought"), min_value=1, required=False,
        help_text=_("For plans sold per offer or in packs (Premium: packs of 5, 5 minimum). "
                    "Leave empty for the plan's default."))


class MailServicePlanForm(forms.Form):
    plan = forms.ChoiceField(label=_("Plan"), choices=PLAN_CHOICES)
    capacity = forms.IntegerField(label=_("Addresses bought"), min_value=1, required=False)


# --- Addresses -------------------------------------------------------------------------

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


class AddressBulkForm(forms.Form):
    OPERATIONS = [("enable", _("Enable")), ("disable", _("Disable")), ("delete", _("Delete"))]

    operation = forms.ChoiceField(choices=OPERATIONS)
    selected = forms.ModelMultipleChoiceField(
        queryset=None, error_messages={"required": _("Select at least one address.")})

    def __init__(self, *args, addresses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selected"].queryset = addresses


class AddressCreateForm(forms.Form):
    local_part = forms.CharField(label=_("Address (part before the @)"), max_length=64)
    mail_service = forms.ModelChoiceField(label=_("Mail service"), queryset=None,
                                          empty_label=None)
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    quota_mb = forms.IntegerField(label=_("Quota (MB)"), min_value=1, required=False,
                                  help_text=_("Leave empty for the default (10 GB)."))
    catchall_understood = forms.BooleanField(
        label=_("I have read these warnings and still want a catchall address"), required=False)

    def __init__(self, *args, user, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        services = MailService.objects.restrict(user, "add")
        if organisation is not None:
            services = services.filter(organisation=organisation)
        else:
            services = services.none()
        self.fields["mail_service"].queryset = services

    def clean_local_part(self):
        return self.cleaned_data["local_part"].strip().lower()

    @property
    def is_catchall(self) -> bool:
        value = self.data.get("local_part") if self.is_bound else self.initial.get("local_part")
        return (value or "").strip().lower() == CATCHALL_LOCAL_PART

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("local_part") == CATCHALL_LOCAL_PART and not cleaned.get("catchall_understood"):
            self.add_error("catchall_understood",
                           _("Confirm that you have read the warnings about catchall addresses."))
        return cleaned


class AddressSettingsForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    quota_mb = forms.IntegerField(label=_("Quota (MB)"), min_value=1)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)


class AutoReplyForm(forms.Form):
    autoreply_enabled = forms.BooleanField(label=_("Send an automatic reply"), required=False)
    autoreply_subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    autoreply_body = forms.CharField(label=_("Message"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 4}))


class AliasForm(forms.Form):
    local_part = forms.CharField(label=_("Alias (part before the @)"), max_length=64)


class RedirectionForm(forms.Form):
    target = forms.CharField(label=_("Redirect to"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    keep_copy = forms.BooleanField(label=_("Keep a copy in this mailbox"), required=False,
                                   initial=True)


# --- Users of an address ---------------------------------------------------------------

def permission_field(**kwargs):
    return forms.MultipleChoiceField(label=_("Permissions"), choices=Permission.choices,
                                     widget=forms.CheckboxSelectMultiple, required=False, **kwargs)


def default_permissions(address) -> list[str]:
    if address.is_catchall:  # the catchall never sends
        return [Permission.READ]
    return [Permission.READ, Permission.SEND]


class AccessPermissionsForm(forms.Form):
    permissions = permission_field()


class AccessGrantForm(forms.Form):
    """Add an existing member of the address's organisation (never anyone else)."""

    user = forms.ModelChoiceField(label=_("Member"), queryset=None,
                                  error_messages={"required": _("Choose a member from the search.")})
    permissions = permission_field()

    def __init__(self, *args, address, **kwargs):
        kwargs.setdefault("auto_id", "grant_%s")  # shares its page with the invitation form
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = organisation_members(address)
        self.fields["permissions"].initial = default_permissions(address)


def organisation_members(address):
    return User.objects.filter(
        memberships__organisation_id=address.mail_service.organisation_id, is_active=True)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Personal e-mail (optional)"), required=False,
                             help_text=_("Where the link can be sent; it is never their login."))
    permissions = permission_field()
    send = forms.BooleanField(label=_("Send the link by e-mail"), required=False)

    def __init__(self, *args, address, **kwargs):
        kwargs.setdefault("auto_id", "invite_%s")
        super().__init__(*args, **kwargs)
        self.fields["permissions"].initial = default_permissions(address)


# --- Device passwords ------------------------------------------------------------------

class DevicePasswordForm(forms.Form):
    name = forms.CharField(label=_("Device or application"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. Work laptop")}))
    device_type = forms.ChoiceField(label=_("Device type"), choices=DevicePassword.DeviceType.choices,
                                    initial=DevicePassword.DeviceType.COMPUTER)
    user = forms.ModelChoiceField(label=_("For"), queryset=None, required=False,
                                  empty_label=_("Myself"))

    def __init__(self, *args, users=None, **kwargs):
        """`users`: the address's users an administrator may create a password for;
        None drops the field (a person creates passwords for themselves only)."""
        super().__init__(*args, **kwargs)
        if users is None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = users
