"""Quotas enforced by the real stack: an address with a 1 MB quota is filled by SMTP
(Postfix → Dovecot LMTP) and gets the warning near its limit. Postfix asks Dovecot's
quota-status service at RCPT: a message announced (SIZE) too big for what is left, or any
message once the mailbox is past its limit, is refused there with 552 5.2.2 and never
queued. A message whose size is not announced passes RCPT and is refused at delivery with
a permanent 5.2.2 that Postfix bounces to the sender (a mailbox of the same stack, so the
bounce can be read). With the quota-status service down, Postfix lets mail through
(fail-open) and LMTP still refuses what does not fit. The quota report task brings the
use into the API.

Each message is sent once the previous one is delivered: parallel LMTP sessions each
check the quota before the others have saved, so filling a mailbox concurrently could
overshoot it (Dovecot counts at commit). Waits are on conditions with a deadline."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import smtplib

import pytest

from mailservice import push, services, tasks
from mailservice.backends.base import MailboxState, ServiceState
from mailservice.backends.quota import EXCEEDED_MESSAGE, QUOTA_ROOT, QuotaUsage, used_mb
from mailservice.backends.tools import doveadm_user
from mailservice.desired import desired_state
from tests.e2e.stack_logs import StackLogs, mailbox_messages, new_message_id, send_raw, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

DOMAIN = "quota-full.test"
FULL = f"full@{DOMAIN}"  # quota 1 MB
SENDER = f"sender@{DOMAIN}"  # receives the bounce
BODY_KB = 195  # four messages are ~77 % of 1 MB, five ~96 %, a sixth is beyond the grace
GRACE_KB = 60  # ends ~2 % past the limit: within the 10 % grace, so still accepted
REFUSED_AT_RCPT = re.compile(r"NOQUEUE: reject: RCPT from \S+: 552 5\.2\.2 <([^>]+)>: "
                             r"Recipient address rejected: (.*?); from=<([^>]*)>")


class Stack(StackLogs):
    def __init__(self, mail_stack):
        super().__init__(mail_stack)
        self.stack = mail_stack
        self.backend = mail_stack.backend()

    def raw(self, recipient: str, *, subject: str, body_kb: int = 0) -> tuple[str, bytes]:
        message_id = new_message_id(DOMAIN)
        body = ("x" * 76 + "\r\n") * (body_kb * 1024 // 78) or "hello\r\n"
        return message_id, (f"From: Sender <{SENDER}>\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
                            f"Message-ID: {message_id}\r\n\r\n{body}").encode()

    def send(self, recipient: str, *, subject: str, body_kb: int = 0,
             announce_size: bool = True) -> str:
        message_id, raw = self.raw(recipient, subject=subject, body_kb=body_kb)
        send_raw(self.stack, SENDER, [recipient], raw, announce_size=announce_size)
        return message_id

    def refused_at_rcpt(self, recipient: str, *, subject: str, body_kb: int = 0) -> str:
        """Send a message that Postfix must refuse at RCPT; the reply's text."""
        seen = len(self.rcpt_refusals(recipient))
        message_id, raw = self.raw(recipient, subject=subject, body_kb=body_kb)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send_raw(self.stack, SENDER, [recipient], raw)
        code, reply = refused.value.recipients[recipient]
        assert code == 552, (code, reply)
        # Never queued: Postfix logged the refusal without a queue id, and no queue file
        # (whose cleanup would log the Message-ID) was made for it.
        wait_for(lambda: len(self.rcpt_refusals(recipient)) > seen, "Postfix's NOQUEUE line")
        assert message_id not in self.log("postfix.log")
        return reply.decode()

    def rcpt_refusals(self, recipient: str) -> list[str]:
        """The reasons of Postfix's 552 5.2.2 refusals of `recipient` at RCPT."""
        return [reason for to, reason, sender in REFUSED_AT_RCPT.findall(self.log("postfix.log"))
                if to == recipient and sender == SENDER]

    def delivered(self, message_id: str, recipient: str) -> tuple[str, str, str]:
        return self.final_outcome(message_id, recipient)

    def used_kb(self) -> tuple[int, int]:
        usage = self.backend.quota_usage(DOMAIN)[FULL]
        return usage.used_kb, usage.limit_kb

    def messages(self, mailbox: str, *search: str) -> list:
        return mailbox_messages(self.backend, mailbox, "text", *search, folder="INBOX")

    def fill_past_the_limit(self, mailbox: str, kilobytes: int) -> None:
        """Save a message straight into the mailbox, the quota not enforced (as an IMAP
        APPEND within the grace would): its use is then past its limit."""
        _message_id, raw = self.raw(mailbox, subject="filler", body_kb=kilobytes)
        self.backend.tools.doveadm("-o", f"plugin/quota=count:{QUOTA_ROOT}:noenforcing",
                                   "save", "-u", doveadm_user(mailbox), "-m", "INBOX",
                                   input=raw.decode())

    @contextlib.contextmanager
    def quota_status_down(self):
        """Dovecot's quota-status service unreachable: its socket is moved away, and its
        running processes (children of this stack's Dovecot, to which Postfix's smtpd
        processes keep a connection) are stopped, so Postfix must connect again and cannot."""
        socket = self.stack.quota_status_socket
        hidden = socket.with_name(socket.name + ".down")
        socket.rename(hidden)
        try:
            running = self.stack.dovecot_service_pids("quota-status")
            for pid in running:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not set(running) & set(self.stack.dovecot_service_pids("quota-status")),
                     "the quota-status processes to exit")
            yield
        finally:
            hidden.rename(socket)


