"""Sorting rules through the whole pipeline: rules and Sieve scripts are changed through
the API (bearer token), the outbox job is pushed by a real Celery worker (subprocess,
private Redis) to the private Dovecot + Postfix, and every effect is observed only by
delivering messages over SMTP and reading the mailboxes over IMAP.

After each change the test waits for the service's `sync_status` to be `applied` before
delivering. Every message gets a fresh Message-ID, so a sample can be sent twice in one
test and "not in that folder" is never confused with an earlier copy.
"""

import email
import imaplib
import re
import smtplib
import time
import uuid
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from .stack_logs import DEADLINE
from .test_pipeline import API, Scenario

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIEVE_DIR = Path(__file__).resolve().parent.parent / "sieve"
SAMPLES = SIEVE_DIR / "samples"
# Deliver as a remote MTA would: Postfix rewrites address headers of mail from its own
# interfaces (local_header_rewrite_clients), which would spoil the guide's Sender test.
REMOTE_SOURCE = "127.0.0.77"
# Dovecot logs one of these (Info) when the Sieve actions of a delivery were carried out.
_DELIVERY_DONE = ("stored mail into mailbox", "saved mail to", "redirect action:", "discard action:")
_LIST_RE = re.compile(rb'^\((?P<flags>[^)]*)\) "(?P<sep>[^"]*)" (?P<name>.+)$')


def with_fresh_id(raw: bytes) -> tuple[bytes, str]:
    """`raw` with its Message-ID replaced by a unique one; (bytes, Message-ID)."""
    message_id = f"<{uuid.uuid4().hex}@rules.e2e.test>"
    raw, count = re.subn(rb"(?im)^Message-ID:[^\r\n]*", b"Message-ID: " + message_id.encode(), raw,
                         count=1)
    assert count == 1
    return raw, message_id


def composed(subject: str, body: str, sender: str = "someone@outside.test") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "alice@domain.xyz"
    msg["Subject"] = subject
    msg["Message-ID"] = "<placeholder@outside.test>"
    msg.set_content(body)
    return msg.as_bytes()


