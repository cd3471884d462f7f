"""API: sorting rules (`addresses/{id}/rules/`), advanced filters (`addresses/{id}/sieve/`)
and rule templates (`mail-services/{id}/rule-templates/`)."""
import json

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from manager.core.api import ParentScopedMixin, RestrictedViewSet
from manager.core.parsers import JSONParser
from manager.core.serializers import ModelSerializer, Serializer, refuse_unknown_fields
from manager.core.views import attachment_response

from .. import permissions, selectors, services
from ..models import Address, MailService, Permission, RuleTemplate, SortingRule
from ..sieve import vacation as vacation_rules
from ..sieve.message import prefill_from_message
from ..sieve.rules import (
    ACTION_KINDS,
    EMAIL_TYPES,
    FIELDS,
    MAX_ACTIONS,
    MAX_CONDITIONS,
    TEXT_OPERATORS,
)
from .addresses import AddressChildViewSet

UPLOAD_PARSERS = [MultiPartParser, FormParser, JSONParser]


class ConditionSerializer(Serializer):
    field = serializers.CharField(help_text="One of: " + ", ".join(FIELDS) + ".")
    operator = serializers.CharField(
        help_text="Text fields: " + ", ".join(TEXT_OPERATORS) + "; size: over, under; body: "
        "contains, not_contains; email_type: is, is_not.")
    value = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                  help_text="Size: \"500K\", \"2M\"…; email_type: "
                                  + ", ".join(EMAIL_TYPES) + "; unused with `exists`.")


class ActionSerializer(Serializer):
    kind = serializers.CharField(help_text="One of: " + ", ".join(ACTION_KINDS) + ".")
    argument = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text="The folder (move, copy; sub-folders with \"/\") "
                                     "or the address (forward).")
    keep_copy = serializers.BooleanField(required=False, default=False,
                                         help_text="forward: keep a copy in the mailbox.")


class RuleBodySerializer(Serializer):
    """A rule as plain data (not saved): from-message output, test input, template rules."""

    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    enabled = serializers.BooleanField(default=True)
    match = serializers.ChoiceField(choices=SortingRule.Match.choices, default="all")
    conditions = ConditionSerializer(many=True, max_length=MAX_CONDITIONS)
    actions = ActionSerializer(many=True, max_length=MAX_ACTIONS)


class LintWarningSerializer(Serializer):
    position = serializers.IntegerField(help_text=(
        "1-based position of the rule concerned; 0 for a warning about an advanced script."))
    rule_name = serializers.CharField(help_text="Empty for a warning about an advanced script.")
    code = serializers.ChoiceField(choices=[
        "action_after_stop", "flag_after_fileinto", "forward_to_self", "forward_loop",
        "unreachable", "never_matches", "unset_match_variable", "invalid_folder",
        "extension_not_required", "extension_unused"])
    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True, help_text=(
        "The line of the advanced script concerned; null for a warning about a rule."))


class HeaderEditSerializer(Serializer):
    operation = serializers.ChoiceField(choices=["add", "delete"])
    name = serializers.CharField()
    value = serializers.CharField(allow_null=True)
    truncated = serializers.BooleanField(help_text="Dovecot shortened the value in its trace.")


# --- The rule tester's answer (`rules/test/`) ---------------------------------------------

class SimActionSerializer(Serializer):
    kind = serializers.ChoiceField(choices=["store", "redirect", "discard", "vacation", "reject",
                                            "notify", "other"])
    target = serializers.CharField(help_text="store: the folder; redirect: the address; "
                                   "otherwise Dovecot's own wording.")
    flags = serializers.ListField(child=serializers.CharField(),
                                  help_text="IMAP flags set on the stored message.")
    create = serializers.BooleanField(help_text=(
        "fileinto :create (the folder is created). Without it the folder must exist at "
        "delivery, or the script fails there and the message is kept in INBOX; the tester "
        "cannot see the mailbox's folders."))
    copy = serializers.BooleanField(help_text=":copy (the implicit keep is preserved).")
    details = serializers.ListField(child=serializers.CharField(),
                                    help_text="Further lines of Dovecot's report.")
    keep = serializers.ChoiceField(
        choices=["implicit", "explicit"], allow_null=True, help_text=(
            "A store into INBOX: `implicit` (no action filed the message elsewhere) or "
            "`explicit` (the script's keep or fileinto \"INBOX\"); null otherwise."))


