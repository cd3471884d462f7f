"""Standard-mode sorting rules: the data model and its validation (pure, no Django)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import limits

ADDRESS_FIELDS = ("from", "to", "cc", "reply_to")
TEXT_FIELDS = (*ADDRESS_FIELDS, "subject")
FIELDS = (*TEXT_FIELDS, "size", "body", "email_type")

TEXT_OPERATORS = ("contains", "not_contains", "is", "is_not", "matches", "regex", "exists")
SIZE_OPERATORS = ("over", "under")
BODY_OPERATORS = ("contains", "not_contains")
EMAIL_TYPE_OPERATORS = ("is", "is_not")
EMAIL_TYPES = ("ham", "spam", "transactional", "bounce")

OPERATORS_BY_FIELD: dict[str, tuple[str, ...]] = {
    **{name: TEXT_OPERATORS for name in TEXT_FIELDS},
    "size": SIZE_OPERATORS,
    "body": BODY_OPERATORS,
    "email_type": EMAIL_TYPE_OPERATORS,
}

ACTION_KINDS = ("move", "copy", "forward", "delete", "mark_read", "flag", "stop")
FOLDER_ACTIONS = ("move", "copy")
MATCH_POLICIES = ("all", "any")

# The values and their reasons are in mailservice/limits.py.
MAX_REDIRECTS = limits.REDIRECTS_PER_RULE
MAX_ACTIONS = limits.ACTIONS_PER_RULE
MAX_CONDITIONS = limits.CONDITIONS_PER_RULE
MAX_NAME_LENGTH = limits.RULE_NAME_CHARS
MAX_VALUE_LENGTH = limits.CONDITION_VALUE_CHARS
MAX_FOLDER_SEGMENT_BYTES = limits.FOLDER_SEGMENT_BYTES
MAX_FOLDER_LENGTH = limits.FOLDER_CHARS
MAX_SIZE_BYTES = limits.SIZE_CONDITION_BYTES

_SIZE_RE = re.compile(r"^\s*(\d{1,12})\s*([KMG]?)(?:i?B)?\s*$", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
# A plain dot-atom addr-spec: what Pigeonhole's redirect accepts and SMTP can deliver
# without SMTPUTF8. Quoted local parts and IDN domains are refused on purpose.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS_RE = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")
_INBOX_PREFIX_RE = re.compile(r"^INBOX/", re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    """One test of a rule, e.g. Condition("from", "contains", "facebook.com")."""

    field: str
    operator: str
    value: str = ""


@dataclass(frozen=True)
class Action:
    """What a matching rule does; `argument` is a folder (move, copy) or an address (forward)."""

    kind: str
    argument: str = ""
    keep_copy: bool = False


@dataclass(frozen=True)
class Rule:
    name: str
    enabled: bool = True
    match: str = "all"
    conditions: tuple[Condition, ...] = field(default_factory=tuple)
    actions: tuple[Action, ...] = field(default_factory=tuple)


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def parse_size(value: str) -> int | None:
    """Bytes for "500K", "2M", "1G", "1234" (also "500 KB", "2MiB"); None when invalid."""
    found = _SIZE_RE.match(value or "")
    if not found:
        return None
    size = int(found.group(1)) * _SIZE_FACTORS[found.group(2).upper()]
    return size if size <= MAX_SIZE_BYTES else None


def sieve_size(value: str) -> str | None:
    """The Sieve number for a size value ("500K", "2M", "1234"); None when invalid."""
    if parse_size(value) is None:
        return None
    found = _SIZE_RE.match(value)
    return f"{int(found.group(1))}{found.group(2).upper()}"


def normalize_folder(name: str) -> str:
    """The folder as written in the script: trimmed, without a leading "INBOX/"."""
    name = (name or "").strip()
    return _INBOX_PREFIX_RE.sub("", name, count=1)


def folder_errors(name: str) -> list[str]:
    """Why a folder name cannot be used (empty list when it can)."""
    folder = normalize_folder(name)
    if not folder:
        return ["Enter a folder name."]
    if has_control_characters(folder):
        return ["A folder name cannot contain control characters (tabs, line breaks…)."]
    if len(folder) > MAX_FOLDER_LENGTH:
        return [f"A folder name is at most {MAX_FOLDER_LENGTH} characters long."]
    errors = []
    segments = folder.split("/")
    if any(not segment.strip() for segment in segments):
        errors.append('Sub-folders are separated by a single "/" and none can be empty.')
    if any(segment in (".", "..") for segment in segments):
        errors.append('"." and ".." are not valid folder names.')
    if any(len(segment.encode("utf-8")) > MAX_FOLDER_SEGMENT_BYTES for segment in segments):
        errors.append("Each sub-folder name is at most 255 bytes long.")
    if folder.startswith("~"):
        errors.append('A folder name cannot start with "~".')
    return errors


def address_errors(address: str) -> list[str]:
    address = (address or "").strip()
    if not address:
        return ["Enter an e-mail address."]
    if len(address) > 254 or not _ADDRESS_RE.match(address) or len(address.split("@")[0]) > 64:
        return ["Enter a valid e-mail address (name@domain.tld, ASCII only)."]
    return []


def _value_errors(condition: Condition) -> list[str]:
    if condition.operator == "exists":
        return []
    value = condition.value or ""
    if condition.field == "size":
        if not value.strip():
            return ["Enter a size."]
        if parse_size(value) is None:
            return ['Enter a size such as "500K", "2M" or a number of bytes (at most 2 GB).']
        return []
    if condition.field == "email_type":
        if value not in EMAIL_TYPES:
            return ["Choose one of: " + ", ".join(EMAIL_TYPES) + "."]
        return []
    if not value:
        return ["This value is required."]
    if len(value) > MAX_VALUE_LENGTH:
        return [f"At most {MAX_VALUE_LENGTH} characters."]
    if has_control_characters(value.replace("\t", "")):
        return ["Line breaks and control characters are not allowed."]
    if condition.operator == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            return [f"Invalid regular expression: {exc}."]
    return []


def validate_rule(rule: Rule) -> dict[str, list[str]]:
    """Field errors of a rule, keyed "name", "match", "conditions", "conditions.<i>.<attr>",
    "actions", "actions.<i>.<attr>". An empty dict means the rule can be compiled and
    pushed (the compiled script is still checked by Dovecot before saving)."""
    errors: dict[str, list[str]] = {}

    def add(key: str, messages: Iterable[str]) -> None:
        messages = list(messages)
        if messages:
            errors.setdefault(key, []).extend(messages)

    name = rule.name or ""
    if not name.strip():
        add("name", ["Enter a name."])
    elif len(name) > MAX_NAME_LENGTH:
        add("name", [f"At most {MAX_NAME_LENGTH} characters."])
    elif has_control_characters(name):
        add("name", ["Line breaks and control characters are not allowed."])
    if rule.match not in MATCH_POLICIES:
        add("match", ['Choose "all" or "any".'])

    if not rule.conditions:
        add("conditions", ["Add at least one condition."])
    elif len(rule.conditions) > MAX_CONDITIONS:
        add("conditions", [f"At most {MAX_CONDITIONS} conditions."])
        return errors  # not worth checking each of thousands
    for index, condition in enumerate(rule.conditions):
        prefix = f"conditions.{index}"
        if condition.field not in FIELDS:
            add(f"{prefix}.field", [f"Unknown field {condition.field!r}."])
            continue
        allowed = OPERATORS_BY_FIELD[condition.field]
        if condition.operator not in allowed:
            add(
                f"{prefix}.operator",
                [
                    f"{condition.operator!r} is not available here; use one of: {', '.join(allowed)}."
                ],
            )
            continue
        add(f"{prefix}.value", _value_errors(condition))

    if not rule.actions:
        add("actions", ["Add at least one action."])
    elif len(rule.actions) > MAX_ACTIONS:
        add("actions", [f"At most {MAX_ACTIONS} actions."])
        return errors
    for index, action in enumerate(rule.actions):
        prefix = f"actions.{index}"
        if action.kind not in ACTION_KINDS:
            add(f"{prefix}.kind", [f"Unknown action {action.kind!r}."])
        elif action.kind in FOLDER_ACTIONS:
            add(f"{prefix}.argument", folder_errors(action.argument))
        elif action.kind == "forward":
            add(f"{prefix}.argument", address_errors(action.argument))
    kinds = {action.kind for action in rule.actions}
    if "delete" in kinds and kinds & {"move", "copy", "forward"}:
        # Sieve would still file or forward the message: "delete" only cancels the keep.
        add("actions", ["Delete cannot be combined with move, copy or forward."])
    if sum(action.kind == "forward" for action in rule.actions) > MAX_REDIRECTS:
        add("actions", [f"At most {MAX_REDIRECTS} forwards."])
    return errors


def validate_rule_set(rules: Iterable[Rule]) -> list[str]:
    """Errors that concern the enabled rules together (server limits per message)."""
    enabled = [rule for rule in rules if rule.enabled]
    forwards = {
        action.argument.strip().lower()
        for rule in enabled
        for action in rule.actions
        if action.kind == "forward"
    }
    errors = []
    if len(forwards) > MAX_REDIRECTS:
        errors.append(
            f"The server forwards a message to at most {MAX_REDIRECTS} addresses; "
            f"the enabled rules name {len(forwards)}."
        )
    return errors


# Plain-data form (JSON column, API payloads, the "rule from an e-mail" prefill).


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "match": rule.match,
        "conditions": [
            {"field": c.field, "operator": c.operator, "value": c.value} for c in rule.conditions
        ],
        "actions": [
            {"kind": a.kind, "argument": a.argument, "keep_copy": a.keep_copy} for a in rule.actions
        ],
    }


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """Build a Rule from plain data; unknown keys are ignored, nothing is validated."""
    return Rule(
        name=str(data.get("name", "")),
        enabled=bool(data.get("enabled", True)),
        match=str(data.get("match", "all")),
        conditions=tuple(
            Condition(
                field=str(item.get("field", "")),
                operator=str(item.get("operator", "")),
                value=str(item.get("value", "") or ""),
            )
            for item in data.get("conditions") or ()
        ),
        actions=tuple(
            Action(
                kind=str(item.get("kind", "")),
                argument=str(item.get("argument", "") or ""),
                keep_copy=bool(item.get("keep_copy", False)),
            )
            for item in data.get("actions") or ()
        ),
    )
