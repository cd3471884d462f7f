"""The rule tester against real delivery: a corpus of (script × message) pairs, standard
rules and advanced scripts, each run through the tester and delivered by SMTP → Postfix →
Dovecot LMTP into a real mailbox. Folders, flags, redirects (they arrive in the target's
mailbox), discards (nothing stored), header edits and vacation replies (the reply arrives
in the sender's mailbox, or Dovecot logs why not) must be the ones the tester announced.

Each pair has its own address, so a vacation's once-per-sender memory and Pigeonhole's
duplicate-redirect tracking never link two pairs. Waits are on conditions with a
deadline: Postfix's log line for the delivery, Dovecot's log line for the message, the
message in a mailbox.

One real engine difference is kept in the corpus and asserted as such: sieve-test runs
with the `environment` of a check after delivery (phase "post"), LMTP "during" delivery;
the tester's result states it (`environment`)."""
from __future__ import annotations

import json
import smtplib
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from mailservice import push, services
from mailservice.desired import desired_state
from tests.e2e.stack_logs import REMOTE_SOURCE, StackLogs, mailbox_fetch, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SAMPLES = Path(__file__).resolve().parent.parent / "sieve" / "samples"
DOMAIN = "tester-corpus.test"
DEADLINE = 20.0
SENDER = f"sender@{DOMAIN}"  # a mailbox of the stack: vacation replies land there
TARGET = f"target@{DOMAIN}"  # where redirects go


def move(folder, field_="from", operator="contains", value="facebook.com"):
    return {"name": f"to {folder}", "conditions": [
        {"field": field_, "operator": operator, "value": value}],
        "actions": [{"kind": "move", "argument": folder}]}


def rule(*actions, field_="from", operator="contains", value="sender", name="rule"):
    return {"name": name, "conditions": [{"field": field_, "operator": operator, "value": value}],
            "actions": [dict(a) for a in actions]}


@dataclass
class Case:
    name: str
    message: str | dict  # a sample's file name, or header overrides for a built message
    rules: list = field(default_factory=list)
    script: str | None = None
    autoreply: tuple[str, str] | None = None
    # The folders exist beforehand (an advanced script's fileinto has no :create): those
    # the tester announces, and these.
    folders_created: tuple[str, ...] = ()
    folders_exist: bool = True
    # A real difference, asserted: (tester's folders, delivery's folders, how the tester's
    # result states it).
    differs: tuple[tuple[str, ...], tuple[str, ...], object] | None = None


def environment_stated(tested):
    return tested["environment"]["script_uses_environment"] and tested["environment"]["warning"]


def missing_folder_stated(tested):
    return tested["folders_checked"] and tested["missing_folders"] == ["Nowhere"] and any(
        a["kind"] == "store" and not a["create"] for a in tested["final_actions"])


VACATION = ('require ["vacation"];\n'
            'vacation :days 1 :subject "Away" "I am away until Monday.";\n')