class RuleOutcomeSerializer(Serializer):
    position = serializers.IntegerField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    matched = serializers.BooleanField(help_text="Its conditions hold for the message.")
    applied = serializers.BooleanField(help_text="Matched and reached (no earlier stop).")
    actions = SimActionSerializer(many=True, help_text="What the rule alone would do.")


class TracedTestSerializer(Serializer):
    line = serializers.IntegerField(help_text="Line of the test in `script`.")
    test = serializers.CharField(help_text="header, address, envelope, size :over, exists…")
    matched = serializers.BooleanField(allow_null=True, help_text=(
        "The test's own result as the engine traced it (before a `not` around it); null "
        "when the trace does not say."))


class RuleTestTraceSerializer(Serializer):
    steps = TracedTestSerializer(many=True, help_text="Each test the engine evaluated, in order.")
    stopped = serializers.IntegerField(allow_null=True, help_text=(
        "Line of the `stop` that ended the script; null when it ran to its end."))


class SieveEnvironmentSerializer(Serializer):
    phase = serializers.CharField()
    location = serializers.CharField()


class RuleTestEnvironmentSerializer(Serializer):
    tester = SieveEnvironmentSerializer(help_text="What sieve-test runs the script with (fixed "
                                        "by Pigeonhole: a check after delivery).")
    delivery = SieveEnvironmentSerializer(help_text="What LMTP delivery runs it with.")
    script_uses_environment = serializers.BooleanField(help_text=(
        "The script requires \"environment\": its tests on these items may differ live."))
    warning = serializers.CharField(allow_blank=True)


VACATION_FIELDS = {  # a dict: "from" is no attribute name
    "send": serializers.BooleanField(help_text=(
        "Whether delivery would send the reply (unless it answered this sender within the "
        "interval already; see `once_per`).")),
    "reason": serializers.ChoiceField(choices=vacation_rules.REASONS),
    "explanation": serializers.CharField(),
    "once_per": serializers.CharField(allow_blank=True),
    "to": serializers.CharField(allow_blank=True, help_text="The envelope sender answered."),
    "from": serializers.CharField(),
    "subject": serializers.CharField(),
    "interval_seconds": serializers.IntegerField(allow_null=True),
    "addresses": serializers.ListField(child=serializers.CharField(),
                                       help_text="The vacation's :addresses."),
    "body": serializers.CharField(allow_blank=True, help_text="The reply's text (excerpt)."),
    "body_truncated": serializers.BooleanField(),
}


class RuleTestResultSerializer(Serializer):
    mode = serializers.ChoiceField(choices=["standard", "advanced"], help_text=(
        "What ran: standard rules (per-rule outcomes) or the advanced script (no outcomes)."))
    outcomes = RuleOutcomeSerializer(many=True)
    final_actions = SimActionSerializer(many=True)
    folders = serializers.ListField(child=serializers.CharField())
    redirects = serializers.ListField(child=serializers.CharField())
    discarded = serializers.BooleanField()
    header_edits = HeaderEditSerializer(many=True)
    errors = serializers.ListField(child=serializers.CharField())
    lint = LintWarningSerializer(many=True)
    script = serializers.CharField(allow_blank=True)
    envelope = inline_serializer("RuleTestEnvelope", {
        "to": serializers.CharField(help_text="The envelope recipient: the address."),
        "from": serializers.CharField(allow_blank=True, help_text=(
            "The envelope sender: the message's Return-Path (empty: none).")),
    })
    trace = RuleTestTraceSerializer(help_text="The engine's trace of `script` on the message.")
    vacation = inline_serializer("RuleTestVacation", VACATION_FIELDS, allow_null=True, help_text=(
        "The vacation the script triggers and delivery's decision on it; null: none."))
    environment = RuleTestEnvironmentSerializer()
    missing_folders = serializers.ListField(child=serializers.CharField(), help_text=(
        "Folders the script files into without `:create` that the mailbox lacks: the tester "
        "shows the message there, delivery keeps it in INBOX."))
    folders_checked = serializers.BooleanField(help_text=(
        "False when the mail backend could not be asked for the mailbox's folders (then "
        "`missing_folders` is empty because nothing could be checked)."))


