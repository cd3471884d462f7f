"""Sorting-rule pages of an address: the rule list, the rule form (with the mailbox's
folders), a rule from a received e-mail, testing the rules on an .eml, advanced mode."""
import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from manager.core.errors import ServiceError
from manager.core.outbox import PushError
from manager.core.views import RestrictedView, done, htmx_render

from .. import rules_services
from ..access import may_on_address
from ..api.rules import MAX_MESSAGE_BYTES, lint_data, run_rule_test, sieve_download_response
from ..backends.base import BackendError
from ..models import Address, Permission
from ..rules_models import SortingRule
from ..rules_store import lint_for, to_rule
from ..sieve.message import prefill_from_message
from ..sieve.rules import FOLDER_ACTIONS

log = logging.getLogger(__name__)

FIELD_CHOICES = [
    ("", "—"), ("from", gettext_lazy("From")), ("to", gettext_lazy("To")), ("cc", gettext_lazy("Cc")),
    ("subject", gettext_lazy("Subject")), ("reply_to", gettext_lazy("Reply-To")),
    ("size", gettext_lazy("Size")), ("body", gettext_lazy("Message body")),
    ("email_type", gettext_lazy("E-mail type")),
]
OPERATOR_CHOICES = [
    ("contains", gettext_lazy("contains")), ("not_contains", gettext_lazy("does not contain")),
    ("is", gettext_lazy("is")), ("is_not", gettext_lazy("is not")),
    ("matches", gettext_lazy("matches (wildcards * ?)")), ("regex", gettext_lazy("matches the regex")),
    ("exists", gettext_lazy("exists")), ("over", gettext_lazy("greater than")),
    ("under", gettext_lazy("less than")),
]
ACTION_CHOICES = [
    ("", "—"), ("move", gettext_lazy("Move to folder")), ("copy", gettext_lazy("Copy to folder")),
    ("forward", gettext_lazy("Forward to")), ("delete", gettext_lazy("Delete")),
    ("mark_read", gettext_lazy("Mark as read")), ("flag", gettext_lazy("Flag")),
    ("stop", gettext_lazy("Stop processing further rules")),
]
EXTRA_ROWS = 2


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    match = forms.ChoiceField(label=gettext_lazy("Apply when"), choices=SortingRule.Match.choices)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False, initial=True)


class ConditionRow(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("Field"), choices=FIELD_CHOICES, required=False)
    operator = forms.ChoiceField(label=gettext_lazy("Operator"), choices=OPERATOR_CHOICES,
                                 required=False)
    value = forms.CharField(label=gettext_lazy("Value"), required=False, strip=False)


class ActionRow(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Action"), choices=ACTION_CHOICES, required=False)
    argument = forms.CharField(label=gettext_lazy("Folder or address"), required=False)
    keep_copy = forms.BooleanField(label=gettext_lazy("Keep a copy"), required=False)


ConditionRows = forms.formset_factory(ConditionRow, extra=EXTRA_ROWS)
ActionRows = forms.formset_factory(ActionRow, extra=EXTRA_ROWS)


class UploadForm(forms.Form):
    message = forms.FileField(label=gettext_lazy("E-mail (.eml)"), required=False)
    headers = forms.CharField(label=gettext_lazy("Or paste its headers"), required=False,
                              widget=forms.Textarea(attrs={"rows": 6}))


class AdvancedForm(forms.Form):
    script = forms.CharField(label=gettext_lazy("Sieve script"), required=False, strip=False,
                             widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false",
                                                          "class": "code"}))


def folders_of(address, rules=()) -> list[str]:
    """The mailbox's real folders; without a reachable backend, the folders the rules name."""
    try:
        from ..push import backend_for

        names = backend_for(address.mail_service.backend_host).list_folders(address.email)
    except (PushError, BackendError, OSError) as exc:
        log.info("folders of %s not available: %s", address.email, exc)
        names = []
    for rule in rules:
        for item in rule.actions or ():
            if item.get("kind") in FOLDER_ACTIONS and item.get("argument"):
                names.append(item["argument"])
    return sorted({n for n in names if n and n.upper() != "INBOX"}, key=str.lower)


def summary(rule: SortingRule) -> dict:
    fields, operators, kinds = dict(FIELD_CHOICES), dict(OPERATOR_CHOICES), dict(ACTION_CHOICES)
    return {
        "conditions": [f"{fields.get(c.get('field'), c.get('field'))} {operators.get(c.get('operator'), '')}"
                       f" {c.get('value', '') if c.get('operator') != 'exists' else ''}".strip()
                       for c in rule.conditions],
        "actions": [f"{kinds.get(a.get('kind'), a.get('kind'))} {a.get('argument', '')}".strip()
                    for a in rule.actions],
    }


class RulesMixin(RestrictedView):
    """The address through the gate (404), then the "manage rules" permission (403)."""

    model = Address

    def get_address(self, pk) -> Address:
        address = get_object_or_404(
            Address.objects.restrict(self.request.user, "view")
            .select_related("mail_service__organisation"), pk=pk)
        if not may_on_address(self.request.user, Permission.MANAGE_RULES, address):
            raise PermissionDenied(_("You may not manage the rules of this address."))
        return address

    def list_url(self, address):
        return reverse("mailservice:rule_list", args=[address.pk])


