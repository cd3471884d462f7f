"""Synthetic messages (pure) on which a script is run before it is accepted: together they
make the engine evaluate every test of the rules — each header they name is present, once
with ordinary values and once holding the values the conditions look for — so a test that
would make the engine fail at delivery fails here first."""
from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP

from .compiler import HEADER_NAMES
from .rules import Rule

_ORDINARY = {
    "From": "Sender <sender@example.org>",
    "To": "recipient@example.net",
    "Cc": "copy@example.net",
    "Reply-To": "replies@example.org",
    "Subject": "An ordinary message",
    "List-Id": "Some list <list.example.org>",
}


def _message(headers: dict[str, str], body: str) -> bytes:
    message = EmailMessage(policy=SMTP)
    for name, value in headers.items():
        # Values are set raw: the point is what the engine sees, not a well-formed header.
        message[name] = "".join(ch if ch.isprintable() else " " for ch in value) or "-"
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