class RulesScenario(Scenario):
    """test_pipeline's Scenario (API as the owner; IMAP/SMTP observations) plus rules."""

    # API ------------------------------------------------------------------------------

    def mailbox(self, service: dict, local_part: str, owner) -> dict:
        address = self.address(service, local_part)
        self.grant(address, owner)
        address["login"] = self.device(address, "e2e imap")["login"]
        return address

    def rule(self, address: dict, name: str, conditions, actions, **extra) -> dict:
        payload = {"name": name, "conditions": [dict(zip(("field", "operator", "value"), c, strict=True))
                                                for c in conditions],
                   "actions": [a if isinstance(a, dict) else {"kind": a[0], "argument": a[1]}
                               for a in actions], **extra}
        return self.ok(self.client.post(f"{API}/addresses/{address['id']}/rules/", payload,
                                        format="json"), 201)

    def patch_rule(self, address: dict, rule: dict, **changes) -> dict:
        return self.ok(self.client.patch(f"{API}/addresses/{address['id']}/rules/{rule['id']}/",
                                         changes, format="json"), 200)

    def set_sieve(self, address: dict, mode: str, script: str | None = None) -> dict:
        payload = {"mode": mode} if script is None else {"mode": mode, "script": script}
        return self.ok(self.client.put(f"{API}/addresses/{address['id']}/sieve/", payload,
                                       format="json"), 200)

    def create_folder(self, address: dict, name: str) -> None:
        self.ok(self.client.post(f"{API}/addresses/{address['id']}/folders/", {"name": name},
                                 format="json"), 201)

    # delivery and observation ---------------------------------------------------------

    def deliver(self, recipient: str, raw: bytes) -> str:
        """SMTP to the inbound port from a non-local source; the (fresh) Message-ID."""
        raw, message_id = with_fresh_id(raw)
        with smtplib.SMTP(self.stack.host, self.stack.smtp_port, timeout=30,
                          source_address=(REMOTE_SOURCE, 0)) as smtp:
            smtp.sendmail("sender@outside.test", [recipient], raw)
        return message_id

    def sample(self, recipient: str, name: str) -> str:
        return self.deliver(recipient, (SAMPLES / name).read_bytes())

    def _imap(self, credentials) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.stack.host, self.stack.imap_port, timeout=30)
        client.login(*credentials)
        return client

    @staticmethod
    def _folders(client) -> list[str]:
        _, lines = client.list()
        names = []
        for line in lines:
            match = _LIST_RE.match(line)
            assert match, line
            name = match["name"].decode()
            names.append(name[1:-1] if name.startswith('"') else name)
        return names

    @staticmethod
    def _search(client, folder: str, message_id: str):
        status, _ = client.select(f'"{folder}"', readonly=True)
        if status != "OK":
            return None
        _, data = client.search(None, "HEADER", "Message-ID", message_id)
        numbers = data[0].split()
        return numbers[0] if numbers else None

    def find(self, credentials, folder: str, message_id: str, wait: float = DEADLINE):
        """(headers, flags) of the message in `folder`, or None after `wait` seconds."""
        deadline = time.monotonic() + wait
        client = self._imap(credentials)
        try:
            while True:
                number = self._search(client, folder, message_id)
                if number is not None:
                    _, parts = client.fetch(number, "(FLAGS BODY.PEEK[HEADER])")
                    flags = imaplib.ParseFlags(parts[0][0])
                    headers = email.message_from_bytes(parts[0][1], policy=policy.default)
                    return headers, {f.decode() for f in flags}
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.1)
        finally:
            client.logout()

    def folders_holding(self, credentials, message_id: str) -> set[str]:
        """Every folder of the mailbox that holds the message, now."""
        client = self._imap(credentials)
        try:
            return {folder for folder in self._folders(client)
                    if self._search(client, folder, message_id) is not None}
        finally:
            client.logout()

    def lands_only_in(self, credentials, message_id: str, *folders: str) -> None:
        """The message arrives in each of `folders` and is in no other folder."""
        for folder in folders:
            assert self.find(credentials, folder, message_id) is not None, (folder, message_id)
        assert self.folders_holding(credentials, message_id) == set(folders)

    def wait_delivered(self, message_id: str, recipient: str, timeout: float = DEADLINE) -> str:
        """Dovecot's log lines of the LMTP delivery of `message_id` to `recipient`, once
        Sieve has acted on it (stored, redirected or discarded)."""
        log = self.stack.root / "log" / "dovecot.log"
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in log.read_text(errors="replace").splitlines()
                     if f"lmtp({recipient})" in line and f"msgid={message_id}" in line]
            if any(marker in line for line in lines for marker in _DELIVERY_DONE):
                return "\n".join(lines)
            assert time.monotonic() < deadline, f"{message_id} not delivered to {recipient}"
            time.sleep(0.1)


@pytest.fixture
def scenario(pipeline, mail_stack, owner, organisation, api):
    s = RulesScenario(api(owner), mail_stack, organisation)
    yield s
    backend = mail_stack.backend()
    for domain in s.domains:
        backend.remove_service(domain)


FACEBOOK_TO_FB = ([("from", "contains", "facebook.com")], [("move", "fb")])


# --- tests ---------------------------------------------------------------------------------


