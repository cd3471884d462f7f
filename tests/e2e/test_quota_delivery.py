"""Quotas enforced by the real stack: an address with a 1 MB quota is filled by SMTP
(Postfix → Dovecot LMTP), gets the warning near its limit, refuses the next message with
a permanent 5.2.2 that Postfix bounces to the sender (a mailbox of the same stack, so the
bounce can be read), and the quota report task brings its use into the API.

Each message is sent once the previous one is delivered: parallel LMTP sessions each
check the quota before the others have saved, so filling a mailbox concurrently could
overshoot it (Dovecot counts at commit). Waits are on conditions with a deadline."""
from __future__ import annotations

import re
import smtplib
import time
import uuid
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from mailservice import push, services, tasks
from mailservice.backends.base import MailboxState, ServiceState
from mailservice.backends.quota import EXCEEDED_MESSAGE, QuotaUsage, used_mb
from mailservice.backends.tools import doveadm_user
from mailservice.desired import desired_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

DOMAIN = "quota-full.test"
FULL = f"full@{DOMAIN}"  # quota 1 MB
SENDER = f"sender@{DOMAIN}"  # receives the bounce
DEADLINE = 30.0
BODY_KB = 195  # four messages are ~77 % of 1 MB, five ~96 %, a sixth is beyond the grace


def wait_for(condition, what: str, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"waited {deadline:.0f} s for {what}")
        time.sleep(0.1)


class Stack:
    def __init__(self, mail_stack):
        self.stack = mail_stack
        self.backend = mail_stack.backend()
        self.postfix_log = Path(mail_stack.root) / "log/postfix.log"

    def send(self, recipient: str, *, subject: str, body_kb: int = 0) -> str:
        message_id = f"<{uuid.uuid4().hex}@{DOMAIN}>"
        body = ("x" * 76 + "\r\n") * (body_kb * 1024 // 78) or "hello\r\n"
        raw = (f"From: Sender <{SENDER}>\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
               f"Message-ID: {message_id}\r\n\r\n{body}")
        with smtplib.SMTP(self.stack.host, self.stack.smtp_port, timeout=30) as smtp:
            smtp.sendmail(SENDER, [recipient], raw.encode())
        return message_id

    def outcome(self, message_id: str, recipient: str) -> tuple[str, str, str] | None:
        """(status, dsn, Postfix's reason) of the message's delivery to `recipient`."""
        text = self.postfix_log.read_text(errors="replace") if self.postfix_log.exists() else ""
        for queue_id in re.findall(r" ([0-9A-Za-z]{6,}): message-id=" + re.escape(message_id), text):
            found = re.search(rf" {queue_id}: to=<{re.escape(recipient)}>.*? dsn=([\d.]+), "
                              r"status=(\w+) \((.*)\)", text)
            if found:
                return found.group(2), found.group(1), found.group(3)
        return None

    def delivered(self, message_id: str, recipient: str) -> tuple[str, str, str]:
        return wait_for(lambda: self.outcome(message_id, recipient),
                        f"Postfix to deliver {message_id} to {recipient}")

    def used_kb(self) -> tuple[int, int]:
        usage = self.backend.quota_usage(DOMAIN)[FULL]
        return usage.used_kb, usage.limit_kb

    def messages(self, mailbox: str, *search: str) -> list:
        rows = self.backend.tools.doveadm_json(
            "fetch", "-u", doveadm_user(mailbox), "text", "mailbox", "INBOX", *search)
        return [message_from_bytes(row["text"].encode(), policy=policy.default) for row in rows]


@pytest.fixture
def stack(mail_stack, owner, organisation, settings):
    service = services.mail_service_create(actor=owner, organisation=organisation, domain=DOMAIN,
                                           plan="premium")
    full = services.address_create(actor=owner, service=service, local_part="full", quota_mb=1)
    services.address_create(actor=owner, service=service, local_part="sender")
    on = Stack(mail_stack)
    on.backend.apply(desired_state(service))

    # The new domain is served once Postfix's processes see it (the reload is asynchronous):
    # a probe is resent until one is delivered.
    def probe_delivered():
        probe = on.send(SENDER, subject="probe")
        return wait_for(lambda: on.outcome(probe, SENDER), "the probe's status",
                        deadline=10)[0] == "sent"
    wait_for(probe_delivered, "Postfix to serve the new domain", deadline=60)
    settings.MAIL_BACKEND_CONFIG = str(Path(mail_stack.root) / "stack.json")
    push.forget_hosts()
    yield on, full
    push.forget_hosts()
    on.backend.remove_service(DOMAIN)


def test_a_full_mailbox_warns_then_bounces_and_its_use_reaches_the_api(stack, api, owner):
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

    # Over quota: refused at delivery with a permanent 5.2.2, bounced to the sender.
    refused = on.send(FULL, subject="one too many", body_kb=BODY_KB)
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

    # The periodic report (run here directly, as the host's worker runs it) and the API.
    assert tasks.report_quota_usage("default") == 2
    body = api(owner).get(f"/api/v1/addresses/{full.pk}/").json()
    assert body["quota_mb"] == 1
    assert body["quota_used_mb"] == used_mb(on.used_kb()[0])
    assert 0.9 <= body["quota_used_mb"] <= 1.0
    assert body["quota_used_at"] is not None


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
