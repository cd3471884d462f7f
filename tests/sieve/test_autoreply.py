"""The auto-reply part of the standard script (pure): its period, interval and addresses
pinned in golden files, accepted by sievec, and run in Dovecot's engine with windows
around the real clock (sieve-test has no date option; faking the clock would need
faketime and Dovecot's environment kept for it)."""
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailservice.pigeonhole import check_script, simulate
from mailservice.sieve.active_script import (
    ACTIVE,
    ENDED,
    OFF,
    SCHEDULED,
    AutoReply,
    autoreply_state,
    compose,
    sieve_utc,
)
from mailservice.sieve.rules import Action, Condition, Rule

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
START = datetime(2026, 11, 30, tzinfo=UTC)
END = datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC)
FB = Rule("fb", conditions=(Condition("from", "contains", "facebook.com"),),
          actions=(Action("move", "fb"),))

CASES = {
    # The verified shape (BACKENDS-2 §4): a period, an interval, the address and an alias.
    "autoreply_period": dict(
        email="bob@example.test", is_catchall=False, rules=[FB],
        autoreply=AutoReply("Absent", "Je suis absent jusqu'au 2 décembre.", start=START, end=END,
                            days=7, addresses=("robert@example.test",))),
    "autoreply_open_ended": dict(
        email="bob@example.test", is_catchall=False, rules=[],
        autoreply=AutoReply("", "Away.")),
    "autoreply_from_a_date": dict(
        email="bob@example.test", is_catchall=False, rules=[],
        autoreply=AutoReply("Away", "Away.", start=START, days=30)),
    "autoreply_catchall": dict(
        email="catchall@example.test", is_catchall=True, rules=[],
        autoreply=AutoReply("Away", "Away.", end=END, addresses=("info@example.test",))),
    "autoreply_hostile_text": dict(
        email="bob@example.test", is_catchall=False, rules=[],
        autoreply=AutoReply('Away "now"\r\nBcc: x@evil.example',
                            'Line one,\r\nline "two" \\ and\nthree;\x00\x07 ${1}\n.\n',
                            addresses=("BOB@example.test", "robert@example.test"))),
}


def script(name: str) -> str:
    return compose(email_type_header="X-Mail-Type", **CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_auto_reply_script_matches_its_golden_file(name):
    path = GOLDEN / f"{name}.sieve"
    if UPDATE:
        path.write_text(script(name), encoding="utf-8")
    assert script(name) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_golden_auto_reply_is_accepted_by_sievec(name, sievec):
    assert check_script((GOLDEN / f"{name}.sieve").read_bytes()) == []


def test_the_period_is_compared_in_utc_whatever_zone_it_was_entered_in():
    paris = START.astimezone(ZoneInfo("Europe/Paris"))
    assert sieve_utc(paris) == "2026-11-30T00:00:00Z"
    text = script("autoreply_period")
    assert 'currentdate :zone "+0000" :value "ge" "iso8601" "2026-11-30T00:00:00Z"' in text
    assert 'currentdate :zone "+0000" :value "lt" "iso8601" "2026-12-02T23:59:59Z"' in text
    assert 'require ["date", "fileinto", "mailbox", "relational", "vacation"];' in text


def test_without_a_period_no_date_extension_is_required():
    assert 'require ["vacation"];' in script("autoreply_open_ended")
    assert "currentdate" not in script("autoreply_open_ended")


def test_the_address_is_answered_for_first_and_once():
    assert ':addresses ["bob@example.test", "robert@example.test"]' in script("autoreply_hostile_text")


@pytest.mark.parametrize("start, end, now, state", [
    (None, None, START, ACTIVE),
    (START, END, START, ACTIVE),  # the start is inside
    (START, END, START - timedelta(seconds=1), SCHEDULED),
    (START, END, END - timedelta(seconds=1), ACTIVE),
    (START, END, END, ENDED),  # the end is not
    (None, END, END + timedelta(days=1), ENDED),
    (START, None, START + timedelta(days=900), ACTIVE),
])
def test_the_state_follows_the_period(start, end, now, state):
    assert autoreply_state(enabled=True, start=start, end=end, now=now) == state
    assert autoreply_state(enabled=False, start=start, end=end, now=now) == OFF


def message(*headers: str, to="bob@example.test") -> bytes:
    lines = ["From: Alice <alice@example.org>", f"To: {to}", "Subject: lunch",
             "Message-ID: <m@example.org>", *headers]
    return ("\r\n".join(lines) + "\r\n\r\nhello\r\n").encode()


def replies(text: str, raw: bytes, recipient="bob@example.test") -> bool:
    trace = simulate(text, raw, recipient=recipient, envelope_from="alice@example.org")
    return any(a.kind == "vacation" for a in trace.actions)


def window(start_days, end_days):
    now = datetime.now(UTC)
    day = timedelta(days=1)
    return (None if start_days is None else now + start_days * day,
            None if end_days is None else now + end_days * day)


@pytest.mark.usefixtures("sieve_test")
@pytest.mark.parametrize("start_days, end_days", [
    (-1, 1), (1, 7), (-7, -1), (None, 1), (None, -1), (-1, None), (1, None)])
def test_the_engine_answers_exactly_when_the_state_is_active(start_days, end_days):
    start, end = window(start_days, end_days)
    text = compose(email="bob@example.test", is_catchall=False, rules=[],
                   email_type_header="X", autoreply=AutoReply("Away", "Away.", start=start, end=end))
    expected = autoreply_state(enabled=True, start=start, end=end, now=datetime.now(UTC)) == ACTIVE
    assert replies(text, message()) is expected


@pytest.mark.usefixtures("sieve_test")
@pytest.mark.parametrize("header", [
    "List-Id: <dev.lists.example>", "List-Unsubscribe: <mailto:leave@lists.example>",
    "Precedence: bulk", "Precedence: LIST", "Precedence: junk",
    "Auto-Submitted: auto-generated", "Auto-Submitted: auto-replied"])
def test_lists_bulk_and_automatic_mail_are_never_answered_by_the_script(header):
    text = script("autoreply_open_ended")
    assert replies(text, message()) is True
    assert replies(text, message(header)) is False


@pytest.mark.usefixtures("sieve_test")
def test_auto_submitted_no_is_a_person_writing():
    assert replies(script("autoreply_open_ended"), message("Auto-Submitted: no")) is True


@pytest.mark.usefixtures("sieve_test")
def test_the_catchall_answers_only_mail_addressed_to_its_own_addresses():
    text = compose(email="catchall@example.test", is_catchall=True, rules=[], email_type_header="X",
                   autoreply=AutoReply("Away", "Away.", addresses=("info@example.test",)))
    recipient = "catchall@example.test"
    assert replies(text, message(to="nobody@example.test"), recipient) is False
    assert replies(text, message(to="catchall@example.test"), recipient) is True
    assert replies(text, message(to="info@example.test"), recipient) is True


@pytest.mark.usefixtures("sieve_test")
def test_the_reply_keeps_the_line_breaks_of_the_text():
    text = compose(email="bob@example.test", is_catchall=False, rules=[], email_type_header="X",
                   autoreply=AutoReply("Away", "Back on Monday.\nRegards,\nBob"))
    assert '"Back on Monday.\nRegards,\nBob";' in text
    assert replies(text, message()) is True