def test_standard_rule_conditions_sender_size_body_and_a_disabled_rule(scenario, owner):
    service = scenario.service("conditions.rules-pipeline.test")
    alice = scenario.mailbox(service, "alice", owner)
    login, to = alice["login"], alice["email"]
    scenario.rule(alice, "Facebook", *FACEBOOK_TO_FB)
    scenario.rule(alice, "Big", [("size", "over", "20K")], [("move", "Big/Attachments")])
    scenario.rule(alice, "Small tagged", [("subject", "contains", "[tiny]"), ("size", "under", "2K")],
                  [("move", "small")])
    scenario.rule(alice, "Invoices", [("body", "contains", "Invoice number")], [("move", "invoices")])
    # plain.eml would match this rule too (its Subject is "Meeting notes"), were it enabled.
    meetings = scenario.rule(alice, "Meetings", [("subject", "is", "Meeting notes")],
                             [("move", "meetings")], enabled=False)
    scenario.wait_applied(service)

    facebook = scenario.sample(to, "facebook.eml")
    big = scenario.deliver(to, composed("[tiny] not so tiny", "x" * 60 + "\n" * 500 + "padding " * 4000))
    tiny = scenario.deliver(to, composed("[tiny] hello", "short\n"))
    invoice = scenario.sample(to, "plain.eml")  # body: "... Invoice number 2026-118 ..."
    nothing = scenario.sample(to, "spam-typed.eml")

    scenario.lands_only_in(login, facebook, "fb")
    scenario.lands_only_in(login, big, "Big/Attachments")  # "[tiny]" but not under 2K
    scenario.lands_only_in(login, tiny, "small")
    scenario.lands_only_in(login, invoice, "invoices")  # not "meetings": that rule is disabled
    scenario.lands_only_in(login, nothing, "INBOX")  # no rule matches: implicit keep

    # Enabled through the API, the same rule now files the same message too.
    scenario.patch_rule(alice, meetings, enabled=True)
    scenario.wait_applied(service)
    again = scenario.sample(to, "plain.eml")
    scenario.lands_only_in(login, again, "invoices", "meetings")


def test_rule_actions_copy_forward_delete_mark_read_and_flag(scenario, owner):
    service = scenario.service("actions.rules-pipeline.test")
    alice = scenario.mailbox(service, "alice", owner)
    bob = scenario.mailbox(service, "bob", owner)
    login, to = alice["login"], alice["email"]
    scenario.rule(alice, "Copy Facebook", [("from", "contains", "facebook.com")], [("copy", "Social")])
    scenario.rule(alice, "Forward shop", [("from", "is", "news@shop.example")],
                  [{"kind": "forward", "argument": bob["email"]}])
    scenario.rule(alice, "Forward list, keep", [("subject", "contains", "SCIENTIFIC-LINUX-DEVEL")],
                  [{"kind": "forward", "argument": bob["email"], "keep_copy": True}])
    scenario.rule(alice, "Drop spam", [("email_type", "is", "spam")], [("delete", "")])
    scenario.rule(alice, "Read and flag", [("reply_to", "contains", "partner.example")],
                  [("mark_read", ""), ("flag", "")])
    scenario.wait_applied(service)

    dropped = scenario.sample(to, "spam-typed.eml")
    copied = scenario.sample(to, "facebook.eml")
    forwarded = scenario.sample(to, "newsletter.eml")
    forwarded_kept = scenario.sample(to, "sl-devel-reply.eml")
    flagged = scenario.sample(to, "plain.eml")
    untouched = scenario.deliver(to, composed("Lunch?", "see you at noon\n"))

    # copy: in the folder and in INBOX
    scenario.lands_only_in(login, copied, "Social", "INBOX")
    # forward: reaches bob's mailbox; without keep_copy nothing stays with alice. Alice's
    # delivery (the redirect) is waited for first: bob's copy starts from it.
    scenario.wait_delivered(forwarded, to)
    scenario.lands_only_in(bob["login"], forwarded, "INBOX")
    assert scenario.folders_holding(login, forwarded) == set()
    # forward keeping a copy: both
    scenario.lands_only_in(bob["login"], forwarded_kept, "INBOX")
    scenario.lands_only_in(login, forwarded_kept, "INBOX")
    # mark as read + flag: kept in INBOX with both flags; an unmatched message has neither
    _, flags = scenario.find(login, "INBOX", flagged)
    assert {"\\Seen", "\\Flagged"} <= flags
    _, flags = scenario.find(login, "INBOX", untouched)
    assert not {"\\Seen", "\\Flagged"} & flags
    # delete: Dovecot took the message (LMTP delivery finished) and it is nowhere
    log = scenario.wait_delivered(dropped, to)
    assert "discard action" in log, log
    assert scenario.folders_holding(login, dropped) == set()
    assert scenario.folders_holding(bob["login"], dropped) == set()