CASES = [
    # --- standard rules --------------------------------------------------------------
    Case("std move matches", "facebook.eml", rules=[move("fb")]),
    Case("std move does not match", "plain.eml", rules=[move("fb")]),
    Case("std copy keeps a copy", "plain.eml",
         rules=[rule({"kind": "copy", "argument": "Archive"})]),
    Case("std forward", "plain.eml",
         rules=[rule({"kind": "forward", "argument": TARGET})]),
    Case("std forward keeping a copy", "plain.eml",
         rules=[rule({"kind": "forward", "argument": TARGET, "keep_copy": True})]),
    Case("std delete", "plain.eml", rules=[rule({"kind": "delete"})]),
    Case("std a flag only rule keeps implicitly", "plain.eml",
         rules=[rule({"kind": "mark_read"})]),
    Case("std flag and move", "facebook.eml",
         rules=[{**move("fb"), "actions": [{"kind": "flag"}, {"kind": "move", "argument": "fb"}]}]),
    Case("std stop ends the rules", "plain.eml",
         rules=[rule({"kind": "move", "argument": "First"}, {"kind": "stop"}, name="first"),
                rule({"kind": "move", "argument": "Second"}, name="second")]),
    Case("std without stop both apply", "plain.eml",
         rules=[rule({"kind": "copy", "argument": "First"}, name="first"),
                rule({"kind": "move", "argument": "Second"}, name="second")]),
    Case("std email type spam", "spam-typed.eml",
         rules=[move("Junk", "email_type", "is", "spam")]),
    Case("std newsletter by subject", "newsletter.eml",
         rules=[move("nl", "subject", "contains", "soldes")]),
    Case("std subject matches pattern", {"Subject": "Invoice 2026-12"},
         rules=[move("Bills", "subject", "matches", "invoice *-12")]),
    Case("std size over", {"body": "x" * 3000},
         rules=[{"name": "big", "conditions": [{"field": "size", "operator": "over",
                                                "value": "2K"}],
                 "actions": [{"kind": "move", "argument": "Big"}]}]),
    Case("std body contains", {"body": "the password is swordfish\n"},
         rules=[move("Secrets", "body", "contains", "swordfish")]),
    Case("std auto-reply to mail addressed to me", {},
         autoreply=("Holidays", "Back on Monday.")),
    Case("std auto-reply skips list mail", {"List-Id": "<dev.lists.example>"},
         autoreply=("Holidays", "Back on Monday.")),
    # --- advanced scripts ------------------------------------------------------------
    Case("adv fileinto copy", "plain.eml",
         script='require ["fileinto", "copy"];\nfileinto :copy "Archive";\n'),
    Case("adv explicit keep and fileinto", "plain.eml",
         script='require "fileinto";\nfileinto "Archive";\nkeep;\n'),
    Case("adv discard", "plain.eml", script="discard;\n"),
    Case("adv redirect", "plain.eml", script=f'redirect "{TARGET}";\n'),
    Case("adv redirect copy", "plain.eml",
         script=f'require "copy";\nredirect :copy "{TARGET}";\n'),
    Case("adv addflag then fileinto", "plain.eml",
         script='require ["fileinto", "imap4flags"];\naddflag "\\\\Flagged";\n'
                'addflag "$Work";\nfileinto "Work";\n'),
    Case("adv setflag keep", "plain.eml",
         script='require ["imap4flags"];\nsetflag "\\\\Seen";\nkeep;\n'),
    Case("adv stop before fileinto", "plain.eml",
         script='require "fileinto";\nif header :contains "subject" "notes" { stop; }\n'
                'fileinto "Never";\n'),
    Case("adv header matches", "sl-devel-reply.eml",
         script='require "fileinto";\nif header :matches "subject" "*kernel*" '
                '{ fileinto "Kernel"; }\n'),
    Case("adv address domain", "facebook.eml",
         script='require "fileinto";\nif address :domain :is "from" "facebook.com" '
                '{ fileinto "fb"; }\n'),
    Case("adv envelope from", "plain.eml",
         script=f'require ["envelope", "fileinto"];\nif envelope :is "from" "{SENDER}" '
                '{ fileinto "FromSender"; }\n'),
    Case("adv envelope to is the address", "newsletter.eml",
         script='require ["envelope", "fileinto"];\nif envelope :localpart :matches "to" "c*" '
                '{ fileinto "Mine"; }\n'),
    Case("adv size under", "plain.eml",
         script='require "fileinto";\nif size :under 100 { fileinto "Tiny"; } '
                'else { fileinto "Normal"; }\n'),
    Case("adv body", {"body": "meeting at noon\n"},
         script='require ["body", "fileinto"];\nif body :contains "noon" { fileinto "Meet"; }\n'),
    Case("adv vacation replied", {}, script=VACATION),
    Case("adv vacation not to list mail", {"List-Id": "<dev.lists.example>"}, script=VACATION),
    Case("adv vacation not addressed to me", {"To": "someone@elsewhere.example"},
         script=VACATION),
    Case("adv vacation not to auto-submitted", {"Auto-Submitted": "auto-generated"},
         script=VACATION),
    Case("adv editheader add", "plain.eml",
         script='require ["editheader"];\naddheader "X-Sorted-By" "corpus";\n'),
    Case("adv editheader delete", {"X-Spam-Flag": "YES"},
         script='require ["editheader", "fileinto"];\ndeleteheader "X-Spam-Flag";\n'
                'fileinto "Clean";\n'),
    Case("adv environment phase", "plain.eml",
         script='require ["environment", "fileinto"];\n'
                'if environment :is "phase" "during" { fileinto "Live"; }\n',
         folders_created=("Live",), differs=(("INBOX",), ("Live",), environment_stated)),
    # sieve-test stores into any folder; at delivery a fileinto without :create into a
    # folder that does not exist fails, and the implicit keep files the message in INBOX.
    # The result shows such a store with `create: false`.
    Case("adv fileinto a missing folder", "plain.eml",
         script='require "fileinto";\nfileinto "Nowhere";\n', folders_exist=False,
         differs=(("Nowhere",), ("INBOX",), missing_folder_stated)),
]