@pytest.fixture
def stack(mail_stack, owner, organisation, settings):
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=DOMAIN,
                                           plan="premium")
    full = services.address_create(actor=owner, service=service, local_part="full", quota_mb=1)
    services.address_create(actor=owner, service=service, local_part="sender")
    on = Stack(mail_stack)
    on.backend.apply(desired_state(service))
    settings.MAIL_BACKEND_CONFIG = str(mail_stack.root / "stack.json")
    push.forget_hosts()
    yield on, full
    push.forget_hosts()
    on.backend.remove_service(DOMAIN)


def test_a_full_mailbox_warns_then_refuses_at_rcpt_or_bounces_and_its_use_reaches_the_api(
        stack, api, owner):
    on, full = stack
    assert on.used_kb() == (0, 1024)  # the 1 MB quota from the address's userdb row

    for n in range(4):
        assert on.delivered(on.send(FULL, subject=f"big {n}", body_kb=BODY_KB), FULL)[0] == "sent"
    used, limit = on.used_kb()
    assert used < 0.9 * limit  # below the warning threshold
    assert on.messages(FULL, "header", "Auto-Submitted", "auto-generated") == []

    # The message that passes 90 % is delivered, and the warning follows it.
    assert on.delivered(on.send(FULL, subject="big 4", body_kb=BODY_KB), FULL)[0] == "sent"
    used, limit = on.used_kb()
    assert 0.9 * limit <= used <= limit
    warning = wait_for(lambda: on.messages(FULL, "header", "Auto-Submitted", "auto-generated"),
                       "the quota warning in the mailbox")
    assert len(warning) == 1
    assert warning[0]["Subject"].startswith("Your mailbox is almost full")
    assert f"Your mailbox {FULL} has used 90 % of its storage quota." in \
        warning[0].get_content()
    used = on.used_kb()[0]  # the warning counts too

    # Announced too big for what is left: refused at RCPT, before any data.
    reply = on.refused_at_rcpt(FULL, subject="one too many", body_kb=BODY_KB)
    assert reply.startswith(f"5.2.2 <{FULL}>: Recipient address rejected: {EXCEEDED_MESSAGE}")
    assert on.rcpt_refusals(FULL)[-1] == EXCEEDED_MESSAGE

    # Its size unknown at RCPT, the same message is accepted there, refused at delivery
    # with a permanent 5.2.2, and bounced to the sender.
    refused = on.send(FULL, subject="one too many", body_kb=BODY_KB, announce_size=False)
    status, dsn, reason = on.delivered(refused, FULL)
    assert (status, dsn) == ("bounced", "5.2.2"), reason
    assert f"552 5.2.2 <{FULL}> {EXCEEDED_MESSAGE}" in " ".join(reason.split())
    bounce = wait_for(lambda: on.messages(SENDER, "from", "MAILER-DAEMON", "text", refused),
                      "the bounce in the sender's mailbox")
    assert len(bounce) == 1 and bounce[0].get_content_type() == "multipart/report"
    report = next(part for part in bounce[0].walk()
                  if part.get_content_type() == "message/delivery-status")
    fields = str(report)
    assert f"Final-Recipient: rfc822; {FULL}" in fields
    assert "Action: failed" in fields and "Status: 5.2.2" in fields
    assert on.used_kb()[0] == used  # nothing of it was stored

    # A message that ends within the grace still fits, at RCPT and at delivery; after it
    # the mailbox is past its limit and even a one-line message is refused at RCPT.
    assert on.delivered(on.send(FULL, subject="last one", body_kb=GRACE_KB), FULL)[0] == "sent"
    used, limit = on.used_kb()
    assert limit < used <= 1.1 * limit
    on.refused_at_rcpt(FULL, subject="hello")
    assert on.used_kb()[0] == used
    # The sender's own mailbox is not full: its mail goes through the same check.
    assert on.delivered(on.send(SENDER, subject="hello"), SENDER)[0] == "sent"

    # The periodic report (run here directly, as the host's worker runs it) and the API.
    assert tasks.report_quota_usage("default") == 2
    body = api(owner).get(f"/api/v1/addresses/{full.pk}/").json()
    assert body["quota_mb"] == 1
    assert body["quota_used_mb"] == used_mb(on.used_kb()[0])
    assert 1.0 < body["quota_used_mb"] <= 1.1
    assert body["quota_used_at"] is not None