class SortingRuleSerializer(ModelSerializer):
    conditions = ConditionSerializer(many=True, max_length=MAX_CONDITIONS)
    actions = ActionSerializer(many=True, max_length=MAX_ACTIONS)
    match = serializers.ChoiceField(choices=SortingRule.Match.choices, default="all")
    name = serializers.CharField(trim_whitespace=False, allow_blank=True)
    position = serializers.IntegerField(
        required=False, min_value=1, help_text="1-based; on create, where to insert (default: last). "
        "Use `reorder/` to move rules.")

    class Meta:
        model = SortingRule
        fields = ["id", "name", "enabled", "position", "match", "conditions", "actions", "created",
                  "updated"]
        read_only_fields = ["id", "created", "updated"]


def _plain(data):
    return json.loads(json.dumps(data))


class RulesGateMixin:
    """The address goes through the gate (404), then "manage rules" is needed even to read."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        permissions.require_any(request.user, self.address(), (Permission.MANAGE_RULES,))


class SortingRuleViewSet(RulesGateMixin, mixins.UpdateModelMixin, AddressChildViewSet):
    """Standard-mode sorting rules of the address, in the order they run. PATCH `enabled`
    enables or disables a rule. Every change is checked by Dovecot (`invalid_sieve`)."""

    queryset = SortingRule.objects.all()
    serializer_class = SortingRuleSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().order_by("position", "pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _plain(serializer.validated_data)
        rule = services.rule_create(actor=request.user, address=self.address(), **data)
        return self.created(SortingRuleSerializer, rule)

    def perform_update(self, serializer):
        data = _plain({k: v for k, v in serializer.validated_data.items() if k != "position"})
        serializer.instance = services.rule_update(actor=self.request.user,
                                                         rule=serializer.instance, **data)

    def perform_destroy(self, instance):
        services.rule_delete(actor=self.request.user, rule=instance)

    @extend_schema(request=None, responses={201: SortingRuleSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, *args, **kwargs):
        """A copy named "… (copy)", placed right after this rule."""
        rule = services.rule_duplicate(actor=request.user, rule=self.get_object())
        return self.created(SortingRuleSerializer, rule)

    @extend_schema(
        request=inline_serializer("RuleOrder", {"order": serializers.ListField(
            child=serializers.IntegerField(), help_text="Every rule id of the address, once.")}),
        responses=SortingRuleSerializer(many=True))
    @action(detail=False, methods=["post"], pagination_class=None)
    def reorder(self, request, *args, **kwargs):
        refuse_unknown_fields(request.data, {"order"})
        order = request.data.get("order")
        if not isinstance(order, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                  for i in order):
            raise serializers.ValidationError({"order": ["A list of rule ids."]})
        rules = services.rules_reorder(actor=request.user, address=self.address(), order=order)
        return Response(SortingRuleSerializer(rules, many=True).data)

    @extend_schema(
        request={"multipart/form-data": inline_serializer("RuleFromMessageUpload", {
            "message": serializers.FileField(help_text="An .eml file.")}),
            "application/json": inline_serializer("RuleFromMessageHeaders", {
                "headers": serializers.CharField(help_text="Pasted message headers.")})},
        responses=inline_serializer("RulePrefill", {
            "sender": serializers.CharField(), "sender_name": serializers.CharField(),
            "subject": serializers.CharField(), "list_id": serializers.CharField(),
            "list_name": serializers.CharField(), "list_unsubscribe": serializers.BooleanField(),
            "recipients": serializers.ListField(
                child=serializers.CharField(), help_text="To and Cc addresses, once each."),
            "folder": serializers.CharField(), "rule": RuleBodySerializer(allow_null=True),
            "suggestions": ConditionSerializer(
                many=True, help_text="Conditions the user may add to the rule "
                "(\"To contains …\", \"Cc contains …\" per recipient)."),
            "warnings": serializers.ListField(child=serializers.CharField())}))
    @action(detail=False, methods=["post"], url_path="from-message", parser_classes=UPLOAD_PARSERS)
    def from_message(self, request, *args, **kwargs):
        """A rule suggested from a received e-mail (sender, subject, list headers, recipients);
        not saved."""
        refuse_unknown_fields(request.data, {"message", "headers"})
        return Response(prefill_from_message(message_bytes(request, "message", headers=True)))

    @extend_schema(responses=LintWarningSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="lint", pagination_class=None)
    def lint(self, request, *args, **kwargs):
        """Frequent mistakes in the rules (actions after stop, a flag after filing, forwarding
        to the address itself or in a loop, rules that can never run or match). In advanced
        mode, the same review of the script, by `line` (also: match variables read where no
        match set them, folder names the server refuses, extensions required but unused or
        used but not required)."""
        return Response(selectors.lint_report(selectors.lint_for(self.address())))

    @extend_schema(
        request={"multipart/form-data": inline_serializer("RuleTestUpload", {
            "message": serializers.FileField(help_text="An .eml file."),
            "rules": serializers.CharField(required=False, help_text=(
                "Optional JSON list of rules to test instead of the address's current filters."))})},
        responses=RuleTestResultSerializer)
    @action(detail=False, methods=["post"], url_path="test", parser_classes=UPLOAD_PARSERS)
    def try_rules(self, request, *args, **kwargs):
        """Run the address's current filters (standard rules, or the advanced script in
        advanced mode), or the `rules` given, on a sample message with Dovecot's sieve-test:
        which rules match and what would happen (folders, copies, forwards, discard, flags,
        header edits), plus the linter's warnings."""
        refuse_unknown_fields(request.data, {"message", "rules"})
        raw = message_bytes(request, "message")
        rules = self._rules_to_test(request.data.get("rules"))
        return Response(services.run_rule_test(actor=request.user, address=self.address(),
                                               message=raw, rules=rules))

    def _rules_to_test(self, given):
        if given in (None, ""):
            return None
        if isinstance(given, str):
            try:
                given = json.loads(given)
            except ValueError:
                raise serializers.ValidationError({"rules": ["Not valid JSON."]}) from None
        if not isinstance(given, list):
            raise serializers.ValidationError({"rules": ["A JSON list of rules."]})
        return [services.parse_rule(item if isinstance(item, dict) else {},
                                          prefix=f"rules.{i}.") for i, item in enumerate(given)]


