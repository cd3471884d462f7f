"""What e2e tests do with the local mail stack: send mail to it by SMTP, read it back
(IMAP, doveadm), read its Postfix and Dovecot logs (in the formats scripts/localstack.py
configures, which the delivery log also reads), and wait on a condition with a deadline —
never a fixed sleep.

A push or an apply is effective when it returns (tests/e2e/__init__.py): mail is sent
right after it, once, with no probe."""
from __future__ import annotations

import email
import imaplib
import re
import shutil
import smtplib
import subprocess
import time
import uuid
from email import policy
from pathlib import Path

from mailservice import services
from mailservice.backends.base import BackendError
from mailservice.backends.tools import doveadm_user
from mailservice.desired import desired_state
from mailservice.models import Permission

DEADLINE = 30.0
# Deliver as a remote MTA would. Postfix rewrites the address headers of mail whose client
# is one of its own interfaces (local_header_rewrite_clients), and the stack listens on
# 127.0.0.1: from there "Sender: owner-… at LISTSERV.FNAL.GOV" would reach Sieve rewritten.
REMOTE_SOURCE = "127.0.0.77"
# Postfix's statuses after which it does not try that recipient again.
FINAL_STATUSES = ("sent", "bounced", "expired", "undeliverable")


def wait_for(condition, what: str, deadline: float = DEADLINE, every: float = 0.1):
    """`condition()`'s first truthy value; an AssertionError naming `what` after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"waited {deadline:.0f} s for {what}")
        time.sleep(every)


def send_raw(mail_stack, sender: str, recipients: list[str], raw: bytes, *,
             source: str = REMOTE_SOURCE, announce_size: bool = True) -> None:
    """One SMTP transaction on the stack's inbound port. `announce_size=False` leaves
    SIZE= out of MAIL FROM, so what Postfix checks at RCPT does not know the size."""
    with smtplib.SMTP(mail_stack.host, mail_stack.smtp_port, timeout=30,
                      source_address=(source, 0)) as smtp:
        if announce_size:
            smtp.sendmail(sender, recipients, raw)
            return
        smtp.ehlo()
        code, reply = smtp.mail(sender)
        assert code == 250, (code, reply)
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code != 250:
                raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        code, reply = smtp.data(raw)
        assert code == 250, (code, reply)


def maildir_copy(mail_stack, domain: str, local_part: str, message_id: str) -> bytes | None:
    """The delivered bytes of the message with `message_id` in the mailbox's INBOX, or None
    (read from its Maildir: exactly what Dovecot stored, for checks on bytes)."""
    maildir = Path(mail_stack.root) / "vmail" / domain / local_part / "Maildir"
    for folder in ("new", "cur"):
        for path in (maildir / folder).glob("*") if (maildir / folder).exists() else ():
            raw = path.read_bytes()
            if message_id.encode() in raw:
                return raw
    return None


def new_message_id(domain: str = "outside.test") -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def mailbox_fetch(backend, mailbox: str, fields: str, *search: str, folder: str = "*") -> list:
    """doveadm fetch's rows for `mailbox`; none yet when doveadm met a delivery's locks (a
    transient failure, BackendError.permanent false): the caller polls again."""
    try:
        return backend.tools.doveadm_json(
            "fetch", "-u", doveadm_user(mailbox), fields, "mailbox", folder, *search)
    except BackendError as exc:
        if exc.permanent:
            raise
        return []


def mailbox_messages(backend, mailbox: str, field: str, *search: str, folder: str = "*") -> list:
    """The messages of `mailbox` matching doveadm's `search`, parsed from `field` ("hdr":
    the headers, "text": the whole message)."""
    rows = mailbox_fetch(backend, mailbox, field, *search, folder=folder)
    return [email.message_from_bytes(row[field].encode(), policy=policy.default) for row in rows]


def settled_postfix_log(mail_stack) -> str:
    """postfix.log once every line Postfix sent before this call is written. Its daemons
    log through postlogd, which writes a moment later: the master's "reload" line can land
    after the push that caused it returned. A marker sent now through the same socket
    (postlog(1)) is written after them."""
    marker = f"e2e-log-marker-{uuid.uuid4().hex}"
    postlog = shutil.which("postlog", path="/usr/sbin:/usr/bin:/sbin") or "postlog"
    subprocess.run([postlog, "-c", str(mail_stack.config.postfix_dir), "-t", "postfix/e2e",
                    marker], check=True, capture_output=True)
    path = Path(mail_stack.root) / "log/postfix.log"

    def written():
        text = path.read_text(errors="replace")
        return text if marker in text else ""
    return wait_for(written, "postlogd to write a marker")


def postfix_reloads(mail_stack) -> int:
    """How many times Postfix's master has reloaded, every line logged so far counted."""
    return settled_postfix_log(mail_stack).count(" reload -- version ")


