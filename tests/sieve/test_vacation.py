"""Whether delivery would send a vacation reply: Pigeonhole's checks, in its order."""

import pytest

from mailservice.sieve import vacation
from mailservice.sieve.trace import VacationReport

ME = "alice@domain.xyz"
REPORT = VacationReport(seconds=86400, subject=None, sender=None, reason="Away",
                        addresses=("alias@domain.xyz",))
BASE = [("From", "Bob <bob@example.org>"), ("To", "Alice <Alice@Domain.xyz>"),
        ("Subject", "Lunch?")]


def decide(extra=(), *, headers=None, sender="bob@example.org", report=REPORT):
    return vacation.decide(headers=[*(BASE if headers is None else headers), *extra],
                           envelope_sender=sender, recipient=ME, report=report)


def test_mail_addressed_to_me_is_answered_from_me_with_an_auto_subject():
    decision = decide()
    assert (decision.send, decision.reason, decision.detail) == (True, "addressed", "to")
    assert (decision.to, decision.sender, decision.subject) == ("bob@example.org", ME, "Auto: Lunch?")
    assert decision.seconds == 86400 and decision.body == "Away"


def test_an_alternative_address_in_cc_is_answered_from_that_address():
    decision = decide(headers=[("To", "team@example.org"), ("Cc", "alias@domain.xyz")])
    assert decision.send and decision.detail == "cc" and decision.sender == "alias@domain.xyz"
    assert decision.subject == vacation.DEFAULT_SUBJECT


def test_the_given_subject_and_from_are_used():
    report = VacationReport(seconds=None, subject="Away", sender="Alice <alice@domain.xyz>",
                            reason="x")
    decision = decide(report=report)
    assert (decision.subject, decision.sender) == ("Away", "Alice <alice@domain.xyz>")


@pytest.mark.parametrize(("extra", "headers", "sender", "reason", "detail"), [
    ((), None, None, "no_sender", ""),
    ((), None, "", "no_sender", ""),
    ((), None, "ALICE@domain.xyz", "own_address", ME),
    ((), None, "alias@domain.xyz", "own_address", "alias@domain.xyz"),
    ([("List-Id", "<dev.lists.example>")], None, "bob@example.org", "mailing_list", "list-id"),
    ([("List-Unsubscribe", "<mailto:u@x>")], None, "bob@example.org", "mailing_list",
     "list-unsubscribe"),
    ([("Auto-Submitted", "auto-generated")], None, "bob@example.org", "auto_submitted",
     "auto-generated"),
    ([("Precedence", "Bulk")], None, "bob@example.org", "precedence", "Bulk"),
    ([("X-Auto-Response-Suppress", "DR, OOF")], None, "bob@example.org",
     "response_suppressed", "OOF"),
    ((), None, "MAILER-DAEMON@example.org", "system_address", "MAILER-DAEMON@example.org"),
    ((), None, "owner-dev@lists.example", "system_address", "owner-dev@lists.example"),
    ((), None, "dev-request@lists.example", "system_address", "dev-request@lists.example"),
    ((), [("To", "someone@domain.xyz")], "bob@example.org", "not_addressed", ME),
    ((), [("From", "bob@example.org")], "bob@example.org", "not_addressed", ME),
])
def test_delivery_does_not_answer(extra, headers, sender, reason, detail):
    decision = decide(extra, headers=headers, sender=sender)
    assert (decision.send, decision.reason, decision.detail) == (False, reason, detail)


def test_auto_submitted_no_and_a_personal_precedence_are_answered():
    assert decide([("Auto-Submitted", "no"), ("Precedence", "first-class")]).send


def test_the_checks_run_in_pigeonholes_order():
    # A list message from a system address, not addressed to me: the list check comes first.
    decision = decide([("List-Id", "<x>")], headers=[("To", "x@example.org")],
                      sender="owner-x@example.org")
    assert decision.reason == "mailing_list"


def test_owner_and_request_are_case_sensitive_as_in_pigeonhole():
    assert not vacation.is_system_address("Owner-dev@lists.example")
    assert vacation.is_system_address("majordomo@lists.example")