def test_advanced_sieve_guide_examples_replace_standard_rules_and_switching_back_restores_them(
        scenario, owner):
    service = scenario.service("advanced.rules-pipeline.test")
    alice = scenario.mailbox(service, "alice", owner)
    login, to = alice["login"], alice["email"]
    client = scenario.client
    scenario.rule(alice, "Facebook", *FACEBOOK_TO_FB)
    scenario.wait_applied(service)
    scenario.lands_only_in(login, scenario.sample(to, "facebook.eml"), "fb")

    # The guide's scripts file without ":create": their folders are made first, as the guide says.
    scenario.create_folder(alice, "nl")
    scenario.create_folder(alice, "Mail List/SL-Devel")

    # Guide example 1, imported as a .sieve file: facebook.com → fb, List-Unsubscribe → nl.
    with open(SIEVE_DIR / "guide_example_1.sieve", "rb") as fh:
        imported = scenario.ok(client.post(f"{API}/addresses/{alice['id']}/sieve/import/",
                                           {"file": fh}, format="multipart"), 200)
    assert imported["mode"] == "advanced"
    scenario.wait_applied(service)
    scenario.lands_only_in(login, scenario.sample(to, "newsletter.eml"), "nl")
    scenario.lands_only_in(login, scenario.sample(to, "facebook.eml"), "fb")
    scenario.lands_only_in(login, scenario.sample(to, "plain.eml"), "INBOX")

    # Guide example 2 (editheader, variables, regex), set through PUT sieve/.
    script = (SIEVE_DIR / "guide_example_2.sieve").read_text()
    answer = scenario.set_sieve(alice, "advanced", script)
    assert (answer["mode"], answer["script"]) == ("advanced", script)
    # The guide's else-branch uses ${1} where no match has set it: the review says so.
    assert [(w["code"], w["line"]) for w in answer["lint"]] == [("unset_match_variable", 9)]
    scenario.wait_applied(service)
    reply = scenario.sample(to, "sl-devel-reply.eml")
    scenario.lands_only_in(login, reply, "Mail List/SL-Devel")
    headers, _ = scenario.find(login, "Mail List/SL-Devel", reply)
    assert headers["Subject"] == "Re: kernel 6.1 update"
    # The standard rule is replaced (kept in the database, inactive), and example 1 is gone.
    scenario.lands_only_in(login, scenario.sample(to, "facebook.eml"), "INBOX")
    scenario.lands_only_in(login, scenario.sample(to, "newsletter.eml"), "INBOX")
    rules = scenario.ok(client.get(f"{API}/addresses/{alice['id']}/rules/"))
    rules = rules["results"] if isinstance(rules, dict) else rules
    assert [r["name"] for r in rules] == ["Facebook"]

    # Back to standard mode: the Facebook rule sorts again and the script no longer runs.
    back = scenario.set_sieve(alice, "standard")
    assert back["mode"] == "standard" and "facebook.com" in back["script"]
    scenario.wait_applied(service)
    scenario.lands_only_in(login, scenario.sample(to, "facebook.eml"), "fb")
    plain_reply = scenario.sample(to, "sl-devel-reply.eml")
    scenario.lands_only_in(login, plain_reply, "INBOX")
    headers, _ = scenario.find(login, "INBOX", plain_reply)
    assert headers["Subject"] == "Re: [SCIENTIFIC-LINUX-DEVEL] kernel 6.1 update"
