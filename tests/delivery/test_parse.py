"""The delivery log's parser on lines recorded from the local stack (Postfix 3.7.11 with long
queue ids and Subject logging, Dovecot 2.3.19 with deliver_log_format and mail_log):
one event per (message, recipient) with the status, the envelope, the alias, the folder
and the Sieve action joined through the LMTP session id.

The recording sent, on example.test: a plain delivery to bob, a message bob's rule files
into Reports, one to the alias sales (→ alice, bob: one LMTP transaction, bob's session
":R2"), to an unknown and to a disabled address, to carol whose script redirects to
alice, to fwd (a redirection to another server, which the stack refuses), a message for
alice and bob, three submissions by alice (to dan who answers with a vacation, to a
remote address and to an unknown one) and one to alice while her mailbox was unreadable.

`UPDATE_GOLDEN=1` rewrites recorded/events.json after a deliberate change."""
import json
import os
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailservice.delivery.parse import (
    ACCEPTED,
    BOUNCED,
    DEFERRED,
    DELIVERED,
    FORWARDED,
    INCOMING,
    OUTGOING,
    REJECTED,
    Correlator,
    decoded_subject,
    log_time,
)

RECORDED = Path(__file__).parent / "recorded"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the recording was made that morning


def lines(name):
    return (RECORDED / name).read_text().splitlines()


def parse(dovecot, postfix, now=NOW, state=None):
    correlator = Correlator(state)
    correlator.read_dovecot(dovecot, now)
    return correlator.read_postfix(postfix, now), correlator


@pytest.fixture(scope="module")
def events():
    records, _correlator = parse(lines("dovecot.log"), lines("postfix.log"))
    return records


def find(events, **fields):
    found = [e for e in events if all(getattr(e, k) == v for k, v in fields.items())]
    assert len(found) == 1, (fields, found)
    return found[0]


def test_the_recorded_logs_give_the_golden_events(events):
    got = [dict(asdict(e), time=e.time.isoformat()) for e in events]
    golden = RECORDED / "events.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    assert got == json.loads(golden.read_text())


def test_a_plain_delivery_is_delivered_to_inbox_with_its_envelope_and_subject(events):
    event = find(events, subject="plain delivered")
    assert event.status == DELIVERED and event.direction == INCOMING
    assert (event.sender, event.recipient, event.original_recipient) == (
        "someone@outside.test", "bob@example.test", "")
    assert event.queue_id == "4jdz116Mm1zJN7Z" and event.dsn == "2.0.0"
    assert event.message_id == "<38a499770022@example.test>" and event.size == 314
    assert event.folder == "INBOX" and event.session == "IBknNiWtDmvpPgAAg+zDdQ"
    assert event.time == datetime(2026, 12, 1, 11, 19, 1, tzinfo=UTC)


def test_a_rule_filing_into_a_folder_is_joined_through_the_session(events):
    event = find(events, subject="monthly report")
    assert event.status == DELIVERED and event.folder == "Reports"
    assert event.sieve_action == "fileinto action: stored mail into mailbox 'Reports'"


def test_an_alias_gives_one_event_per_target_with_the_alias_as_original_recipient(events):
    alice = find(events, subject="to the alias", recipient="alice@example.test")
    bob = find(events, subject="to the alias", recipient="bob@example.test")
    assert alice.original_recipient == bob.original_recipient == "sales@example.test"
    assert alice.queue_id == bob.queue_id
    # One LMTP transaction: the second recipient's session is the first's with ":R2".
    assert bob.session == alice.session + ":R2"
    assert alice.folder == bob.folder == "INBOX"
    assert bob.sieve_action == "stored mail into mailbox 'INBOX'" and alice.sieve_action == ""


def test_the_second_recipient_of_a_reused_connection_keeps_both_suffixes(events):
    bob = find(events, message_id="<two@x>", recipient="bob@example.test")
    assert bob.session.endswith(":T2:R2") and bob.folder == "INBOX"
    assert bob.subject == "two rcpts Ünïcode"


