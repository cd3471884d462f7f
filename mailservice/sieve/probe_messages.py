"""Synthetic messages (pure) on which a script is run before it is accepted: together they
make the engine evaluate every test of the rules — each header they name is present, once
with ordinary values and once holding the values the conditions look for — so a test that
would make the engine fail at delivery fails here first. Standard rules name their headers
as conditions (`probe_messages`); any other script — advanced mode, or the whole active
script the worker is about to activate — is read for the headers its tests name
(`probe_messages_for_script`): a test on a header the probes lack is never evaluated, so a
pattern that aborts the engine would pass unseen."""
from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP

from .compiler import HEADER_NAMES
from .rules import Rule
from .script_parser import Command, ScriptSyntaxError, Test, parse_script, positional

_ORDINARY = {
    "From": "Sender <sender@example.org>",
    "To": "recipient@example.net",
    "Cc": "copy@example.net",
    "Reply-To": "replies@example.org",
    "Subject": "An ordinary message",
    "List-Id": "Some list <list.example.org>",
}

_MIME_HEADERS = {"content-type", "content-transfer-encoding", "mime-version"}


def _message(headers: dict[str, str], body: str) -> bytes:
    message = EmailMessage(policy=SMTP)
    for name, value in headers.items():
        if name.lower() in _MIME_HEADERS:
            continue  # set_content writes them (a script testing them sees those values)
        # Values are set raw: the point is what the engine sees, not a well-formed header.
        message[name] = "".join(ch if ch.isprintable() else " " for ch in value) or "-"
    if "message-id" not in {name.lower() for name in headers}:
        message["Message-ID"] = "<probe@mail-manager.invalid>"
    message.set_content(body)
    return message.as_bytes()


def probe_messages(rules: Sequence[Rule] = (), *, email_type_header: str = "X-Mail-Type"
                   ) -> list[bytes]:
    """An ordinary message, and one whose headers and body hold the rules' condition values."""
    ordinary = dict(_ORDINARY)
    ordinary[email_type_header] = "newsletter"
    messages = [_message(ordinary, "Hello,\nan ordinary body.\n")]
    wanted: dict[str, list[str]] = {}  # header name → the values the conditions look for
    body: list[str] = []
    for rule in rules:
        for condition in rule.conditions:
            if condition.field == "body":
                body.append(condition.value)
            elif condition.field == "email_type":
                wanted.setdefault(email_type_header, []).append(condition.value)
            elif condition.field in HEADER_NAMES:
                wanted.setdefault(HEADER_NAMES[condition.field], []).append(condition.value)
    if wanted or body:
        targeted = dict(ordinary)
        for name, values in wanted.items():
            # Header names compare case-insensitively: replace, don't add a second one.
            for existing in [n for n in targeted if n.lower() == name.lower()]:
                del targeted[existing]
            targeted[name] = " ".join(values)
        messages.append(_message(targeted, "\n".join(body) or "-"))
    return messages


# Tests whose first positional argument lists header names, and whether their last one
# holds the keys compared with those headers' values.
_HEADER_TESTS = {"header": True, "address": True, "exists": False, "date": True}
_HEADER_NAME_RE = re.compile(r"^[!-9;-~]{1,76}$")  # printable, no colon (RFC 5322 field-name)
_ORDINARY_VALUE = "An ordinary value <someone@example.org>"


def probe_messages_for_script(text: str, *, email_type_header: str = "X-Mail-Type") -> list[bytes]:
    """An ordinary message carrying every header the script's tests name, and one in which
    those headers (and the body) hold the keys the tests compare them with. A script that
    is not Sieve syntax gets the ordinary message only (sievec reports its error)."""
    ordinary = dict(_ORDINARY)
    ordinary[email_type_header] = "newsletter"
    try:
        commands = parse_script(text)
    except (ScriptSyntaxError, RecursionError):
        return [_message(ordinary, "Hello,\nan ordinary body.\n")]
    wanted: dict[str, list[str]] = {}
    body: list[str] = []
    for test in _tests(commands):
        strings = [a.value for a in positional(test) if a.kind == "strings"]
        if test.name == "body" and strings:
            body += strings[-1]
        if test.name not in _HEADER_TESTS or not strings:
            continue
        keys = strings[-1] if _HEADER_TESTS[test.name] and len(strings) > 1 else ()
        for name in strings[0]:
            if _HEADER_NAME_RE.match(name) and "${" not in name:
                wanted.setdefault(_existing_name(ordinary, name), []).extend(keys)
    plain = {**ordinary, **{name: ordinary.get(name, _ORDINARY_VALUE) for name in wanted}}
    messages = [_message(plain, "Hello,\nan ordinary body.\n")]
    if any(wanted.values()) or body:
        targeted = {**plain, **{name: " ".join(keys) for name, keys in wanted.items() if keys}}
        messages.append(_message(targeted, "\n".join(body) or "-"))
    return messages


def _existing_name(headers: dict[str, str], name: str) -> str:
    """Header names compare case-insensitively: the spelling already used, if any."""
    return next((n for n in headers if n.lower() == name.lower()), name)


def _tests(commands: Sequence[Command]):
    for command in commands:
        for test in command.tests:
            yield from _subtests(test)
        yield from _tests(command.block or ())


def _subtests(test: Test):
    yield test
    for inner in test.tests:
        yield from _subtests(inner)
