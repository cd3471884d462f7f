"""The script an address runs in standard mode (pure): its auto-reply, then its compiled
rules. `selectors.active_script` picks this or the advanced-mode script as written."""
from __future__ import annotations

from dataclasses import dataclass

from .compiler import SCRIPT_HEADER, compile_rules, quote, require_line
from .rules import Rule


@dataclass(frozen=True)
class AutoReply:
    subject: str
    body: str


def autoreply_lines(email: str, reply: AutoReply, *, is_catchall: bool, needs: set[str]) -> list[str]:
    """A vacation action. On the catchall it answers only mail addressed to the catchall
    itself: mail that reached it through the catchall carries another recipient in
    To/Cc, and answering it would feed loops and backscatter (SPEC §2)."""
    needs.add("vacation")
    action = (f"vacation :days 1 :subject {quote(reply.subject or 'Auto-reply')} "
              f":addresses [{quote(email)}] {quote(reply.body)};")
    if is_catchall:
        return [f'if address :is ["to", "cc"] {quote(email)} {{', f"    {action}", "}"]
    return [action]


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