def message_bytes(request, field: str, *, headers: bool = False) -> bytes:
    upload = request.FILES.get(field)
    if upload is not None:
        services.check_message_size(upload.size, field)
        return upload.read()
    if headers and isinstance(request.data.get("headers"), str) and request.data["headers"].strip():
        return request.data["headers"].encode("utf-8", "replace")
    raise serializers.ValidationError({field: ["Upload an .eml file" + (
        " or paste the headers." if headers else ".")]})


class SieveSerializer(Serializer):
    mode = serializers.ChoiceField(choices=["standard", "advanced"])
    script = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text="Advanced mode: the Sieve script (validated by Dovecot). GET returns the "
        "active script: in standard mode the one compiled from the rules.")
    lint = LintWarningSerializer(many=True, read_only=True, help_text=(
        "The linter's warnings about what runs: in advanced mode the script's, with their "
        "`line`; in standard mode the rules' (as `rules/lint/`)."))


class SieveViewSet(RulesGateMixin, viewsets.GenericViewSet):
    """The address's filters as a Sieve script; `mode` switches between standard rules and
    an advanced script. A refused script is a 400 `invalid_sieve` naming the line."""

    serializer_class = SieveSerializer
    queryset = Address.objects.none()
    address = AddressChildViewSet.address

    def answer(self, address):
        return Response({"mode": address.sieve_mode, "script": selectors.script_for(address),
                         "lint": selectors.lint_report(selectors.lint_for(address))})

    @extend_schema(methods=["GET"], responses=SieveSerializer)
    @extend_schema(methods=["PUT"], request=SieveSerializer, responses=SieveSerializer)
    @action(detail=False, methods=["get", "put"], url_path="sieve")
    def sieve(self, request, *args, **kwargs):
        if request.method == "GET":
            return self.answer(self.address())
        serializer = SieveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        address = services.sieve_set(actor=request.user, address=self.address(),
                                           mode=data["mode"], script=data.get("script"))
        return self.answer(address)

    @extend_schema(request={"multipart/form-data": inline_serializer(
        "SieveImport", {"file": serializers.FileField(help_text="A UTF-8 .sieve file.")})},
        responses=SieveSerializer)
    @action(detail=False, methods=["post"], url_path="sieve/import",
            parser_classes=[MultiPartParser, FormParser])
    def sieve_import(self, request, *args, **kwargs):
        """Import a .sieve file: the address switches to advanced mode with that script."""
        refuse_unknown_fields(request.data, {"file"})
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["Upload a .sieve file."]})
        address = services.sieve_import(actor=request.user, address=self.address(),
                                              data=upload.read(services.MAX_SCRIPT_BYTES + 1))
        return self.answer(address)

    @extend_schema(responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR)})
    @action(detail=False, methods=["get"], url_path="sieve/download")
    def sieve_download(self, request, *args, **kwargs):
        """The active script as a `.sieve` attachment."""
        address = self.address()
        return attachment_response(selectors.script_for(address), f"{address.email}.sieve",
                                   content_type="text/plain; charset=utf-8")