class RuleListView(RulesMixin):
    template = "mailservice/rules_list.html"
    partial = "mailservice/_rule_table.html"

    def context(self, address):
        rules = list(SortingRule.objects.filter(address=address).order_by("position", "pk"))
        warnings = lint_data(lint_for(address, [to_rule(r) for r in rules]))
        for position, rule in enumerate(rules, start=1):
            rule.summary = summary(rule)
            rule.warnings = [w for w in warnings if w["position"] == position]
        return {"address": address, "rules": rules, "last": len(rules),
                "advanced_offered": address.mail_service.plan_info.advanced_sieve}

    def get(self, request, pk):
        address = self.get_address(pk)
        return htmx_render(request, self.template, self.context(address), self.partial)

    def post(self, request, pk):
        address = self.get_address(pk)
        operation = request.POST.get("operation")
        rule = get_object_or_404(SortingRule, address=address, pk=request.POST.get("rule") or 0)
        try:
            if operation == "toggle":
                rule = rules_services.rule_update(actor=request.user, rule=rule, enabled=not rule.enabled)
                message = _("Rule enabled.") if rule.enabled else _("Rule disabled.")
            elif operation == "duplicate":
                rules_services.rule_duplicate(actor=request.user, rule=rule)
                message = _("Rule duplicated.")
            elif operation in ("up", "down"):
                order = list(SortingRule.objects.filter(address=address)
                             .order_by("position", "pk").values_list("pk", flat=True))
                index = order.index(rule.pk)
                other = index - 1 if operation == "up" else index + 1
                if 0 <= other < len(order):
                    order[index], order[other] = order[other], order[index]
                    rules_services.rules_reorder(actor=request.user, address=address, order=order)
                message = _("Rule moved.")
            elif operation == "delete":
                rules_services.rule_delete(actor=request.user, rule=rule)
                message = _("Rule deleted.")
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, self.context(address), status=400)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, self.template, self.context(address),
                          status=400 if exc.status == 404 else exc.status)
        messages.success(request, message)
        return done(request, self.list_url(address))


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


class RuleFormView(RulesMixin):
    """Create (no `rid`) or edit a rule. Empty rows are ignored; the service validates."""

    template = "mailservice/rules_form.html"

    def context(self, address, rule, form, conditions, actions, **extra):
        return {"address": address, "rule": rule, "form": form, "conditions": conditions,
                "actions": actions,
                "folders": folders_of(address, SortingRule.objects.filter(address=address)),
                "action_url": (reverse("mailservice:rule_edit", args=[address.pk, rule.pk]) if rule
                               else reverse("mailservice:rule_new", args=[address.pk])), **extra}

    def get_rule(self, address, rid):
        return get_object_or_404(SortingRule, address=address, pk=rid) if rid else None

    def get(self, request, pk, rid=None):
        address = self.get_address(pk)
        rule = self.get_rule(address, rid)
        data = None
        if rule is not None:
            data = {"name": rule.name, "match": rule.match, "enabled": rule.enabled,
                    "conditions": rule.conditions, "actions": rule.actions}
        return render(request, self.template, self.context(address, rule, *rule_forms(rule=data)))

    def post(self, request, pk, rid=None):
        address = self.get_address(pk)
        rule = self.get_rule(address, rid)
        form, conditions, actions = rule_forms(request.POST)
        chosen = chosen_suggestions(request.POST)
        ticked = [{**c, "checked": True} for c in chosen]
        if not (form.is_valid() and conditions.is_valid() and actions.is_valid()):
            return render(request, self.template,
                          self.context(address, rule, form, conditions, actions, suggestions=ticked),
                          status=400)
        used_conditions = [f for f in conditions if f.cleaned_data.get("field")]
        used_actions = [f for f in actions if f.cleaned_data.get("kind")]
        data = {
            **form.cleaned_data,
            "conditions": [{"field": f.cleaned_data["field"], "operator": f.cleaned_data["operator"],
                            "value": f.cleaned_data["value"]} for f in used_conditions] + chosen,
            "actions": [{"kind": f.cleaned_data["kind"], "argument": f.cleaned_data["argument"],
                         "keep_copy": f.cleaned_data["keep_copy"]} for f in used_actions],
        }
        try:
            if rule is None:
                rules_services.rule_create(actor=request.user, address=address, **data)
                message = _("Rule created.")
            else:
                rules_services.rule_update(actor=request.user, rule=rule, **data)
                message = _("Rule saved.")
        except ServiceError as exc:
            self.show_errors(form, used_conditions, used_actions, exc)
            return render(request, self.template,
                          self.context(address, rule, form, conditions, actions, error=exc,
                                       suggestions=ticked),
                          status=400 if exc.status == 404 else exc.status)
        messages.success(request, message)
        return done(request, self.list_url(address))

    @staticmethod
    def show_errors(form, conditions, actions, error: ServiceError):
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


