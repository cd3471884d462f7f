"""Forms of the mail pages: they parse input; the services decide. Choice fields list only
what the permission gate lets the person see."""
import zoneinfo

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from manager.accounts.models import User
from manager.core.errors import ServiceError

from . import limits
from .models import CATCHALL_LOCAL_PART, DevicePassword, MailService, Permission, SortingRule
from .plans import PLAN_CHOICES
from .selectors import own_addresses
from .services import check_message_size
from .validators import time_zone_names

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
    """The auto-reply of an address. Its period is entered in the time zone the browser
    gives (the hidden `autoreply_time_zone`, kept with the auto-reply so it is shown the
    same way later; the server's TIME_ZONE without one) and stored in UTC."""

    DATETIME_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows

    autoreply_enabled = forms.BooleanField(label=_("Send an automatic reply"), required=False)
    autoreply_start = forms.DateTimeField(
        label=_("Start"), required=False, input_formats=[DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local"}),
        help_text=_("Leave empty to start now."))
    autoreply_end = forms.DateTimeField(
        label=_("End"), required=False, input_formats=[DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local"}),
        help_text=_("Leave empty to answer until you turn it off."))
    autoreply_subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    autoreply_body = forms.CharField(label=_("Message"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 4}))
    autoreply_days = forms.IntegerField(
        label=_("Days between two replies to the same sender"), required=False,
        min_value=limits.AUTOREPLY_DAYS_MIN, max_value=limits.AUTOREPLY_DAYS_MAX)
    autoreply_addresses = forms.MultipleChoiceField(
        label=_("Also answer mail sent to"), required=False, widget=forms.CheckboxSelectMultiple)
    autoreply_time_zone = forms.CharField(
        required=False, max_length=64,
        widget=forms.HiddenInput(attrs={"data-browser-time-zone": ""}))

    def __init__(self, *args, address, **kwargs):
        super().__init__(*args, **kwargs)
        self.address = address
        aliases = own_addresses(address)[1:]
        field = self.fields["autoreply_addresses"]
        if aliases:
            field.choices = [(a, a) for a in aliases]
            field.help_text = _("Mail sent to %(email)s is always answered. While every alias is "
                                "ticked, aliases added later are answered for too.") % {
                                    "email": address.email}
        else:
            del self.fields["autoreply_addresses"]
        if not self.is_bound:
            self.initial = self.stored_values(aliases)

    def stored_values(self, aliases) -> dict:
        """The address's auto-reply as the fields show it: the period as wall-clock times in
        its time zone."""
        address, zone = self.address, self.time_zone()
        values = {name: getattr(address, name) for name in (
            "autoreply_enabled", "autoreply_subject", "autoreply_body", "autoreply_days")}
        for name in ("autoreply_start", "autoreply_end"):
            moment = getattr(address, name)
            values[name] = timezone.localtime(moment, zone).replace(tzinfo=None) if moment else None
        chosen = address.autoreply_addresses
        values["autoreply_addresses"] = aliases if chosen is None else [
            a for a in aliases if a.lower() in {c.lower() for c in chosen}]
        # A period already stored keeps the zone it is shown in; the browser fills an empty one.
        has_period = address.autoreply_start or address.autoreply_end
        values["autoreply_time_zone"] = address.autoreply_time_zone or (
            settings.TIME_ZONE if has_period else "")
        return values

    @property
    def zone_name(self) -> str:
        """The zone named next to the fields; "" until the browser gives one."""
        return self["autoreply_time_zone"].value() or ""

    def time_zone(self) -> zoneinfo.ZoneInfo:
        """The zone the period is read and shown in: the one posted (the browser's), else
        the one stored with the auto-reply, else the server's."""
        names = [self.data.get("autoreply_time_zone", "") if self.is_bound else "",
                 self.address.autoreply_time_zone, settings.TIME_ZONE]
        for name in names:
            if name and name in time_zone_names():
                return zoneinfo.ZoneInfo(name)
        return zoneinfo.ZoneInfo("UTC")

    def full_clean(self):
        # The wall-clock times typed are in that zone (Django reads naive input in the
        # current one, and refuses a time that does not exist there or exists twice).
        with timezone.override(self.time_zone()):
            super().full_clean()

    def clean(self):
        cleaned = super().clean()
        cleaned["autoreply_time_zone"] = self.time_zone().key
        if cleaned.get("autoreply_days") is None:
            cleaned.pop("autoreply_days", None)  # left empty: the interval stays as it is
        if "autoreply_addresses" in self.fields:
            chosen = cleaned.get("autoreply_addresses") or []
            every = [value for value, _label in self.fields["autoreply_addresses"].choices]
            cleaned["autoreply_addresses"] = None if set(chosen) == set(every) else chosen
        else:
            cleaned.pop("autoreply_addresses", None)  # no alias: keep what is stored
        return cleaned


class AliasForm(forms.Form):
    local_part = forms.CharField(label=_("Alias (part before the @)"), max_length=64)


class RedirectionForm(forms.Form):
    target = forms.CharField(label=_("Redirect to"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    keep_copy = forms.BooleanField(label=_("Keep a copy in this mailbox"), required=False,
                                   initial=True)


# --- Users of an address ---------------------------------------------------------------

def permission_field(label=None, **kwargs):
    return forms.MultipleChoiceField(label=label or _("Permissions"), choices=Permission.choices,
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
    email = forms.EmailField(label=_("E-mail of the person"),
                             help_text=_("Only this e-mail address can accept: the person logs in "
                                         "with it, or creates their account with it."))
    permissions = permission_field()
    send = forms.BooleanField(label=_("Send the link by e-mail"), required=False, initial=True)

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
    my_permissions = permission_field(label=_("Your permissions on this address"),
                                      help_text=_("You become a user of the address with these "
                                                  "permissions, then get your password."))

    def __init__(self, *args, address, users=None, add_me=False, **kwargs):
        """`users`: the other users of the address an administrator may create a password
        for (None: a person creates passwords for themselves only). `add_me`: the
        administrator is not a user of the address yet; "myself" then adds them first,
        with `my_permissions`."""
        super().__init__(*args, **kwargs)
        self.add_me = add_me
        if users is None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = users
            if add_me:
                self.fields["user"].empty_label = _("Myself (add me as a user of this address)")
        if add_me:
            self.fields["my_permissions"].initial = default_permissions(address)
        else:
            del self.fields["my_permissions"]

    def adds_me(self, cleaned_data) -> bool:
        return self.add_me and cleaned_data.get("user") is None


# --- Sorting rules ---------------------------------------------------------------------

FIELD_CHOICES = [
    ("", "—"), ("from", _("From")), ("to", _("To")), ("cc", _("Cc")),
    ("subject", _("Subject")), ("reply_to", _("Reply-To")),
    ("size", _("Size")), ("body", _("Message body")),
    ("email_type", _("E-mail type")),
]
OPERATOR_CHOICES = [
    ("contains", _("contains")), ("not_contains", _("does not contain")),
    ("is", _("is")), ("is_not", _("is not")),
    ("matches", _("matches (wildcards * ?)")), ("regex", _("matches the regex")),
    ("exists", _("exists")), ("over", _("greater than")),
    ("under", _("less than")),
]
ACTION_CHOICES = [
    ("", "—"), ("move", _("Move to folder")), ("copy", _("Copy to folder")),
    ("forward", _("Forward to")), ("delete", _("Delete")),
    ("mark_read", _("Mark as read")), ("flag", _("Flag")),
    ("stop", _("Stop processing further rules")),
]
EXTRA_ROWS = 1  # one empty row to type into; "Add a condition" / "Add an action" for more


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    match = forms.ChoiceField(label=_("Apply when"), choices=SortingRule.Match.choices)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)


class ConditionRow(forms.Form):
    field = forms.ChoiceField(label=_("Field"), choices=FIELD_CHOICES, required=False)
    operator = forms.ChoiceField(label=_("Operator"), choices=OPERATOR_CHOICES,
                                 required=False)
    value = forms.CharField(label=_("Value"), required=False, strip=False)


class ActionRow(forms.Form):
    kind = forms.ChoiceField(label=_("Action"), choices=ACTION_CHOICES, required=False)
    argument = forms.CharField(label=_("Folder or address"), required=False)
    keep_copy = forms.BooleanField(label=_("Keep a copy"), required=False)


ConditionRows = forms.formset_factory(ConditionRow, extra=EXTRA_ROWS)
ActionRows = forms.formset_factory(ActionRow, extra=EXTRA_ROWS)


class UploadForm(forms.Form):
    message = forms.FileField(label=_("E-mail (.eml)"), required=False)
    headers = forms.CharField(label=_("Or paste its headers"), required=False,
                              widget=forms.Textarea(attrs={"rows": 6}))

    def message_bytes(self) -> bytes | None:
        """The uploaded .eml or the pasted headers (after `is_valid()`); None with the error
        on the form when there is neither or the file is too large."""
        upload = self.cleaned_data.get("message")
        if upload is not None:
            try:
                check_message_size(upload.size)
            except ServiceError as exc:
                self.add_error("message", exc.message)
                return None
            return upload.read()
        if self.cleaned_data.get("headers", "").strip():
            return self.cleaned_data["headers"].encode("utf-8", "replace")
        self.add_error("message", _("Upload an .eml file or paste its headers."))
        return None


class AdvancedForm(forms.Form):
    script = forms.CharField(label=_("Sieve script"), required=False, strip=False,
                             widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false",
                                                          "class": "code"}))


def rule_forms(data=None, rule: dict | None = None):
    """The rule form and its condition / action rows, bound to POST data or filled from a rule."""
    if data is not None:
        return RuleForm(data), ConditionRows(data, prefix="cond"), ActionRows(data, prefix="act")
    rule = rule or {}
    initial = {"name": rule.get("name", ""), "match": rule.get("match", "all"),
               "enabled": rule.get("enabled", True)}
    return (RuleForm(initial=initial),
            ConditionRows(initial=list(rule.get("conditions") or []), prefix="cond"),
            ActionRows(initial=list(rule.get("actions") or []), prefix="act"))


ROW_SETS = {"conditions": ("cond", ConditionRow), "actions": ("act", ActionRow)}
MAX_ROWS = limits.ACTIONS_PER_RULE  # "Add" stops there


def posted_rows(data, prefix: str, row_form) -> list[dict]:
    """The rows of one posted formset as {field: raw value} (absent keys stay absent: an
    unticked checkbox is not posted)."""
    try:
        total = max(0, min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), ConditionRows.max_num))
    except ValueError:
        total = 0
    return [{name: data[f"{prefix}-{index}-{name}"] for name in row_form.base_fields
             if f"{prefix}-{index}-{name}" in data} for index in range(total)]


