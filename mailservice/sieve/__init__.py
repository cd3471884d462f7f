"""Sorting rules → Sieve: the rule model, the compiler, validation and simulation
with Dovecot Pigeonhole (sievec, sieve-test). Pure Python, no Django."""

from .compiler import CompiledScript, compile_rules, quote
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
from .simulate import (
    HeaderEdit,
    RuleOutcome,
    RuleTestResult,
    SieveScriptInvalid,
    SimAction,
    Trace,
    simulate,
    test_rules,
)
from .validate import (
    SieveError,
    SieveToolError,
    SieveToolMissing,
    check_script,
    sievec_available,
)

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
    "SieveToolError",
    "SieveToolMissing",
    "SimAction",
    "Trace",
    "check_script",
    "compile_rules",
    "folder_errors",
    "normalize_folder",
    "prefill_from_message",
    "quote",
    "rule_from_dict",
    "rule_to_dict",
    "simulate",
    "sievec_available",
    "test_rules",
    "validate_rule",
    "validate_rule_set",
]
