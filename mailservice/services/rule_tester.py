"""The rule tester: a sample message through what the address runs now (or through rules
given instead), with Dovecot's sieve-test, as plain data for the page and the endpoint.
Nothing is saved; "manage rules" is needed, as for the rules themselves.

It runs with what delivery gives the script (the mail stack's extensions, the address as
envelope recipient, the Return-Path as envelope sender) and says where it cannot: the
`environment` items sieve-test fixes, and a vacation reply already sent to the sender."""
from dataclasses import asdict
from email import policy as email_policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from manager.core.errors import ServiceError

from .. import limits
from ..models import Address, Permission
from ..permissions import may_on_address, permission_refused
from ..pigeonhole import (
    DELIVERY_ENVIRONMENT,
    TESTER_ENVIRONMENT,
    SieveEngineCrash,
    SieveToolError,
    SieveToolMissing,
    simulate,
    test_rules,
)
from ..selectors import active_script, lint_for, lint_report, rules_for
from ..sieve import vacation as vacation_rules
from ..sieve.diagnostics import SieveScriptInvalid
from ..sieve.trace import Trace
from .folders import folders_in_mailbox
from .rules import invalid_sieve

MAX_MESSAGE_BYTES = limits.TEST_MESSAGE_BYTES
# How much of a vacation's text the result shows.
VACATION_BODY_EXCERPT = 1000


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
            outcomes, warnings = [], lint_report(lint_for(address))
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
        "trace": {"steps": [asdict(t) for t in trace.tests], "stopped": trace.stopped},
        "vacation": vacation_result(trace, message, **envelope),
        "environment": environment_result(trace),
        **missing_folders(address, trace),
    }


def missing_folders(address: Address, trace: Trace) -> dict:
    """Folders the script files into without `:create` that the mailbox does not have:
    sieve-test stores into them, delivery cannot, and keeps the message in INBOX instead.
    Only the backend knows the mailbox's folders; when it cannot be reached, say so."""
    wanted = [a.target for a in trace.final_actions
              if a.kind == "store" and not a.create and a.target.upper() != "INBOX"]
    if not wanted:
        return {"missing_folders": [], "folders_checked": True}
    existing = folders_in_mailbox(address)
    if existing is None:
        return {"missing_folders": [], "folders_checked": False}
    have = {name.casefold() for name in existing}
    return {"missing_folders": [f for f in dict.fromkeys(wanted) if f.casefold() not in have],
            "folders_checked": True}


def environment_result(trace: Trace) -> dict:
    """What sieve-test runs the script with against what delivery gives it; only a script
    that requires "environment" can see the difference."""
    uses = "environment" in trace.extensions
    warning = ""
    if uses:
        warning = _(
            "The script uses the “environment” extension: the tester runs it as a check after "
            "delivery (phase “%(tester_phase)s”, location “%(tester_location)s”), delivery "
            "runs it while delivering (phase “%(phase)s”, location “%(location)s”) on another "
            "host name, so a test on these items may give another result when mail arrives."
        ) % {"tester_phase": TESTER_ENVIRONMENT["phase"],
             "tester_location": TESTER_ENVIRONMENT["location"], **DELIVERY_ENVIRONMENT}
    return {"tester": dict(TESTER_ENVIRONMENT), "delivery": dict(DELIVERY_ENVIRONMENT),
            "script_uses_environment": uses, "warning": warning}


def _headers(message: bytes) -> list[tuple[str, str]]:
    parsed = BytesHeaderParser(policy=email_policy.compat32).parsebytes(message)
    return [(name, str(value)) for name, value in parsed.items()]


def _period(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
    return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}


def _why(decision: vacation_rules.VacationDecision) -> str:
    detail = {"detail": decision.detail, "to": decision.to}
    return {
        vacation_rules.NO_SENDER: _(
            "Not sent: the message has no envelope sender (Return-Path), nobody to answer."),
        vacation_rules.OWN_ADDRESS: _(
            "Not sent: the sender is the mailbox's own address (%(detail)s)."),
        vacation_rules.MAILING_LIST: _(
            "Not sent: the message comes from a mailing list (it has a %(detail)s header)."),
        vacation_rules.AUTO_SUBMITTED: _(
            "Not sent: the message was sent automatically (Auto-Submitted: %(detail)s)."),
        vacation_rules.PRECEDENCE: _(
            "Not sent: the message is bulk mail (Precedence: %(detail)s)."),
        vacation_rules.RESPONSE_SUPPRESSED: _(
            "Not sent: the sender asks for no automatic reply "
            "(X-Auto-Response-Suppress: %(detail)s)."),
        vacation_rules.SYSTEM_ADDRESS: _(
            "Not sent: %(detail)s is a system address (MAILER-DAEMON, owner-…, …-request)."),
        vacation_rules.NOT_ADDRESSED: _(
            "Not sent: neither %(detail)s nor the reply's other addresses are in the message's "
            "To, Cc or Bcc (it reached the mailbox another way: a catchall, a list, a Bcc "
            "from elsewhere)."),
        vacation_rules.ADDRESSED: _(
            "Sent to %(to)s: the message is addressed to this mailbox (%(detail)s header)."),
    }[decision.reason] % detail


def vacation_result(trace: Trace, message: bytes, *, recipient: str,
                    envelope_from: str | None) -> dict | None:
    """The vacation the script triggers, with the decision delivery makes on it."""
    if trace.vacation is None:
        return None
    decision = vacation_rules.decide(headers=_headers(message), envelope_sender=envelope_from,
                                     recipient=recipient, report=trace.vacation)
    period = _period(decision.seconds)
    repeat = _("Delivery answers each sender at most once every %(period)s: the tester cannot "
               "know whether this sender was already answered.") % {"period": period}
    return {
        "send": decision.send,
        "reason": decision.reason,
        "explanation": _why(decision),
        "once_per": repeat if period else "",
        "to": decision.to,
        "from": decision.sender,
        "subject": decision.subject,
        "interval_seconds": decision.seconds,
        "addresses": list(decision.addresses),
        "body": decision.body[:VACATION_BODY_EXCERPT],
        "body_truncated": len(decision.body) > VACATION_BODY_EXCERPT,
    }
