"""Loads an address's stored sorting rules as the pure `sieve.rules.Rule` dataclasses, and
what the rule linter needs from the database."""
from .models import Alias, Redirection
from .rules_models import SortingRule
from .sieve.lint import LintWarning, lint_rules
from .sieve.rules import Rule, rule_from_dict


def rule_data(rule: SortingRule) -> dict:
    return {"name": rule.name, "enabled": rule.enabled, "match": rule.match,
            "conditions": rule.conditions, "actions": rule.actions}


def to_rule(rule: SortingRule) -> Rule:
    return rule_from_dict(rule_data(rule))


def rules_for(address) -> list[Rule]:
    """Enabled and disabled rules in position order (the compiler skips disabled ones)."""
    return [to_rule(r) for r in SortingRule.objects.filter(address=address).order_by("position", "pk")]


def forwards_map(organisation_id) -> dict[str, set[str]]:
    """Where mail sent to each address of the organisation also goes: alias → its address,
    address → its redirections and the forwards of its enabled standard rules (3 queries)."""
    forwards: dict[str, set[str]] = {}

    def add(source: str, target: str) -> None:
        forwards.setdefault(source.lower(), set()).add(target.strip().lower())

    for alias in Alias.objects.filter(mail_service__organisation_id=organisation_id).select_related(
            "mail_service", "address__mail_service"):
        add(f"{alias.local_part}@{alias.mail_service.domain}", alias.address.email)
    for redirection in Redirection.objects.filter(
            address__mail_service__organisation_id=organisation_id).select_related("address__mail_service"):
        add(redirection.address.email, redirection.target)
    rules = SortingRule.objects.filter(
        address__mail_service__organisation_id=organisation_id, enabled=True,
        address__sieve_mode="standard").select_related("address__mail_service")
    for rule in rules:
        for action in rule.actions or ():
            if isinstance(action, dict) and action.get("kind") == "forward" and action.get("argument"):
                add(rule.address.email, str(action["argument"]))
    return forwards


def lint_for(address, rules: list[Rule] | None = None) -> list[LintWarning]:
    """The linter's warnings for the address's rules (or `rules`, e.g. unsaved ones)."""
    rules = rules_for(address) if rules is None else rules
    if not rules:
        return []
    return lint_rules(rules, address_email=address.email,
                      forwards_of=forwards_map(address.mail_service.organisation_id))
