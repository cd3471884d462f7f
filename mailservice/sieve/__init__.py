"""Sorting rules → Sieve: the rule model, the compiler, the lint, rule suggestions from
a message, and reading what Dovecot Pigeonhole reports about a script (its errors, a
dry run's trace). Pure Python: no Django, no subprocess; running Pigeonhole's tools is
`mailservice.pigeonhole`."""

from .compiler import CompiledScript, compile_rules, quote
from .diagnostics import SieveError, SieveScriptInvalid
from .message import prefill_from_message
from .rules import (
    Action,
    Condition,
    Rule,
    folder_errors,
    normalize_folder,
    rule_from_dict,
    rule_to_dict,
    validate_rule,
    validate_rule_set,
)
from .trace import HeaderEdit, RuleOutcome, RuleTestResult, SimAction, Trace

__all__ = [
    "Action",
    "CompiledScript",
    "Condition",
    "HeaderEdit",
    "Rule",
    "RuleOutcome",
    "RuleTestResult",
    "SieveError",
    "SieveScriptInvalid",
    "SimAction",
    "Trace",
    "compile_rules",
    "folder_errors",
    "normalize_folder",
    "prefill_from_message",
    "quote",
    "rule_from_dict",
    "rule_to_dict",
    "validate_rule",
    "validate_rule_set",
]