def built_message(overrides: dict, to: str) -> bytes:
    headers = {"From": f"Sender <{SENDER}>", "To": to, "Subject": "Hello",
               "Date": "Fri, 27 Nov 2026 10:00:00 +0100"}
    body = overrides.get("body", "Hello, are you there?\n")
    headers.update({k: v for k, v in overrides.items() if k != "body"})
    text = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (text + "\r\n" + body.replace("\n", "\r\n")).encode()


def case_message(case: Case, address: str, message_id: str) -> bytes:
    """The case's message with a fresh Message-ID and the corpus sender's Return-Path (the
    envelope sender of the SMTP delivery, as the tester reads it)."""
    if isinstance(case.message, dict):
        raw = built_message(case.message, to=address)
    else:
        raw = (SAMPLES / case.message).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    lines = [line for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
             if not line.lower().startswith((b"message-id:", b"return-path:"))]
    body = raw.split(b"\r\n\r\n", 1)[1]
    head = [f"Return-Path: <{SENDER}>".encode(), *lines, f"Message-ID: {message_id}".encode()]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class Stack(StackLogs):
    """The corpus's view of the mail stack: SMTP in, Postfix's and Dovecot's logs, and
    the mailboxes through doveadm."""

    def __init__(self, mail_stack):
        super().__init__(mail_stack)
        self.stack = mail_stack
        self.backend = mail_stack.backend()

    def send(self, raw: bytes, recipient: str) -> None:
        # Dovecot writes Return-Path from the envelope; the header is only the tester's.
        without = b"\r\n".join(line for line in raw.split(b"\r\n")
                               if not line.lower().startswith(b"return-path:"))
        with smtplib.SMTP(self.stack.host, self.stack.smtp_port, timeout=30,
                          source_address=(REMOTE_SOURCE, 0)) as smtp:
            smtp.sendmail(SENDER, [recipient], without)

    def stored(self, email: str, message_id: str) -> dict[str, set[str]]:
        """Folder → flags of each copy of the message in the mailbox."""
        rows = mailbox_fetch(self.backend, email, "mailbox flags", "header", "Message-ID",
                             message_id)
        return {row["mailbox"]: set(row["flags"].split()) - {"\\Recent"} for row in rows}

    def headers(self, email: str, folder: str, message_id: str):
        rows = mailbox_fetch(self.backend, email, "hdr", "header", "Message-ID", message_id,
                             folder=folder)
        return message_from_bytes(rows[0]["hdr"].encode(), policy=policy.default) if rows else None

    def replies(self, message_id: str) -> list[dict]:
        return mailbox_fetch(self.backend, SENDER, "mailbox hdr", "header", "In-Reply-To",
                             message_id)