class RuleTemplateSerializer(ModelSerializer):
    rules = RuleBodySerializer(many=True, required=False)
    from_address = serializers.IntegerField(
        write_only=True, required=False,
        help_text="Take the rules of this address of the service instead of `rules`.")

    class Meta:
        model = RuleTemplate
        fields = ["id", "name", "rules", "from_address", "for_new_addresses", "created"]
        read_only_fields = ["id", "created"]


class SkippedAddressSerializer(Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    reason = serializers.CharField(help_text='"advanced mode": the address runs its own Sieve script.')


class TemplateApplyResult(Serializer):
    addresses = serializers.IntegerField(help_text="How many addresses received the rules.")
    applied = serializers.ListField(child=serializers.IntegerField(),
                                    help_text="Ids of the addresses that received the rules.")
    skipped = SkippedAddressSerializer(many=True, help_text="Addresses left alone, and why.")


class RuleTemplateViewSet(ParentScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          mixins.UpdateModelMixin, mixins.DestroyModelMixin, RestrictedViewSet):
    """Rule sets of the mail service that organisation managers apply to addresses.
    `apply/` REPLACES the rules of each address (all of the service's when `addresses`
    is omitted) with the template's, in one push; addresses in advanced mode are left
    alone and listed in `skipped`. With `for_new_addresses`, every address created
    later starts with the template's rules (templates in name order)."""

    queryset = RuleTemplate.objects.all()
    serializer_class = RuleTemplateSerializer
    lookup_value_regex = r"\d+"
    parent_kwarg = "service_pk"

    def parent(self):
        return self.service()

    def service(self) -> MailService:
        if not hasattr(self, "_service"):
            self._service = get_object_or_404(MailService.objects.restrict(self.request.user, "view"),
                                              pk=self.kwargs["service_pk"])
        return self._service

    def get_queryset(self):
        return RuleTemplate.objects.filter(mail_service=self.service()).order_by("name", "pk")

    def check_object_permissions(self, request, obj):
        pass  # the services check the role

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        service = self.service()
        source = None
        if data.get("from_address") is not None:
            source = Address.objects.restrict(request.user, "view").filter(
                pk=data["from_address"], mail_service=service).first()
            if source is None:
                raise serializers.ValidationError({"from_address": ["No such address in this service."]})
        template = services.template_create(
            actor=request.user, service=service, name=data["name"],
            rules=_plain(data.get("rules") or []), from_address=source,
            for_new_addresses=data.get("for_new_addresses", False))
        return Response(RuleTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.template_update(
            actor=self.request.user, template=serializer.instance, name=data.get("name"),
            rules=_plain(data["rules"]) if "rules" in data else None,
            for_new_addresses=data.get("for_new_addresses"))

    def perform_destroy(self, instance):
        services.template_delete(actor=self.request.user, template=instance)

    @extend_schema(request=inline_serializer("RuleTemplateApply", {
        "addresses": serializers.ListField(child=serializers.IntegerField(), required=False,
                                           help_text="Address ids; all of the service's when omitted.")}),
        responses=TemplateApplyResult)
    @action(detail=True, methods=["post"])
    def apply(self, request, *args, **kwargs):
        template = self.get_object()
        refuse_unknown_fields(request.data, {"addresses"})
        ids = request.data.get("addresses")
        addresses = None
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise serializers.ValidationError({"addresses": ["A list of address ids."]})
            addresses = list(Address.objects.filter(mail_service=template.mail_service, pk__in=ids))
            if len(addresses) != len(set(ids)):
                raise serializers.ValidationError({"addresses": ["Not all are addresses of this service."]})
        result = services.template_apply(actor=request.user, template=template,
                                               addresses=addresses)
        return Response({
            "addresses": len(result.applied),
            "applied": [a.pk for a in result.applied],
            "skipped": [{"id": a.pk, "email": a.email, "reason": reason}
                        for a, reason in result.skipped],
        })


def register(router):
    router.register(r"addresses/(?P<address_pk>\d+)/rules", SortingRuleViewSet, basename="sorting-rule")
    router.register(r"addresses/(?P<address_pk>\d+)", SieveViewSet, basename="address-sieve")
    router.register(r"mail-services/(?P<service_pk>\d+)/rule-templates", RuleTemplateViewSet,
                    basename="rule-template")