def test_with_the_quota_status_service_down_mail_is_accepted_and_lmtp_still_refuses(stack):
    """Fail-open, by choice (mailservice/backends/quota.py): Postfix's default for a policy
    service it cannot reach is 451 4.3.5, which would defer all inbound mail during the
    outage; the stack answers DUNNO and leaves the quota to delivery."""
    on, _full = stack
    on.fill_past_the_limit(FULL, 1100)
    assert on.used_kb()[0] > 1024
    on.refused_at_rcpt(FULL, subject="before")
    problems = len(re.findall(r"warning: problem talking to server \S*quota-status",
                              on.log("postfix.log")))

    with on.quota_status_down():
        # Accepted at RCPT, refused by LMTP at delivery, bounced.
        accepted = on.send(FULL, subject="during")
        status, dsn, reason = on.delivered(accepted, FULL)
        assert (status, dsn) == ("bounced", "5.2.2"), reason
        # The rest of the mail flows.
        assert on.delivered(on.send(SENDER, subject="during"), SENDER)[0] == "sent"
        # Postfix logged that it could not ask (the operator's alert).
        wait_for(lambda: len(re.findall(r"warning: problem talking to server \S*quota-status",
                                        on.log("postfix.log"))) > problems,
                 "Postfix's warning about the policy service")

    # Back: refused at RCPT again.
    on.refused_at_rcpt(FULL, subject="after")


def test_the_report_covers_disabled_mailboxes_and_unlimited_ones(mail_stack):
    """The domain mask lists only the userdb's iterated (enabled) users; a disabled
    mailbox keeps its mail, and its use is asked for by name."""
    backend = mail_stack.backend()
    domain = "quota-report.test"
    backend.apply(ServiceState(domain=domain, mailboxes=(
        MailboxState(f"on@{domain}", True, 5, None),
        MailboxState(f"off@{domain}", False, 7, None),
        MailboxState(f"free@{domain}", True, 0, None))))
    try:
        assert backend.quota_usage(domain) == {
            f"on@{domain}": QuotaUsage(used_kb=0, limit_kb=5 * 1024),
            f"off@{domain}": QuotaUsage(used_kb=0, limit_kb=7 * 1024),
            f"free@{domain}": QuotaUsage(used_kb=0, limit_kb=None)}
        assert backend.quota_usage("nothing-here.test") == {}
    finally:
        backend.remove_service(domain)