@pytest.fixture
def corpus(mail_stack, owner, organisation, settings, tmp_path):
    # The tester asks the backend whether the script's folders exist, as in production.
    config = tmp_path / "stack.json"
    config.write_text(json.dumps(mail_stack.to_json()))
    settings.MAIL_BACKEND_CONFIG = str(config)
    push.forget_hosts()
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=DOMAIN,
                                           plan="premium", capacity=5 * (len(CASES) // 5 + 2))
    services.address_create(actor=owner, service=service, local_part="sender")
    services.address_create(actor=owner, service=service, local_part="target")
    addresses = []
    for number, case in enumerate(CASES, start=1):
        address = services.address_create(actor=owner, service=service, local_part=f"c{number:02}")
        for item in case.rules:
            services.rule_create(actor=owner, address=address, **item)
        if case.script is not None:
            services.sieve_set(actor=owner, address=address, mode="advanced", script=case.script)
        if case.autoreply:
            subject, body = case.autoreply
            address = services.address_update(actor=owner, address=address,
                                              autoreply_enabled=True, autoreply_subject=subject,
                                              autoreply_body=body)
        address.refresh_from_db()
        addresses.append(address)
    stack = Stack(mail_stack)
    stack.backend.apply(desired_state(service))
    yield stack, owner, addresses
    stack.backend.remove_service(DOMAIN)
    push.forget_hosts()


def delivered_result(stack: Stack, address: str, message_id: str) -> dict:
    status, _dsn, reason = stack.final_outcome(message_id, address)
    assert status == "sent", (address, status, reason)
    # Dovecot logs each Sieve action of the delivery; its log process may lag the LMTP reply.
    log = wait_for(lambda: stack.sieve_log(message_id, address),
                   f"Dovecot's log of {message_id}")
    return {"stored": stack.stored(address, message_id), "log": log}


def compare(case: Case, tested: dict, delivered: dict, stack: Stack, address: str,
            message_id: str) -> list[str]:
    """The differences between what the tester said and what delivery did."""
    problems = []
    stored = delivered["stored"]
    announced = {a["target"]: set(a["flags"]) for a in tested["final_actions"]
                 if a["kind"] == "store"}
    if case.differs:
        expected_tester, expected_delivery, stated = case.differs
        if tuple(announced) != expected_tester or tuple(stored) != expected_delivery:
            problems.append(f"expected the difference {case.differs[:2]}, "
                            f"got tester {list(announced)} / delivery {list(stored)}")
        if not stated(tested):
            problems.append("the difference is not stated in the result")
        return problems
    if set(stored) != set(announced):
        problems.append(f"folders: tester {sorted(announced)}, delivery {sorted(stored)}")
    for folder, flags in announced.items():
        if folder in stored and stored[folder] != flags:
            problems.append(f"flags in {folder}: tester {sorted(flags)}, "
                            f"delivery {sorted(stored[folder])}")
    if tested["discarded"] and stored:
        problems.append(f"tester discards, delivery stored in {sorted(stored)}")
    forwarded = [line.removeprefix("forwarded to <").removesuffix(">")
                 for line in delivered["log"] if line.startswith("forwarded to <")]
    if forwarded != tested["redirects"]:
        problems.append(f"redirects: tester {tested['redirects']}, delivery {forwarded}")
    for target in forwarded:
        wait_for(lambda target=target: stack.stored(target, message_id),
                 f"the redirected message in {target}'s mailbox")
    for edit in tested["header_edits"]:
        folder = next(iter(stored), None)
        headers = stack.headers(address, folder, message_id) if folder else None
        present = headers is not None and edit["name"] in headers
        if present != (edit["operation"] == "add"):
            problems.append(f"header edit {edit} not as delivered (present: {present})")
    vacation = tested["vacation"]
    sent = any(line.startswith("sent vacation response") for line in delivered["log"])
    declined = [line for line in delivered["log"] if "vacation response" in line and not
                line.startswith("sent ")]
    if vacation is None:
        if sent or declined:
            problems.append(f"tester shows no vacation, delivery: {delivered['log']}")
    elif vacation["send"] != sent:
        problems.append(f"vacation: tester send={vacation['send']} ({vacation['reason']}), "
                        f"delivery {delivered['log']}")
    elif sent:
        reply = wait_for(lambda: stack.replies(message_id), "the vacation reply")[0]
        headers = message_from_bytes(reply["hdr"].encode(), policy=policy.default)
        if headers["Subject"] != vacation["subject"]:
            problems.append(f"reply subject {headers['Subject']!r} != {vacation['subject']!r}")
    elif not declined:
        problems.append(f"delivery logs no decision on the vacation: {delivered['log']}")
    elif stack.replies(message_id):
        problems.append("a reply arrived although none was announced")
    return problems


def test_the_tester_announces_what_delivery_does(corpus):
    stack, owner, addresses = corpus
    assert len(CASES) >= 30
    report = {}
    for case, address in zip(CASES, addresses, strict=True):
        message_id = f"<{uuid.uuid4().hex}@outside.test>"
        raw = case_message(case, address.email, message_id)
        tested = services.run_rule_test(actor=owner, address=address, message=raw)
        announced = [a["target"] for a in tested["final_actions"]
                     if a["kind"] == "store" and a["target"] != "INBOX"]
        for folder in (*case.folders_created, *(announced if case.folders_exist else ())):
            stack.backend.create_folder(address.email, folder)
        stack.send(raw, address.email)
        delivered = delivered_result(stack, address.email, message_id)
        problems = compare(case, tested, delivered, stack, address.email, message_id)
        if problems:
            report[case.name] = problems
    assert report == {}, "\n".join(f"{name}: {problems}" for name, problems in report.items())