class StackLogs:
    """The stack's log files (`<root>/log/postfix.log`, `dovecot.log`)."""

    def __init__(self, mail_stack):
        self.logs = Path(mail_stack.root) / "log"

    def log(self, name: str) -> str:
        path = self.logs / name
        return path.read_text(errors="replace") if path.exists() else ""

    def outcome(self, message_id: str, recipient: str) -> tuple[str, str, str] | None:
        """(status, dsn, Postfix's reason) of the message's last delivery attempt to
        `recipient`, once logged; a "deferred" one is followed by the next try's."""
        text = self.log("postfix.log")
        queue_ids = re.findall(r" ([0-9A-Za-z]{6,}): message-id=" + re.escape(message_id), text)
        for queue_id in queue_ids:
            attempts = re.findall(rf" {queue_id}: to=<{re.escape(recipient)}>,.*? "
                                  r"dsn=([\d.]+), status=(\w+) \((.*)\)", text)
            if attempts:
                dsn, status, reason = attempts[-1]
                return status, dsn, reason
        return None

    def delivery_status(self, message_id: str, recipient: str) -> str | None:
        """Postfix's status of the message's last delivery attempt to `recipient`."""
        found = self.outcome(message_id, recipient)
        return found[0] if found else None

    def final_outcome(self, message_id: str, recipient: str,
                      deadline: float = DEADLINE) -> tuple[str, str, str]:
        """(status, dsn, reason) once Postfix is done with the recipient (a deferral
        under load is retried by the queue, not seen as the outcome)."""
        return wait_for(lambda: (found := self.outcome(message_id, recipient))
                        and found[0] in FINAL_STATUSES and found,
                        f"Postfix to be done with {message_id} for {recipient}", deadline)

    def sieve_log(self, message_id: str, mailbox: str) -> list[str]:
        """Dovecot's Sieve actions on the message in `mailbox`, in order: the stack's
        deliver_log_format writes "… msgid=<…> from_envelope=<…> … storage_id=…: fileinto
        action: stored mail into mailbox 'X'" → "stored mail into mailbox 'X'" (mail_log's
        "save: …" lines are not actions)."""
        action = re.compile(f"msgid={re.escape(message_id)} .*?storage_id=\\S*: (.*)$")
        found = []
        for line in self.log("dovecot.log").splitlines():
            match = action.search(line)
            if f"lmtp({mailbox})" in line and match:
                found.append(re.sub(r"^[\w ]+ action: ", "", match.group(1)))
        return found


class Mailbox(StackLogs):
    """alice@<domain>: one address of a fresh mail service, with "read" and "send" for its
    owner and a device password for IMAP. `apply()` puts the service's desired state on
    the stack as the adapter does."""

    def __init__(self, mail_stack, owner, organisation, domain: str):
        super().__init__(mail_stack)
        self.stack, self.owner = mail_stack, owner
        self.backend = mail_stack.backend()
        self.service = services.mail_service_create(actor=owner, organisation=organisation,
                                                    domain=domain, plan="premium")
        self.address = services.address_create(actor=owner, service=self.service,
                                               local_part="alice")
        services.access_grant(actor=owner, address=self.address, user=owner,
                              permissions=[Permission.READ, Permission.SEND])
        _device, self.password = services.device_password_create(
            actor=owner, address=self.address, name="e2e imap")

    @property
    def email(self) -> str:
        return self.address.email

    def apply(self) -> None:
        self.backend.apply(desired_state(self.service))

    def remove(self) -> None:
        self.backend.remove_service(self.service.domain)

    def deliver_bytes(self, raw: bytes, sender: str = "sender@outside.test") -> str:
        """Send a message to the address through the inbound port; its Message-ID."""
        send_raw(self.stack, sender, [self.email], raw)
        return email.message_from_bytes(raw)["Message-ID"]

    def send(self, subject: str, sender: str = "friend@outside.test") -> str:
        message_id = new_message_id()
        return self.deliver_bytes(
            (f"From: {sender}\r\nTo: {self.email}\r\nSubject: {subject}\r\n"
             f"Message-ID: {message_id}\r\n\r\nhello\r\n").encode(), sender)

    def find(self, folder: str, message_id: str, wait: float = DEADLINE):
        """The message's headers once it is in `folder`, or None after `wait` seconds."""
        deadline = time.monotonic() + wait
        client = imaplib.IMAP4(self.stack.host, self.stack.imap_port, timeout=30)
        try:
            client.login(self.email, self.password)
            while True:
                status, _ = client.select(f'"{folder}"', readonly=True)
                if status == "OK":
                    _, data = client.search(None, "HEADER", "Message-ID", message_id)
                    if data[0].split():
                        _, parts = client.fetch(data[0].split()[0], "(BODY.PEEK[HEADER])")
                        return email.message_from_bytes(parts[0][1], policy=policy.default)
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.2)
        finally:
            client.logout()
