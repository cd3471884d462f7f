"""The active Sieve script of an address: auto-reply plus standard rules, or the
advanced-mode script as written. Pure functions plus one loader for the models."""
from dataclasses import dataclass

from django.conf import settings

from .sieve.compiler import SCRIPT_HEADER, compile_rules, quote, require_line
from .sieve.rules import Rule


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


def standard_rules(address) -> list[Rule]:
    """The address's standard-mode rules, in order (the sorting-rules models provide them)."""
    loader = getattr(address, "_standard_rules", None)
    if loader is not None:
        return loader
    try:
        from .rules_store import rules_for
    except ImportError:
        return []
    return rules_for(address)


def active_script(address, rules: list[Rule] | None = None) -> str | None:
    if address.sieve_mode == "advanced":
        return address.sieve_script or None
    autoreply = None
    if address.autoreply_enabled:
        autoreply = AutoReply(address.autoreply_subject, address.autoreply_body)
    return compose(email=address.email, is_catchall=address.is_catchall, autoreply=autoreply,
                   rules=standard_rules(address) if rules is None else rules,
                   email_type_header=settings.MAIL_TYPE_HEADER)
