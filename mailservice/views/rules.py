"""Sorting-rule pages of an address: the rule list, the rule form (with the mailbox's
folders), a rule from a received e-mail, testing the rules on an .eml, advanced mode."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from manager.core.errors import ServiceError
from manager.core.views import RestrictedView, attachment_response, done, htmx_render

from .. import selectors, services
from ..forms import (
    AdvancedForm,
    UploadForm,
    add_rule_errors,
    chosen_suggestions,
    rule_forms,
    rule_forms_edited,
    rule_summary,
)
from ..models import Address, Permission, SortingRule
from ..permissions import may_on_address, permission_message
from ..sieve.message import prefill_from_message


class RulesMixin(RestrictedView):
    """The address through the gate (404), then the "manage rules" permission (403)."""

    model = Address

    def get_address(self, pk) -> Address:
        address = selectors.address_for(self.request.user, pk)
        if not may_on_address(self.request.user, Permission.MANAGE_RULES, address):
            raise PermissionDenied(permission_message([Permission.MANAGE_RULES]))
        return address

    def list_url(self, address):
        return reverse("mailservice:rule_list", args=[address.pk])


class RuleListView(RulesMixin):
    template = "mailservice/rules_list.html"
    partial = "mailservice/_rule_table.html"

    def context(self, address):
        rules = list(SortingRule.objects.filter(address=address).order_by("position", "pk"))
        warnings = selectors.lint_report(selectors.lint_for(address, [selectors.to_rule(r) for r in rules]))
        for position, rule in enumerate(rules, start=1):
            rule.summary = rule_summary(rule)
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
                rule = services.rule_update(actor=request.user, rule=rule, enabled=not rule.enabled)
                message = _("Rule enabled.") if rule.enabled else _("Rule disabled.")
            elif operation == "duplicate":
                services.rule_duplicate(actor=request.user, rule=rule)
                message = _("Rule duplicated.")
            elif operation in ("up", "down"):
                services.rule_move(actor=request.user, rule=rule, direction=operation)
                message = _("Rule moved.")
            elif operation == "delete":
                services.rule_delete(actor=request.user, rule=rule)
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


class RuleFormView(RulesMixin):
    """Create (no `rid`) or edit a rule. Empty rows are ignored; the service validates.
    "Add a condition/action" and "Remove" post the form with `row` (see `edit_rows`)."""

    template = "mailservice/rules_form.html"
    rows_partial = "mailservice/_rule_rows.html"

    def form_url(self, address, rule):
        return (reverse("mailservice:rule_edit", args=[address.pk, rule.pk]) if rule
                else reverse("mailservice:rule_new", args=[address.pk]))

    def context(self, address, rule, form, conditions, actions, **extra):
        return {"address": address, "rule": rule, "form": form, "conditions": conditions,
                "actions": actions,
                "folders": services.folder_choices(
                    actor=self.request.user, address=address,
                    rules=SortingRule.objects.filter(address=address)),
                "action_url": self.form_url(address, rule), **extra}

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

    def edit_rows(self, request, address, rule):
        """A row added or removed, nothing saved: with htmx the changed fieldset only (its
        management form included, so the counts stay right), without JavaScript the page."""
        edited = rule_forms_edited(request.POST, request.POST["row"])
        if edited is None:
            messages.error(request, _("Unknown operation."))
            return render(request, self.template,
                          self.context(address, rule, *rule_forms(request.POST)), status=400)
        form, conditions, actions, kind = edited
        if request.htmx:
            return render(request, self.rows_partial, {
                "rows": conditions if kind == "conditions" else actions, "kind": kind,
                "action_url": self.form_url(address, rule)})
        ticked = [{**c, "checked": True} for c in chosen_suggestions(request.POST)]
        return render(request, self.template,
                      self.context(address, rule, form, conditions, actions, suggestions=ticked))

    def post(self, request, pk, rid=None):
        address = self.get_address(pk)
        rule = self.get_rule(address, rid)
        if "row" in request.POST:
            return self.edit_rows(request, address, rule)
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
                services.rule_create(actor=request.user, address=address, **data)
                message = _("Rule created.")
            else:
                services.rule_update(actor=request.user, rule=rule, **data)
                message = _("Rule saved.")
        except ServiceError as exc:
            add_rule_errors(form, used_conditions, used_actions, exc)
            return render(request, self.template,
                          self.context(address, rule, form, conditions, actions, error=exc,
                                       suggestions=ticked),
                          status=400 if exc.status == 404 else exc.status)
        messages.success(request, message)
        return done(request, self.list_url(address))


class RuleFromMessageView(RulesMixin):
    """Upload an .eml (or paste its headers): the rule form opens pre-filled."""

    template = "mailservice/rules_from_message.html"

    def get(self, request, pk):
        address = self.get_address(pk)
        return render(request, self.template, {"address": address, "form": UploadForm()})

    def post(self, request, pk):
        address = self.get_address(pk)
        form = UploadForm(request.POST, request.FILES)
        raw = form.message_bytes() if form.is_valid() else None
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
        raw = form.message_bytes() if form.is_valid() else None
        context = {"address": address, "form": form}
        if raw is None:
            return render(request, self.template, context, status=400)
        try:
            context["result"] = services.run_rule_test(actor=request.user, address=address,
                                                       message=raw)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, self.template, context, status=exc.status)
        return render(request, self.template, context)


class AdvancedView(RulesMixin):
    """The raw Sieve script: edit, import a .sieve file, download, or go back to standard."""

    template = "mailservice/rules_advanced.html"

    def context(self, address, form=None, *, script=None, **extra):
        if form is None:
            # What runs now: in standard mode the script compiled from the rules, not the
            # advanced script kept from an earlier switch.
            form = AdvancedForm(initial={"script": selectors.script_for(address)})
        # The linter reviews the script shown: a refused one as typed, else the saved
        # advanced script (the compiled one of standard mode is the rules' business).
        lint = []
        if script is not None or address.sieve_mode == Address.SieveMode.ADVANCED:
            lint = selectors.lint_report(selectors.lint_for(address, script=script))
        return {"address": address, "form": form, "lint": lint,
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
                services.sieve_set(actor=request.user, address=address, mode="advanced",
                                         script=form.cleaned_data.get("script", ""))
                message = _("Advanced mode is active with this script.")
            elif operation == "import":
                upload = request.FILES.get("file")
                if upload is None:
                    raise ServiceError(_("Choose a .sieve file."), code="invalid")
                data = upload.read(services.MAX_SCRIPT_BYTES + 1)
                form = AdvancedForm({"script": services.decode_sieve_file(data)})
                form.is_valid()
                services.sieve_import(actor=request.user, address=address, data=data)
                message = _("Script imported; advanced mode is active.")
            elif operation == "standard":
                services.sieve_set(actor=request.user, address=address, mode="standard")
                messages.success(request, _("Standard mode: your rules are active again."))
                return done(request, self.list_url(address))
            else:
                messages.error(request, _("Unknown operation."))
                return render(request, self.template, self.context(address), status=400)
        except ServiceError as exc:
            messages.error(request, exc.message)
            address.refresh_from_db()
            return render(request, self.template,
                          self.context(address, form, script=form.data.get("script"),
                                       sieve_errors=exc.fields.get("script", [])),
                          status=400 if exc.status == 404 else exc.status)
        messages.success(request, message)
        return done(request, reverse("mailservice:rule_advanced", args=[address.pk]))


class SieveDownloadView(RulesMixin):
    def get(self, request, pk):
        address = self.get_address(pk)
        return attachment_response(selectors.script_for(address), f"{address.email}.sieve",
                                   content_type="text/plain; charset=utf-8")


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
