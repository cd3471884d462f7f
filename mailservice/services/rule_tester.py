"""The rule tester: a sample message through what the address runs now (or through rules
given instead), with Dovecot's sieve-test, as plain data for the page and the endpoint.
Nothing is saved; "manage rules" is needed, as for the rules themselves."""
from dataclasses import asdict
from email import policy as email_policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from django.conf import settings
from django.utils.translation import gettext as _

from manager.core.errors import ServiceError

from .. import limits
from ..models import Address, Permission
from ..permissions import may_on_address, permission_refused
from ..pigeonhole import SieveEngineCrash, SieveToolError, SieveToolMissing, simulate, test_rules
from ..selectors import active_script, lint_for, lint_report, rules_for
from ..sieve.diagnostics import SieveScriptInvalid
from .rules import invalid_sieve

MAX_MESSAGE_BYTES = limits.TEST_MESSAGE_BYTES


def check_message_size(size: int, field: str = "message") -> None:
    """An uploaded sample message is refused above 10 MB (before it is read)."""
    if size > MAX_MESSAGE_BYTES:
        message = _("The message is larger than 10 MB.")
        raise ServiceError(message, code="invalid", fields={field: [message]})


def envelope_sender(message: bytes) -> str | None:
    """The envelope sender delivery would see: the Return-Path the last MTA wrote, if any
    (sieve-test falls back to the message's own headers)."""
    headers = BytesHeaderParser(policy=email_policy.default).parsebytes(message)
    try:
        path = headers.get("Return-Path")
    except (ValueError, IndexError):  # a malformed header is no envelope
        return None
    address = parseaddr(str(path or ""))[1]
    return address or None


def run_rule_test(*, actor, address: Address, message: bytes, rules=None) -> dict:
    """Run what the address runs now on `message`: the standard rules (or the `rules`
    given) with per-rule outcomes, or in advanced mode the advanced script as a whole (no
    per-rule outcomes). The envelope is the one delivery gives: the recipient is the
    address itself, the sender the message's Return-Path."""
    if not may_on_address(actor, Permission.MANAGE_RULES, address):
        raise permission_refused([Permission.MANAGE_RULES])
    check_message_size(len(message))
    advanced = rules is None and address.sieve_mode == Address.SieveMode.ADVANCED
    envelope = {"recipient": address.email, "envelope_from": envelope_sender(message)}
    try:
        if advanced:
            script = address.sieve_script
            trace = simulate(script, message, **envelope)
            outcomes, warnings = [], []
        else:
            current = rules is None
            rules = rules_for(address) if current else rules
            # The address's own rules run inside its live script, auto-reply included.
            live = active_script(address, rules) if current else None
            result = test_rules(rules, message, email_type_header=settings.MAIL_TYPE_HEADER,
                                script_text=live, **envelope)
            trace, script = result.trace, result.script.text
            outcomes = [{"position": o.position, "name": o.name, "enabled": o.enabled,
                         "matched": o.matched, "applied": o.applied,
                         "actions": [asdict(a) for a in o.actions]} for o in result.outcomes]
            warnings = lint_report(lint_for(address, rules))
    except SieveScriptInvalid as exc:
        raise invalid_sieve(exc.errors) from exc
    except SieveEngineCrash as exc:
        raise invalid_sieve([f"Dovecot's Sieve engine stops on this script ({exc})"]) from exc
    except (SieveToolMissing, SieveToolError) as exc:
        raise ServiceError(f"The Sieve tester is not available: {exc}", code="validator_unavailable",
                           status=503) from exc
    return {
        "mode": "advanced" if advanced else "standard",
        "outcomes": outcomes,
        "final_actions": [asdict(a) for a in trace.final_actions],
        "folders": list(trace.folders),
        "redirects": list(trace.redirects),
        "discarded": trace.discarded,
        "header_edits": [asdict(e) for e in trace.header_edits],
        "errors": list(trace.errors),
        "lint": warnings,
        "script": script,
        "envelope": {"to": envelope["recipient"], "from": envelope["envelope_from"] or ""},
    }
