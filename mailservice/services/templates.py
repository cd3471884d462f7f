"""Writes for the rule templates of a mail service: save a rule set, apply it to the
service's addresses, and give it to every address created later (SPEC §4)."""
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from manager.audit import services as audit
from manager.core.errors import ServiceError

from ..models import Address, MailService, RuleTemplate, SortingRule
from ..selectors import rule_data, rules_for
from ..sieve.rules import Rule, rule_to_dict
from .common import push, require_feature
from .rules import MAX_RULES_PER_ADDRESS, _require_manager, _stored, check_rule_set, parse_rule

log = logging.getLogger(__name__)


def _parse_rules(rules: list) -> list[Rule]:
    if not isinstance(rules, list) or not rules:
        raise ServiceError(_("A template needs at least one rule."), code="invalid",
                           fields={"rules": [_("Add at least one rule.")]})
    if len(rules) > MAX_RULES_PER_ADDRESS:
        message = _("An address has at most %(n)d rules.") % {"n": MAX_RULES_PER_ADDRESS}
        raise ServiceError(message, code="limit_reached", fields={"rules": [message]})
    return [parse_rule(data if isinstance(data, Mapping) else {}, prefix=f"rules.{i}.")
            for i, data in enumerate(rules)]


@transaction.atomic
def template_create(*, actor, service: MailService, name: str, rules: list | None = None,
                    from_address: Address | None = None,
                    for_new_addresses: bool = False) -> RuleTemplate:
    """A template from explicit `rules` (plain data) or from an address's current rules;
    `for_new_addresses` also gives them to every address created later."""
    _require_manager(actor, service)
    require_feature(service, "sorting_rules")
    if from_address is not None:
        if from_address.mail_service_id != service.pk:
            raise ServiceError(_("The address belongs to another mail service."), code="invalid",
                               fields={"from_address": [_("Not an address of this service.")]})
        rules = [rule_to_dict(r) for r in rules_for(from_address)]
    parsed = _parse_rules(rules or [])
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Enter a name."), code="invalid", fields={"name": [_("Enter a name.")]})
    template = RuleTemplate.objects.create(mail_service=service, name=name[:200],
                                           rules=[_stored(r) for r in parsed],
                                           for_new_addresses=bool(for_new_addresses))
    audit.record(actor=actor, action="create", obj=template, after=_template_data(template))
    return template


def _template_data(template: RuleTemplate) -> dict:
    return {"name": template.name, "rules": template.rules,
            "for_new_addresses": template.for_new_addresses}


@transaction.atomic
def template_update(*, actor, template: RuleTemplate, name: str | None = None,
                    rules: list | None = None, for_new_addresses: bool | None = None) -> RuleTemplate:
    _require_manager(actor, template.mail_service)
    before = _template_data(template)
    if name is not None:
        if not name.strip():
            raise ServiceError(_("Enter a name."), code="invalid", fields={"name": [_("Enter a name.")]})
        template.name = name.strip()[:200]
    if rules is not None:
        template.rules = [_stored(r) for r in _parse_rules(rules)]
    if for_new_addresses is not None:
        template.for_new_addresses = bool(for_new_addresses)
    template.save()
    audit.record(actor=actor, action="update", obj=template, before=before,
                 after=_template_data(template))
    return template


@transaction.atomic
def template_delete(*, actor, template: RuleTemplate) -> None:
    _require_manager(actor, template.mail_service)
    audit.record(actor=actor, action="delete", obj=template, before={"name": template.name})
    template.delete()


ADVANCED_MODE = "advanced mode"  # the reason an address is left alone (API value)


@dataclass(frozen=True)
class TemplateApplication:
    """What `template_apply` did: the addresses that received the rules, and those left
    alone with the reason (`ADVANCED_MODE`: their Sieve script is theirs)."""

    applied: list[Address] = field(default_factory=list)
    skipped: list[tuple[Address, str]] = field(default_factory=list)