def rule_forms_edited(data, change: str):
    """The posted rule form after "add a row" (`change` = "add:conditions") or "remove a
    row" ("remove:actions:1"): what was typed is kept, the rows after a removed one move
    up and the management form's counts follow. Returns (form, conditions, actions, kind
    of the changed rows), the form unbound (no "required" errors for a rule being written);
    None if `change` is not such a change."""
    operation, _sep, rest = change.partition(":")
    kind, _sep, index = rest.partition(":")
    if kind not in ROW_SETS or operation not in ("add", "remove"):
        return None
    prefix, row_form = ROW_SETS[kind]
    rows = posted_rows(data, prefix, row_form)
    added = operation == "add" and len(rows) < MAX_ROWS  # at the limit, the rows stay as they are
    if added:
        rows.append({})
    elif operation == "remove":
        if not (index.isdigit() and int(index) < len(rows)):
            return None
        del rows[int(index)]
    data = data.copy()
    for key in [k for k in data if k.startswith(f"{prefix}-")]:
        del data[key]
    for position, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{position}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"], data[f"{prefix}-INITIAL_FORMS"] = str(len(rows)), "0"
    form = RuleForm(initial={"name": data.get("name", ""), "match": data.get("match") or "all",
                             "enabled": bool(data.get("enabled"))})
    conditions, actions = ConditionRows(data, prefix="cond"), ActionRows(data, prefix="act")
    changed = conditions if kind == "conditions" else actions
    if added:  # the cursor goes to the new row
        new_row = changed.forms[-1]
        new_row.fields[next(iter(new_row.fields))].widget.attrs["autofocus"] = True
    return form, conditions, actions, kind


