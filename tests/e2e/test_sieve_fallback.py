"""A Sieve script that stops delivery never stops the mail, against a real Postfix + Dovecot.

The script below passes sievec but makes Dovecot's Sieve engine panic as soon as it
compares a Subject (Pigeonhole 2.3.19: `mcht-matches.c … assertion failed`), which kills
the LMTP child: Postfix defers the message (4.4.2) and would retry it forever. The
request path refuses it (400 invalid_sieve); these tests put it into the desired state
behind that check's back, as a change the check missed would.
"""
import email
import imaplib
import json
import smtplib
import time
import uuid
from email.message import EmailMessage

import pytest

from mailservice import push, services
from mailservice.backends import sieve_store
from mailservice.backends.base import drift
from mailservice.desired import desired_state
from mailservice.models import Address, Permission
from manager.audit.models import AuditEntry
from manager.core.errors import ServiceError

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

CRASHING = 'require "fileinto";\nif header :matches "subject" "abc\\\\" { fileinto "X"; }\n'
GOOD_ADVANCED = 'require "fileinto";\nif header :contains "subject" "report" { fileinto "Reports"; }\n'
DEADLINE = 30.0


class Mailbox:
    """alice@<domain>: a fresh mail service pushed the way the worker pushes it."""

    def __init__(self, stack, owner, organisation, domain):
        self.stack, self.owner = stack, owner
        self.backend = stack.backend()
        self.service = services.mail_service_create(actor=owner, organisation=organisation,
                                                    domain=domain, plan="premium")
        self.address = services.address_create(actor=owner, service=self.service,
                                               local_part="alice")
        services.access_grant(actor=owner, address=self.address, user=owner,
                              permissions=[Permission.READ, Permission.SEND])
        _device, self.password = services.device_password_create(
            actor=owner, address=self.address, name="e2e imap")

    @property
    def email(self):
        return self.address.email

    def push(self):
        push.push_mail_service(self.service.domain)
        self.address.refresh_from_db()

    def store_script_unchecked(self, script):
        """What a change the request-time proof missed leaves in the database."""
        Address.objects.filter(pk=self.address.pk).update(sieve_mode="advanced",
                                                          sieve_script=script)

    def active_script(self):
        return self.backend.sieve.active([self.email])[self.email]

    def send(self, subject, sender="friend@outside.test"):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, self.email, subject
        message["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@outside.test>"
        message.set_content("hello\n")
        with smtplib.SMTP(self.stack.host, self.stack.smtp_port, timeout=30) as smtp:
            smtp.send_message(message, from_addr=sender, to_addrs=[self.email])
        return message_id

    def find(self, folder, message_id, wait=DEADLINE):
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
                        return email.message_from_bytes(parts[0][1])
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.2)
        finally:
            client.logout()

    def deferred(self):
        """Recipients of this mailbox waiting in Postfix's deferred queue."""
        out = self.backend.tools.run([self.backend.config.postqueue, "-c",
                                      str(self.backend.config.postfix_dir), "-j"]).stdout
        return [r["address"] for line in out.splitlines() if line.strip()
                for r in json.loads(line)["recipients"] if r["address"] == self.email]


@pytest.fixture
def mailbox(mail_stack, owner, organisation, settings, request):
    settings.MAIL_BACKEND_CONFIG = str(mail_stack.root / "stack.json")
    push.forget_hosts()
    name = request.node.name.removeprefix("test_").replace("_", "-")[:30].strip("-")
    box = Mailbox(mail_stack, owner, organisation, f"{name}.fallback.test")
    yield box
    box.backend.remove_service(box.service.domain)
    push.forget_hosts()


def file_reports(box):
    services.rule_create(actor=box.owner, address=box.address, name="Reports", conditions=[
        {"field": "subject", "operator": "contains", "value": "report"}],
        actions=[{"kind": "move", "argument": "Reports"}])


def test_the_request_path_refuses_the_crashing_script(mailbox):
    with pytest.raises(ServiceError) as refused:
        services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                           script=CRASHING)
    assert refused.value.code == "invalid_sieve"


def test_the_worker_does_not_activate_a_script_the_engine_cannot_run(mailbox):
    file_reports(mailbox)
    mailbox.push()
    good = mailbox.active_script()
    assert "Reports" in good and mailbox.address.sieve_sync_error == ""

    mailbox.store_script_unchecked(CRASHING)
    mailbox.push()
    assert mailbox.active_script() == good
    assert mailbox.address.sieve_failure == Address.SieveFailure.REFUSED
    assert "engine stops" in mailbox.address.sieve_failure_reason
    assert "the filters active before stay in place" in mailbox.address.sieve_sync_error
    # Held back, not drifting: the reconcile does not push it again and again.
    assert drift(desired_state(mailbox.service), mailbox.backend.actual(mailbox.service.domain)) == []

    message_id = mailbox.send("Monthly report")
    assert mailbox.find("Reports", message_id) is not None

    services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                       script=GOOD_ADVANCED)
    mailbox.push()
    assert mailbox.active_script() == GOOD_ADVANCED
    assert mailbox.address.sieve_failure == "" and mailbox.address.sieve_sync_error == ""


def test_a_script_that_stops_delivery_is_replaced_and_the_deferred_mail_arrives(
        mailbox, monkeypatch):
    file_reports(mailbox)
    mailbox.push()
    good = mailbox.active_script()

    # An engine difference the worker's check missed: the script goes live.
    monkeypatch.setattr(sieve_store, "engine_errors_or_none", lambda script, header: ())
    mailbox.store_script_unchecked(CRASHING)
    mailbox.push()
    monkeypatch.undo()
    assert mailbox.active_script() == CRASHING

    message_id = mailbox.send("Monthly report")
    # Dovecot's LMTP child dies on it; Postfix defers it.
    deadline = time.monotonic() + DEADLINE
    while not mailbox.deferred():
        assert time.monotonic() < deadline, "the message was never deferred"
        time.sleep(0.2)
    assert mailbox.find("INBOX", message_id, wait=0) is None

    # Dovecot's log process may write the child's last words a moment later.
    holds = push.check_deliveries("default")
    while not holds:
        assert time.monotonic() < deadline, "no failed delivery found in Dovecot's log"
        time.sleep(0.2)
        holds = push.check_deliveries("default")
    assert [h.email for h in holds] == [mailbox.email] and holds[0].restored
    assert "mcht-matches.c" in holds[0].reason
    assert mailbox.active_script() == good
    # The flushed queue retries at once, through the previous filters.
    assert mailbox.find("Reports", message_id) is not None

    mailbox.address.refresh_from_db()
    assert mailbox.address.sieve_failure == Address.SieveFailure.STOPPED_DELIVERY
    assert "the previous filters are active again" in mailbox.address.sieve_sync_error
    assert AuditEntry.objects.filter(verb="sieve.fell_back",
                                     object_id=str(mailbox.address.pk)).count() == 1

    # A push of the unchanged desired state does not bring the script back; the status stays.
    mailbox.push()
    assert mailbox.active_script() == good
    assert mailbox.address.sieve_failure == Address.SieveFailure.STOPPED_DELIVERY
    assert drift(desired_state(mailbox.service), mailbox.backend.actual(mailbox.service.domain)) == []
    assert push.check_deliveries("default") == []

    later = mailbox.send("Another report")
    assert mailbox.find("Reports", later) is not None
