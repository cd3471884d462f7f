"""Loads an address's stored sorting rules as the pure `sieve.rules.Rule` dataclasses."""
from .rules_models import SortingRule
from .sieve.rules import Rule, rule_from_dict


def rule_data(rule: SortingRule) -> dict:
    return {"name": rule.name, "enabled": rule.enabled, "match": rule.match,
            "conditions": rule.conditions, "actions": rule.actions}


def to_rule(rule: SortingRule) -> Rule:
    return rule_from_dict(rule_data(rule))


def rules_for(address) -> list[Rule]:
    """Enabled and disabled rules in position order (the compiler skips disabled ones)."""
    return [to_rule(r) for r in SortingRule.objects.filter(address=address).order_by("position", "pk")]