@transaction.atomic
def template_apply(*, actor, template: RuleTemplate,
                   addresses: list[Address] | None = None) -> TemplateApplication:
    """Replace the rules of each address (all of the service's when None) with the
    template's; one push for the service. Addresses in advanced mode are left alone and
    reported: replacing their inactive standard rules would be a silent surprise when
    they switch back."""
    service = template.mail_service
    _require_manager(actor, service)
    require_feature(service, "sorting_rules")
    if addresses is None:
        addresses = list(Address.objects.filter(mail_service=service).order_by("local_part"))
    if any(a.mail_service_id != service.pk for a in addresses):
        raise ServiceError(_("Every address must belong to the template's mail service."),
                           code="invalid", fields={"addresses": [_("Not an address of this service.")]})
    parsed = _parse_rules(template.rules)
    result = TemplateApplication()
    for address in addresses:
        address.mail_service = service
        if address.sieve_mode == Address.SieveMode.ADVANCED:
            result.skipped.append((address, ADVANCED_MODE))
            continue
        try:
            check_rule_set(address, parsed)
        except ServiceError as exc:
            exc.message = f"{address.email}: {exc.message}"
            raise
        result.applied.append(address)
    for address in result.applied:
        before = [rule_data(r) for r in SortingRule.objects.filter(address=address)]
        SortingRule.objects.filter(address=address).delete()
        SortingRule.objects.bulk_create(
            SortingRule(address=address, position=i, **_stored(r)) for i, r in enumerate(parsed, 1))
        audit.record(actor=actor, action="update", verb="apply rule template", obj=address,
                     before={"rules": before}, after={"rules": template.rules,
                                                      "template": template.pk})
    if result.applied:
        push(service)
    return result


def apply_templates_to_new_address(*, actor, address: Address) -> list[RuleTemplate]:
    """Give a just-created address the rules of every template of its service marked
    `for_new_addresses`, in template name order (called by `address_create`, which
    pushes). A template whose rules would not fit with the others (server limits,
    Dovecot refusal) is left out and named in the audit entry: creating the address
    must not fail because of a template. Returns the templates applied."""
    return apply_templates_to_new_addresses(actor=actor, addresses=[address])


def apply_templates_to_new_addresses(*, actor, addresses: list[Address]) -> list[RuleTemplate]:
    """`apply_templates_to_new_address` for many new addresses of one service (the bulk
    import): the rule set is checked once per kind of address (the catchall's script
    differs), then written in bulk."""
    if not addresses:
        return []
    service = addresses[0].mail_service
    if getattr(service, "has_new_address_templates", True) is False:  # read with its lock
        return []
    templates = list(RuleTemplate.objects.filter(mail_service=service, for_new_addresses=True)
                     .order_by("name", "pk"))
    addresses = [a for a in addresses if a.sieve_mode != Address.SieveMode.ADVANCED]
    if not templates or not addresses:
        return []
    if not service.plan_info.sorting_rules:
        log.info("%s: rule templates not applied, the plan has no sorting rules", service.domain)
        return []
    outcome = {}  # is_catchall → (rules, applied, left_out), checked on the first of its kind
    for address in addresses:
        if address.is_catchall not in outcome:
            outcome[address.is_catchall] = _template_rules(address, templates)
    sorting_rules, entries, applied_any = [], [], []
    for address in addresses:
        rules, applied, left_out = outcome[address.is_catchall]
        if not rules and not left_out:
            continue
        applied_any = applied
        sorting_rules += [SortingRule(address=address, position=i, **_stored(r))
                          for i, r in enumerate(rules, 1)]
        entries.append(audit.entry(
            actor=actor, action="update", verb="apply rule templates", obj=address,
            before={"rules": []},
            after={"rules": [_stored(r) for r in rules],
                   "templates": [t.pk for t in applied], "left_out": left_out}))
    SortingRule.objects.bulk_create(sorting_rules, batch_size=1000)
    audit.record_many(entries)
    return applied_any


def _template_rules(address: Address, templates: list[RuleTemplate]):
    """The rules the templates give a new address like this one, the templates applied
    and those left out (with why)."""
    rules: list[Rule] = []
    applied, left_out = [], []
    for template in templates:
        try:
            candidate = rules + _parse_rules(template.rules)
            if len(candidate) > MAX_RULES_PER_ADDRESS:
                raise ServiceError(_("Too many rules."), code="limit_reached")
            check_rule_set(address, candidate)
        except ServiceError as exc:
            log.warning("%s: rule template %s left out: %s", address.email, template.pk, exc.message)
            left_out.append({"template": template.pk, "name": template.name, "error": exc.message})
            continue
        rules = candidate
        applied.append(template)
    return rules, applied, left_out
