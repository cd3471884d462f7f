"""Would delivery send a vacation reply (pure)? sieve-test only prints the action; Dovecot
decides when it commits it, on the message and the envelope. This follows Pigeonhole
0.5's `act_vacation_commit` check by check, in its order, with the settings the mail
stack keeps at their defaults (`sieve_vacation_dont_check_recipient`,
`sieve_vacation_use_original_recipient` and `sieve_user_email` unset).

One check cannot be made here: Dovecot answers each sender once per period (per "handle":
the text, subject and from), remembered in the mailbox's home. The decision is what
delivery does unless it already answered that sender within the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses

from .trace import VacationReport

# Headers that mark list mail, and those searched for the recipient's own address.
LIST_HEADERS = ("list-id", "list-owner", "list-subscribe", "list-post", "list-unsubscribe",
                "list-help", "list-archive")
MY_ADDRESS_HEADERS = ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc")
BULK_PRECEDENCE = ("junk", "bulk", "list")
SYSTEM_LOCAL_PARTS = ("mailer-daemon", "listserv", "majordomo")
SUPPRESSING_FLAGS = ("all", "oof")
DEFAULT_SUBJECT = "Automated reply"

# The reasons, in the order Dovecot checks them; "addressed" is the one that replies.
NO_SENDER = "no_sender"
OWN_ADDRESS = "own_address"
MAILING_LIST = "mailing_list"
AUTO_SUBMITTED = "auto_submitted"
PRECEDENCE = "precedence"
RESPONSE_SUPPRESSED = "response_suppressed"
SYSTEM_ADDRESS = "system_address"
NOT_ADDRESSED = "not_addressed"
ADDRESSED = "addressed"
REASONS = (NO_SENDER, OWN_ADDRESS, MAILING_LIST, AUTO_SUBMITTED, PRECEDENCE,
           RESPONSE_SUPPRESSED, SYSTEM_ADDRESS, NOT_ADDRESSED, ADDRESSED)


@dataclass(frozen=True)
class VacationDecision:
    send: bool
    reason: str  # one of REASONS
    detail: str  # the header or address that decided, for the message shown
    to: str  # the reply goes to the envelope sender
    sender: str  # the reply's From
    subject: str
    seconds: int | None  # the period: one reply per sender within it
    body: str
    addresses: tuple[str, ...] = ()


def _values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [" ".join(str(value).split()) for key, value in headers if key.lower() == name]


def _same(one: str, other: str) -> bool:
    return bool(one) and one.strip().lower() == other.strip().lower()


def _local_part(address: str) -> str:
    return address.rpartition("@")[0] if "@" in address else address


def is_system_address(address: str) -> bool:
    """The senders Dovecot never answers: MAILER-DAEMON, LISTSERV, majordomo, owner-…,
    …-request (case as in Pigeonhole: the last two are case-sensitive)."""
    local = _local_part(address)
    return (local.lower() in SYSTEM_LOCAL_PARTS or "-request" in local
            or local.startswith("owner-"))


def _found_in(values: Iterable[str], address: str) -> bool:
    return any(_same(found, address) for _name, found in getaddresses(list(values)))


def decide(*, headers: Sequence[tuple[str, str]], envelope_sender: str | None, recipient: str,
           report: VacationReport) -> VacationDecision:
    """What delivery does with the vacation `report` for a message with `headers` (name,
    value pairs, in order) delivered from `envelope_sender` to `recipient`."""
    sender = (envelope_sender or "").strip()
    subjects = _values(headers, "subject")
    subject = report.subject or (f"Auto: {subjects[0]}" if subjects else DEFAULT_SUBJECT)

    def decision(send: bool, reason: str, detail: str = "", reply_from: str = "") -> VacationDecision:
        return VacationDecision(send=send, reason=reason, detail=detail, to=sender,
                                sender=report.sender or reply_from or recipient,
                                subject=subject, seconds=report.seconds, body=report.reason,
                                addresses=report.addresses)

    if not sender:
        return decision(False, NO_SENDER)
    for own in (recipient, *report.addresses):
        if _same(sender, own):
            return decision(False, OWN_ADDRESS, own)
    for name in LIST_HEADERS:
        if _values(headers, name):
            return decision(False, MAILING_LIST, name)
    for value in _values(headers, "auto-submitted"):
        if value.lower() != "no":
            return decision(False, AUTO_SUBMITTED, value)
    for value in _values(headers, "precedence"):
        if value.lower() in BULK_PRECEDENCE:
            return decision(False, PRECEDENCE, value)
    for value in _values(headers, "x-auto-response-suppress"):
        for flag in value.split(","):
            if flag.strip().lower() in SUPPRESSING_FLAGS:
                return decision(False, RESPONSE_SUPPRESSED, flag.strip())
    if is_system_address(sender):
        return decision(False, SYSTEM_ADDRESS, sender)
    for name in MY_ADDRESS_HEADERS:
        values = _values(headers, name)
        if not values:
            continue
        if _found_in(values, recipient):
            return decision(True, ADDRESSED, name, recipient)
        for own in report.addresses:
            if _found_in(values, own):
                return decision(True, ADDRESSED, name, own)
    return decision(False, NOT_ADDRESSED, recipient)