def test_an_unknown_recipient_is_rejected_at_rcpt_with_the_reason(events):
    event = find(events, recipient="nobody@example.test", direction=INCOMING)
    assert event.status == REJECTED and event.queue_id == ""
    assert event.dsn == "5.1.1"
    assert event.reason == "Recipient address rejected: User unknown in virtual mailbox table"
    assert event.sender == "someone@outside.test"


def test_a_disabled_address_is_rejected_with_its_own_reason(events):
    event = find(events, recipient="off@example.test")
    assert (event.status, event.dsn) == (REJECTED, "5.2.1")
    assert event.reason == "Recipient address rejected: Mailbox disabled"


def test_a_sieve_redirect_without_keep_is_forwarded_and_the_copy_is_delivered(events):
    carol = find(events, recipient="carol@example.test")
    assert carol.status == FORWARDED and carol.folder == ""
    assert carol.sieve_action == "redirect action: forwarded to <alice@example.test>"
    copy = find(events, recipient="alice@example.test", subject="sieve redirect")
    assert copy.status == DELIVERED and copy.message_id == carol.message_id
    assert copy.queue_id != carol.queue_id


def test_a_redirection_refused_downstream_is_bounced_for_the_original_recipient(events):
    event = find(events, original_recipient="fwd@example.test")
    assert (event.status, event.recipient, event.dsn) == (BOUNCED, "erin@remote.test", "5.0.0")
    assert event.reason == "outbound mail is disabled in the local stack"
    assert event.relay == "none"


def test_a_submission_is_accepted_then_delivered_as_sent_by_the_login(events):
    accepted = find(events, subject="for dan", status=ACCEPTED)
    assert accepted.direction == OUTGOING and accepted.recipient == ""
    assert accepted.sasl_username == accepted.sender == "alice@example.test"
    dan = find(events, subject="for dan", status=DELIVERED)
    assert dan.direction == OUTGOING and dan.sasl_username == "alice@example.test"
    assert dan.sieve_action.startswith("vacation action: sent vacation response to <alice@")


def test_a_refused_submission_is_an_outgoing_rejection_of_its_sender(events):
    event = find(events, recipient="zed@remote.test")
    assert (event.status, event.direction, event.sender) == (REJECTED, OUTGOING,
                                                             "alice@example.test")


def test_a_temporary_failure_is_deferred_with_the_servers_reason(events):
    event = find(events, subject="deferred one")
    assert (event.status, event.dsn) == (DEFERRED, "4.2.0")
    assert event.reason.startswith("Internal error occurred.")


def test_a_bounce_notification_is_an_event_of_its_own_from_the_null_sender(events):
    notices = [e for e in events if e.sender == "" and e.recipient == "someone@outside.test"]
    assert [e.status for e in notices] == [BOUNCED]


def test_dovecot_lines_read_after_postfix_are_given_out_for_a_late_join():
    dovecot, postfix = lines("dovecot.log"), lines("postfix.log")
    records, correlator = parse([], postfix)
    bob = next(r for r in records if r.subject == "monthly report")
    assert bob.folder == ""
    correlator.read_dovecot(dovecot, NOW)
    late = {m.session: m for m in correlator.unclaimed()}
    assert late[bob.session].folders == ["Reports"]


def test_a_message_split_over_two_reads_keeps_its_envelope_through_the_saved_state():
    postfix = lines("postfix.log")
    cut = next(i for i, line in enumerate(postfix) if "4jdz116Mm1zJN7Z: to=<" in line)
    first, correlator = parse(lines("dovecot.log"), postfix[:cut])
    state = json.loads(json.dumps(correlator.state()))  # as saved in the database
    second, _correlator = parse([], postfix[cut:], state=state)
    event = find(second, queue_id="4jdz116Mm1zJN7Z")
    assert event.sender == "someone@outside.test" and event.subject == "plain delivered"
    assert event.folder == "INBOX"  # Dovecot's line was read in the first batch


def test_the_message_is_forgotten_once_postfix_removed_it():
    _records, correlator = parse([], lines("postfix.log"))
    # Only the deferred message is still in the queue at the end of the recording.
    assert sorted(correlator.state()["queue"]) == ["4jdz120BR3zJN8B"]