def uploaded_message(request, form) -> bytes | None:
    upload = form.cleaned_data.get("message")
    if upload is not None:
        if upload.size > MAX_MESSAGE_BYTES:
            form.add_error("message", _("The message is larger than 10 MB."))
            return None
        return upload.read()
    if form.cleaned_data.get("headers", "").strip():
        return form.cleaned_data["headers"].encode("utf-8", "replace")
    form.add_error("message", _("Upload an .eml file or paste its headers."))
    return None


class RuleFromMessageView(RulesMixin):
    """Upload an .eml (or paste its headers): the rule form opens pre-filled."""

    template = "mailservice/rules_from_message.html"

    def get(self, request, pk):
        address = self.get_address(pk)
        return render(request, self.template, {"address": address, "form": UploadForm()})

    def post(self, request, pk):
        address = self.get_address(pk)
        form = UploadForm(request.POST, request.FILES)
        raw = uploaded_message(request, form) if form.is_valid() else None
        if raw is None:
            return render(request, self.template, {"address": address, "form": form}, status=400)
        prefill = prefill_from_message(raw)
        for warning in prefill["warnings"]:
            messages.warning(request, warning)
        view = RuleFormView()
        view.request = request
        context = view.context(address, None, *rule_forms(rule=prefill["rule"] or {}),
                               prefill=prefill, suggestions=prefill["suggestions"])
        return render(request, RuleFormView.template, context)


class RuleTestView(RulesMixin):
    """Run the address's current filters (standard rules or the advanced script) on an
    uploaded .eml and show what would happen (and, for rules, what each one does)."""

    template = "mailservice/rules_test.html"

    def get(self, request, pk):
        address = self.get_address(pk)
        return render(request, self.template, {"address": address, "form": UploadForm()})

    def post(self, request, pk):
        address = self.get_address(pk)
        form = UploadForm(request.POST, request.FILES)
        raw = uploaded_message(request, form) if form.is_valid() else None
        context = {"address": address, "form": form}
        if raw is None:
            return render(request, self.template, context, status=400)
        try:
            context["result"] = run_rule_test(address, raw)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, self.template, context, status=exc.status)
        return render(request, self.template, context)


class AdvancedView(RulesMixin):
    """The raw Sieve script: edit, import a .sieve file, download, or go back to standard."""

    template = "mailservice/rules_advanced.html"

    def context(self, address, form=None, **extra):
        if form is None:
            script = address.sieve_script or rules_services.script_for(address)
            form = AdvancedForm(initial={"script": script})
        return {"address": address, "form": form,
                "offered": address.mail_service.plan_info.advanced_sieve, **extra}

    def get(self, request, pk):
        address = self.get_address(pk)
        return render(request, self.template, self.context(address))

    def post(self, request, pk):
        address = self.get_address(pk)
        operation = request.POST.get("operation")
        form = AdvancedForm(request.POST)
        try:
            if operation == "save":
                form.is_valid()
                rules_services.sieve_set(actor=request.user, address=address, mode="advanced",
                                         script=form.cleaned_data.get("script", ""))
                message = _("Advanced mode is active with this script.")
            elif operation == "import":
                upload = request.FILES.get("file")
                if upload is None:
                    raise ServiceError(_("Choose a .sieve file."), code="invalid")
                data = upload.read(rules_services.MAX_SCRIPT_BYTES + 1)
                form = AdvancedForm({"script": rules_services.decode_sieve_file(data)})
                form.is_valid()
                rules_services.sieve_import(actor=request.user, address=address, data=data)
                message = _("Script imported; advanced mode is active.")
            elif operation == "standard":
                rules_services.sieve_set(actor=request.user, address=address, mode="standard")
                messages.success(request, _("Standard mode: your rules are active again."))
                return done(request, self.list_url(address))
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, self.context(address), status=400)
        except ServiceError as exc:
            messages.error(request, exc.message)
            address.refresh_from_db()
            return render(request, self.template,
                          self.context(address, form, sieve_errors=exc.fields.get("script", [])),
                          status=400 if exc.status == 404 else exc.status)
        messages.success(request, message)
        return done(request, reverse("mailservice:rule_advanced", args=[address.pk]))


class SieveDownloadView(RulesMixin):
    def get(self, request, pk):
        return sieve_download_response(self.get_address(pk))


urlpatterns = [
    path("mail/addresses/<int:pk>/rules/", RuleListView.as_view(), name="rule_list"),
    path("mail/addresses/<int:pk>/rules/new/", RuleFormView.as_view(), name="rule_new"),
    path("mail/addresses/<int:pk>/rules/<int:rid>/", RuleFormView.as_view(), name="rule_edit"),
    path("mail/addresses/<int:pk>/rules/from-message/", RuleFromMessageView.as_view(),
         name="rule_from_message"),
    path("mail/addresses/<int:pk>/rules/test/", RuleTestView.as_view(), name="rule_test"),
    path("mail/addresses/<int:pk>/rules/advanced/", AdvancedView.as_view(), name="rule_advanced"),
    path("mail/addresses/<int:pk>/rules/advanced/download/", SieveDownloadView.as_view(),
         name="rule_sieve_download"),
]
