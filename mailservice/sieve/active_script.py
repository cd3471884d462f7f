"""The script an address runs in standard mode (pure): its auto-reply, then its compiled
rules. `selectors.active_script` picks this or the advanced-mode script as written."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .compiler import SCRIPT_HEADER, compile_rules, quote, require_line
from .rules import Rule
from .vacation import BULK_PRECEDENCE, LIST_HEADERS

# What an auto-reply does at a given moment (Address.AutoReplyState names them).
OFF, SCHEDULED, ACTIVE, ENDED = "off", "scheduled", "active", "ended"


@dataclass(frozen=True)
class AutoReply:
    subject: str
    body: str
    start: datetime | None = None  # aware; the first moment it answers
    end: datetime | None = None  # aware; the first moment it no longer answers
    days: int = 1  # one reply per sender within this many days
    # The recipients it answers for besides the address itself (its aliases).
    addresses: tuple[str, ...] = ()


def autoreply_state(*, enabled: bool, start: datetime | None, end: datetime | None,
                    now: datetime) -> str:
    """OFF, SCHEDULED (starts later), ACTIVE (answers now) or ENDED. The period is
    [start, end): the script compares the same way."""
    if not enabled:
        return OFF
    if start is not None and now < start:
        return SCHEDULED
    if end is not None and now >= end:
        return ENDED
    return ACTIVE


def sieve_utc(moment: datetime) -> str:
    """`currentdate :zone "+0000"` gives iso8601 as 2026-12-01T05:45:18Z, so the same
    shape in UTC compares correctly as text (`:value "ge"` / `"lt"`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quote_body(text: str) -> str:
    """The reply's text as a Sieve string with its line breaks (a quoted string may span
    lines, RFC 5228 §2.4.2); other control characters go, as in `quote`."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(quote(line)[1:-1] for line in lines).join('""')


def answered_addresses(email: str, reply: AutoReply) -> list[str]:
    """The address first, then its listed aliases, each once (case aside)."""
    seen, result = set(), []
    for address in (email, *reply.addresses):
        if address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return result


def autoreply_lines(email: str, reply: AutoReply, *, is_catchall: bool, needs: set[str]) -> list[str]:
    """A vacation action inside its period, never for lists, bulk or automatic mail.
    Pigeonhole declines these too when it commits the reply; the script says it itself so
    that the promise holds whatever the engine's version, and the tester's trace shows it.
    `:addresses` lists only the address's own addresses: Pigeonhole then declines mail
    that names none of them in To/Cc (mail that reached the catchall through the catchall,
    SPEC §2); on the catchall the script also tests it, for the same reason."""
    needs.add("vacation")
    own = answered_addresses(email, reply)
    own_list = "[" + ", ".join(quote(a) for a in own) + "]"
    tests = []
    if reply.start is not None:
        tests.append(f'currentdate :zone "+0000" :value "ge" "iso8601" {quote(sieve_utc(reply.start))}')
    if reply.end is not None:
        tests.append(f'currentdate :zone "+0000" :value "lt" "iso8601" {quote(sieve_utc(reply.end))}')
    if tests:
        needs.update(("date", "relational"))
    if is_catchall:
        tests.append(f'address :is ["to", "cc"] {own_list}')
    automatic = [f"exists {quote(name)}" for name in LIST_HEADERS]
    automatic.append("header :is \"precedence\" [" + ", ".join(quote(p) for p in BULK_PRECEDENCE) + "]")
    automatic.append('allof (exists "auto-submitted", not header :is "auto-submitted" "no")')
    tests.append("not anyof (" + ",\n                     ".join(automatic) + ")")
    action = (f"vacation :days {int(reply.days)} :subject {quote(reply.subject or 'Auto-reply')}\n"
              f"             :addresses {own_list}\n"
              f"             {quote_body(reply.body)};")
    return ["if allof (" + ",\n          ".join(tests) + ") {", f"    {action}", "}"]


def compose(*, email: str, is_catchall: bool, autoreply: AutoReply | None, rules: list[Rule],
            email_type_header: str) -> str | None:
    """The standard-mode script: the auto-reply first (it never stops delivery), then the
    compiled rules. None when there is nothing to run."""
    if autoreply is None and not any(r.enabled for r in rules):
        return None
    compiled = compile_rules(rules, email_type_header=email_type_header)
    if autoreply is None:
        return compiled.text
    needs = set(compiled.extensions)
    vacation = autoreply_lines(email, autoreply, is_catchall=is_catchall, needs=needs)
    body = compiled.text.split("\n")
    # Drop the compiler's own header and require line; ours covers both parts.
    body = [line for line in body if line != SCRIPT_HEADER and not line.startswith("require ")]
    return "\n".join([SCRIPT_HEADER, require_line(needs), "", "# Auto-reply", *vacation, *body]).rstrip() + "\n"