def test_a_december_line_read_in_january_is_of_the_year_before():
    when, _start = log_time("Dec 31 23:59:58 mx postfix/qmgr[1]: x",
                            datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC))
    assert when == datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC)
    when, _start = log_time("Jan 01 00:00:01 mx postfix/qmgr[1]: x",
                            datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC))
    assert when.year == 2027


def test_a_line_a_few_hours_ahead_of_the_reader_stays_in_this_year():
    # The worker's clock may lag the host's a little; only a day ahead means last year.
    when, _start = log_time("Mar 05 10:00:00 x", datetime(2027, 3, 5, 9, 0, tzinfo=UTC))
    assert when.year == 2027


def test_29_february_is_put_in_the_last_leap_year():
    when, _start = log_time("Feb 29 08:00:00 x", datetime(2025, 3, 1, tzinfo=UTC))
    assert when == datetime(2024, 2, 29, 8, 0, tzinfo=UTC)


def test_times_are_the_hosts_local_time_with_its_offset():
    paris = ZoneInfo("Europe/Paris")
    when, _start = log_time("Jul 14 12:00:00 x", datetime(2026, 7, 20, tzinfo=paris))
    assert when.utcoffset() == timedelta(hours=2)
    assert when.astimezone(UTC).hour == 10


def test_single_digit_days_padded_with_a_space_are_read():
    when, _start = log_time("Dec  1 05:44:10 mx postfix/qmgr[1]: x", NOW)
    assert (when.day, when.hour) == (1, 5)


def test_encoded_subjects_are_decoded():
    assert decoded_subject("=?UTF-8?Q?R=C3=A9union?= demain") == "Réunion demain"
    assert decoded_subject("=?broken") == "=?broken"


def test_a_milter_rejection_is_a_rejected_event_of_the_queued_message():
    postfix = [
        "Dec 01 05:44:10 mail postfix/smtpd[9]: 4jdqbP3rZ1zJk1s: client=localhost[127.0.0.1]",
        "Dec 01 05:44:10 mail postfix/cleanup[9]: 4jdqbP3rZ1zJk1s: milter-reject: END-OF-MESSAGE "
        "from localhost[127.0.0.1]: 4.7.1 Service unavailable - try again later; "
        "from=<a@remote.test> to=<bob@example.test> proto=ESMTP helo=<x>",
    ]
    [event], _correlator = parse([], postfix)
    assert (event.status, event.dsn, event.recipient) == (REJECTED, "4.7.1", "bob@example.test")
    assert event.reason == "Service unavailable - try again later"


def test_a_full_mailbox_refused_at_rcpt_by_the_quota_check_is_rejected_with_its_reason():
    """The line Postfix logs when Dovecot's quota-status answers 552 (recorded from the
    local stack's e2e run of the quotas)."""
    postfix = [
        "Dec 01 14:04:08 mx postfix/smtpd[13663]: NOQUEUE: reject: RCPT from unknown[127.0.0.77]: "
        "552 5.2.2 <full@quota-full.test>: Recipient address rejected: Mailbox is full: the "
        "recipient's storage quota is used up; from=<sender@quota-full.test> "
        "to=<full@quota-full.test> proto=ESMTP helo=<[127.0.0.1]>",
    ]
    [event], _correlator = parse([], postfix)
    assert (event.status, event.dsn, event.queue_id) == (REJECTED, "5.2.2", "")
    assert event.recipient == "full@quota-full.test" and event.sender == "sender@quota-full.test"
    assert event.reason == ("Recipient address rejected: Mailbox is full: the recipient's "
                            "storage quota is used up")


def test_lines_that_are_not_delivery_lines_give_nothing():
    junk = ["", "garbage", "Dec 01 05:44:10 mx postfix/master[1]: reload -- version 3.7.11",
            "Xyz 01 05:44:10 mx postfix/qmgr[1]: 4jdqbP3rZ1zJk1s: removed"]
    assert parse(junk, junk)[0] == []
