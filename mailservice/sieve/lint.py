"""Warnings about standard rules that are valid but probably not what the user meant (pure).

The messages state what the compiled script really does (see compiler.py): within a
rule, flags are always set first and `stop` always comes last, whatever the order
the user listed the actions in. Messages are English msgids marked with
`gettext_noop` so the Django side can translate them (`gettext(w.template) % w.params`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .forwarding import TargetsOf, fold, loop_path, targets_from_mapping
from .rules import FOLDER_ACTIONS, Condition, Rule, parse_size

_FLAG_ACTIONS = ("mark_read", "flag")
_POSITIVE = ("is", "contains")
_NEGATIVE = ("is_not", "not_contains")


class Word(str):
    """A product word inside a message's parameters (an operator, a field, an action):
    the Django side translates these, never the user's own values."""


def gettext_noop(text: str) -> Word:
    """Marks a msgid for makemessages without importing Django."""
    return Word(text)


ACTION_AFTER_STOP = gettext_noop(
    "Actions listed after “stop” still run: a rule always stops after all its actions. "
    "Put “stop” last so the rule reads the way it runs."
)
FLAG_AFTER_FILEINTO = gettext_noop(
    "“%(flag)s” is listed after “%(folder_action)s”: the flag is applied anyway, because flags "
    "are always set before the message is filed. Put flags first so the rule reads the way it "
    "runs."
)
FORWARD_TO_SELF = gettext_noop(
    "This rule forwards to %(target)s, this address itself: the message comes back and the "
    "rules run on it again (a duplicate at best, a mail loop at worst). Use “Copy to folder” "
    "instead."
)
FORWARD_LOOP = gettext_noop(
    "Forwarding to %(target)s loops back to this address (%(path)s): the message would "
    "circle until the mail servers drop it."
)
UNREACHABLE = gettext_noop(
    "Rule %(position)d “%(name)s” matches every message and stops processing: this rule "
    "never runs."
)
NEVER_SIZE = gettext_noop(
    "No message is both larger than %(over)s and smaller than %(under)s: this rule never "
    "matches."
)
NEVER_SIZE_UNDER_ZERO = gettext_noop(
    "No message is smaller than 0 bytes: this rule never matches."
)
NEVER_CONTRADICTION = gettext_noop(
    "“%(field)s %(positive)s %(value)s” and “%(field)s %(negative)s %(other)s” cannot both "
    "hold: this rule never matches."
)

_OPERATOR_WORDS = {
    "is": gettext_noop("is"),
    "is_not": gettext_noop("is not"),
    "contains": gettext_noop("contains"),
    "not_contains": gettext_noop("does not contain"),
}
_FIELD_WORDS = {
    "from": gettext_noop("From"),
    "to": gettext_noop("To"),
    "cc": gettext_noop("Cc"),
    "reply_to": gettext_noop("Reply-To"),
    "subject": gettext_noop("Subject"),
    "body": gettext_noop("Message body"),
    "email_type": gettext_noop("E-mail type"),
    "size": gettext_noop("Size"),
}
_ACTION_WORDS = {
    "move": gettext_noop("Move to folder"),
    "copy": gettext_noop("Copy to folder"),
    "mark_read": gettext_noop("Mark as read"),
    "flag": gettext_noop("Flag"),
}