def rule_summary(rule: SortingRule) -> dict:
    """A stored rule in words for the rule list ("From contains x", "Move to folder y")."""
    fields, operators, kinds = dict(FIELD_CHOICES), dict(OPERATOR_CHOICES), dict(ACTION_CHOICES)
    return {
        "conditions": [f"{fields.get(c.get('field'), c.get('field'))} {operators.get(c.get('operator'), '')}"
                       f" {c.get('value', '') if c.get('operator') != 'exists' else ''}".strip()
                       for c in rule.conditions],
        "actions": [f"{kinds.get(a.get('kind'), a.get('kind'))} {a.get('argument', '')}".strip()
                    for a in rule.actions],
    }


def add_rule_errors(form, conditions, actions, error: ServiceError):
    """Put the service's field errors ("conditions.0.value") on the rows they concern."""
    rows = {"conditions": conditions, "actions": actions}
    for key, messages_ in error.fields.items():
        parts = key.split(".")
        if parts[0] in rows and len(parts) == 3 and int(parts[1]) < len(rows[parts[0]]):
            row = rows[parts[0]][int(parts[1])]
            if parts[2] in row.fields:
                for message in messages_:
                    row.add_error(parts[2], message)
                continue
        if parts[0] in form.fields and len(parts) == 1:
            for message in messages_:
                form.add_error(parts[0], message)
            continue
        for message in messages_:
            form.add_error(None, f"{key}: {message}" if key not in ("conditions", "actions")
                           else message)
    if not error.fields:
        form.add_error(None, error.message)


SUGGESTED_FIELDS = ("to", "cc")


def chosen_suggestions(data) -> list[dict]:
    """The "To/Cc contains <recipient>" conditions ticked on a form pre-filled from an e-mail
    (checkboxes `suggested` = "to:<address>")."""
    chosen = []
    for item in data.getlist("suggested"):
        field, _sep, value = item.partition(":")
        condition = {"field": field, "operator": "contains", "value": value}
        if field in SUGGESTED_FIELDS and value and condition not in chosen:
            chosen.append(condition)
    return chosen