@dataclass(frozen=True)
class LintWarning:
    position: int  # 1-based, as in the rule list
    rule_name: str
    code: str  # action_after_stop, flag_after_fileinto, forward_to_self, forward_loop,
    # unreachable, never_matches; for advanced scripts (script_lint.py) also
    # unset_match_variable, invalid_folder, extension_not_required, extension_unused
    message: str
    template: str = field(default="", compare=False, repr=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The script line concerned: advanced scripts have lines, not rules (position 0).
    line: int | None = field(default=None, kw_only=True)


def _ascii_fold(text: str) -> str:
    """Sieve's default comparator i;ascii-casemap folds ASCII letters only."""
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


def _always_true(condition: Condition) -> bool:
    """Holds for every message Dovecot delivers (RFC 5322 requires a From header)."""
    if condition.field == "from":
        if condition.operator == "exists":
            return True
        if condition.operator == "matches" and condition.value and set(condition.value) == {"*"}:
            return True
        if condition.operator == "contains" and condition.value == "":
            return True  # every value contains the empty string
    return condition.field == "size" and condition.operator == "over" and parse_size(
        condition.value) == 0


def _always_matches(rule: Rule) -> bool:
    if not rule.conditions:
        return True  # compiled as `if true`
    if rule.match == "any":
        return any(_always_true(c) for c in rule.conditions)
    return all(_always_true(c) for c in rule.conditions)


def _never_alone(condition: Condition) -> tuple[str, dict] | None:
    if condition.field == "size" and condition.operator == "under" and parse_size(
            condition.value) == 0:
        return NEVER_SIZE_UNDER_ZERO, {}
    return None


def _never_together(conditions: Sequence[Condition]) -> tuple[str, dict] | None:
    """A reason why the conditions cannot all hold at once, or None."""
    for condition in conditions:
        found = _never_alone(condition)
        if found:
            return found
    overs = [(parse_size(c.value), c.value) for c in conditions
             if c.field == "size" and c.operator == "over" and parse_size(c.value) is not None]
    unders = [(parse_size(c.value), c.value) for c in conditions
              if c.field == "size" and c.operator == "under" and parse_size(c.value) is not None]
    if overs and unders:
        over, under = max(overs), min(unders)
        if over[0] + 1 >= under[0]:  # size > over and size < under: no integer fits
            return NEVER_SIZE, {"over": over[1].strip(), "under": under[1].strip()}
    # `is V` / `contains V` means some value of the field contains V (or equals it);
    # `not_contains W` (W inside V) or `is_not V` then cannot hold.
    for positive in conditions:
        if positive.operator not in _POSITIVE or not positive.value:
            continue
        for negative in conditions:
            if negative.field != positive.field or negative.operator not in _NEGATIVE:
                continue
            value, other = _ascii_fold(positive.value), _ascii_fold(negative.value)
            clash = (other in value if negative.operator == "not_contains"
                     else positive.operator == "is" and value == other)
            if clash:
                return NEVER_CONTRADICTION, {
                    "field": _FIELD_WORDS.get(positive.field, positive.field),
                    "value": positive.value, "other": negative.value,
                    "positive": _OPERATOR_WORDS[positive.operator],
                    "negative": _OPERATOR_WORDS[negative.operator],
                }
    return None


def _never_matches(rule: Rule) -> tuple[str, dict] | None:
    if not rule.conditions:
        return None
    if rule.match == "any":
        reasons = [_never_alone(c) for c in rule.conditions]
        return reasons[0] if all(reasons) else None
    return _never_together(rule.conditions)


def lint_rules(
    rules: list[Rule],
    *,
    address_email: str,
    forwards_of: Mapping[str, set[str]] | TargetsOf | None = None,
) -> list[LintWarning]:
    """Warnings for `rules` of `address_email`, in rule order.

    `forwards_of` is the forwarding graph (`forwarding.py`): a mapping from an address to
    where mail sent to it also goes, or a lookup function over the stored one; addresses
    are compared case-insensitively. Disabled rules are checked too (they may be
    enabled later) except for reachability, which only concerns rules that run.
    """
    home = fold(address_email)
    if forwards_of is None or isinstance(forwards_of, Mapping):
        forwards_of = targets_from_mapping(forwards_of or {})
    warnings: list[LintWarning] = []
    stopper: tuple[int, Rule] | None = None

    def warn(position: int, rule: Rule, code: str, template: str, params: dict) -> None:
        warnings.append(LintWarning(position, rule.name, code, template % params, template,
                                    params))

    for position, rule in enumerate(rules, start=1):
        if rule.enabled and stopper is not None:
            warn(position, rule, "unreachable", UNREACHABLE,
                 {"position": stopper[0], "name": stopper[1].name})
        kinds = [action.kind for action in rule.actions]
        if "stop" in kinds and any(kind != "stop" for kind in kinds[kinds.index("stop") + 1:]):
            warn(position, rule, "action_after_stop", ACTION_AFTER_STOP, {})
        first_folder = next((i for i, k in enumerate(kinds) if k in FOLDER_ACTIONS), None)
        if first_folder is not None:
            late_flag = next((k for k in kinds[first_folder + 1:] if k in _FLAG_ACTIONS), None)
            if late_flag:
                warn(position, rule, "flag_after_fileinto", FLAG_AFTER_FILEINTO,
                     {"flag": _ACTION_WORDS[late_flag],
                      "folder_action": _ACTION_WORDS[kinds[first_folder]]})
        seen: set[str] = set()
        for action in rule.actions:
            if action.kind != "forward":
                continue
            target = fold(action.argument)
            if not target or target in seen:
                continue
            seen.add(target)
            if target == home:
                warn(position, rule, "forward_to_self", FORWARD_TO_SELF,
                     {"target": action.argument.strip()})
                continue
            path = loop_path(target, home, forwards_of)
            if path:
                warn(position, rule, "forward_loop", FORWARD_LOOP,
                     {"target": action.argument.strip(), "path": " → ".join([home, *path])})
        never = _never_matches(rule)
        if never:
            warn(position, rule, "never_matches", never[0], never[1])
        if (rule.enabled and stopper is None and "stop" in kinds and _always_matches(rule)
                and never is None):
            stopper = (position, rule)
    return warnings
