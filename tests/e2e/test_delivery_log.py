"""The delivery log against the real stack: the seed's cases are sent through Postfix and
Dovecot (delivered, to an alias, to an unknown recipient, to a disabled address, deferred
by a mailbox that cannot be written, bounced by a redirection the stack cannot relay,
filed by a sorting rule, sent by the address through submission), the periodic task
reads the logs, and each case is found in the address's log through the API with the
right status. Waits are on conditions with deadlines (the task is run again until the
event is there)."""
from __future__ import annotations

import os
import smtplib
import uuid
from email.message import EmailMessage

import pytest

from mailservice import push, services, tasks
from mailservice.desired import desired_state
from mailservice.models import DeliveryEvent, Permission
from tests.e2e.stack_logs import REMOTE_SOURCE, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

DOMAIN = "dlog.test"
OUTSIDE = "someone@outside.test"
DEADLINE = 30.0


class World:
    """A mail service on the stack with the addresses of the seed's cases."""

    def __init__(self, stack, owner, organisation, api):
        self.stack = stack
        self.backend = stack.backend()
        self.api = api(owner)
        self.service = services.mail_service_create(actor=owner, organisation=organisation,
                                                    domain=DOMAIN, plan="premium", capacity=10)
        make = lambda local_part: services.address_create(  # noqa: E731
            actor=owner, service=self.service, local_part=local_part)
        self.alice, self.bob, self.off, self.fwd, self.dora = (
            make(n) for n in ("alice", "bob", "off", "fwd", "dora"))
        services.alias_create(actor=owner, address=self.alice, local_part="sales")
        services.redirection_create(actor=owner, address=self.fwd, target="erin@remote.test",
                                    keep_copy=False)
        services.rule_create(actor=owner, address=self.alice, name="reports", conditions=[
            {"field": "subject", "operator": "contains", "value": "report"}],
            actions=[{"kind": "move", "argument": "Reports"}])
        services.address_update(actor=owner, address=self.off, enabled=False)
        services.access_grant(actor=owner, address=self.alice, user=owner,
                              permissions=[Permission.READ, Permission.SEND])
        _device, self.password = services.device_password_create(
            actor=owner, address=self.alice, name="laptop")
        self.backend.apply(desired_state(self.service))
        for address in (self.alice, self.dora):  # their mailbox directories exist from now on
            self.backend.create_folder(address.email, "Reports")

    def send(self, *recipients, subject="Hello", submission=False) -> str:
        message = EmailMessage()
        sender = self.alice.email if submission else OUTSIDE
        message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
        message["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@outside.test>"
        message.set_content("hello\n")
        port = self.stack.submission_port if submission else self.stack.smtp_port
        source = "127.0.0.1" if submission else REMOTE_SOURCE
        with smtplib.SMTP(self.stack.host, port, timeout=30, source_address=(source, 0)) as smtp:
            if submission:
                smtp.login(self.alice.email, self.password)
            try:
                smtp.send_message(message, from_addr=sender, to_addrs=list(recipients))
            except smtplib.SMTPRecipientsRefused:
                pass  # the refusal is one of the cases
        return message_id

    def log(self, address, **params) -> list[dict]:
        """The address's delivery log through the API, after the task read the logs."""
        tasks.read_delivery_log("default")
        response = self.api.get(f"/api/v1/addresses/{address.pk}/delivery-log/", params)
        assert response.status_code == 200, response.content
        return response.json()["results"]

    def event(self, address, status, deadline=DEADLINE, **params) -> dict:
        """Wait until the address's log has the event with `status` and `params`."""
        def found():
            rows = [r for r in self.log(address, **params) if r["status"] == status]
            return rows[0] if rows else None
        return wait_for(found, f"a {status} event {params} in {address.email}'s log", deadline)


@pytest.fixture
def world(mail_stack, owner, organisation, api, settings):
    settings.MAIL_BACKEND_CONFIG = str(mail_stack.root / "stack.json")
    push.forget_hosts()
    world = World(mail_stack, owner, organisation, api)
    yield world
    os.chmod(mail_stack.root / "vmail" / DOMAIN / "dora", 0o700)
    world.backend.remove_service(DOMAIN)
    push.forget_hosts()


def test_each_seed_case_is_in_the_addresss_log_with_its_status(world):
    w = world
    # The mailbox cannot be written: Dovecot answers a temporary failure.
    os.chmod(w.stack.root / "vmail" / DOMAIN / "dora", 0)
    sent = {
        "delivered": w.send(w.bob.email, subject="Plain"),
        "alias": w.send(f"sales@{DOMAIN}", subject="To the alias"),
        "unknown": w.send(f"nobody@{DOMAIN}", subject="Nobody"),
        "disabled": w.send(w.off.email, subject="Disabled"),
        "deferred": w.send(w.dora.email, subject="Deferred"),
        "bounced": w.send(w.fwd.email, subject="Redirected"),
        "sorted": w.send(w.alice.email, subject="Monthly report"),
        "submitted": w.send(w.bob.email, subject="From alice", submission=True),
        "submitted unknown": w.send(f"ghost@{DOMAIN}", subject="To a ghost", submission=True),
    }

    plain = w.event(w.bob, "delivered", message_id=sent["delivered"])
    assert plain["folder"] == "INBOX" and plain["sender"] == OUTSIDE
    assert plain["subject"] == "Plain" and plain["queue_id"] and plain["direction"] == "in"

    alias = w.event(w.alice, "delivered", message_id=sent["alias"])
    assert alias["original_recipient"] == f"sales@{DOMAIN}"
    assert alias["recipient"] == w.alice.email

    # Refused at RCPT: no message id was logged; found by recipient.
    disabled = w.event(w.off, "rejected", recipient=w.off.email)
    assert disabled["dsn"].startswith("5.") and "disabled" in disabled["reason"].lower()

    deferred = w.event(w.dora, "deferred", message_id=sent["deferred"])
    assert deferred["dsn"].startswith("4.")

    bounced = w.event(w.fwd, "bounced", message_id=sent["bounced"])
    assert bounced["recipient"] == "erin@remote.test"
    assert bounced["original_recipient"] == w.fwd.email and bounced["dsn"].startswith("5.")

    report = w.event(w.alice, "delivered", message_id=sent["sorted"])
    assert report["folder"] == "Reports" and "fileinto" in report["sieve_action"]

    accepted = w.event(w.alice, "accepted", message_id=sent["submitted"])
    assert accepted["direction"] == "out" and accepted["sasl_username"] == w.alice.email
    out = w.event(w.alice, "delivered", message_id=sent["submitted"], direction="out")
    assert out["recipient"] == w.bob.email
    assert out["sender_address"] == {"id": w.alice.pk, "email": w.alice.email}
    assert w.event(w.bob, "delivered", message_id=sent["submitted"])["id"] == out["id"]

    # An unknown recipient: in the log of the address that sent it, and in the service's.
    ghost = w.event(w.alice, "rejected", recipient=f"ghost@{DOMAIN}")
    assert ghost["direction"] == "out" and ghost["dsn"] == "5.1.1"
    service_log = w.api.get(f"/api/v1/mail-services/{w.service.pk}/delivery-log/",
                            {"recipient": f"nobody@{DOMAIN}"}).json()["results"]
    assert [(r["status"], r["address"]) for r in service_log] == [("rejected", None)]


def test_a_deferred_message_moves_on_to_delivered_once_the_mailbox_is_back(world):
    w = world
    os.chmod(w.stack.root / "vmail" / DOMAIN / "dora", 0)
    message_id = w.send(w.dora.email, subject="Later")
    deferred = w.event(w.dora, "deferred", message_id=message_id)
    os.chmod(w.stack.root / "vmail" / DOMAIN / "dora", 0o700)
    w.backend.tools.flush_queue()
    delivered = w.event(w.dora, "delivered", message_id=message_id)
    assert delivered["id"] == deferred["id"]  # one event per message and recipient
    assert DeliveryEvent.objects.filter(queue_id=deferred["queue_id"]).count() == 1


def test_lines_written_before_postfix_rotates_and_compresses_its_log_are_not_lost(world):
    """`postfix logrotate` renames the file, reopens a new one and gzips the old one: the
    lines of a delivery logged after the last read but before the rotation are read from
    the archive, once, and the next message from the new file (which may have been given
    the old file's inode)."""
    w = world
    log = w.stack.root / "log" / "postfix.log"
    first = w.send(w.bob.email, subject="Before")
    w.event(w.bob, "delivered", message_id=first)
    before = w.send(w.bob.email, subject="Logged, not read, then rotated")
    queue_id = wait_for(lambda: next((line.split(": ", 2)[1] for line in log.read_text().splitlines()
                                      if f"message-id={before}" in line), None),
                        "the message's queue id in Postfix's log")
    wait_for(lambda: any(f"{queue_id}: to=<{w.bob.email}>" in line and "status=sent" in line
                         for line in log.read_text().splitlines()),
             "its delivery in Postfix's log")
    config = w.backend.config
    w.backend.tools.run([config.postfix, "-c", str(config.postfix_dir), "logrotate"])
    rotated = sorted(p.name for p in log.parent.iterdir() if p.name.startswith("postfix.log."))
    assert len(rotated) == 1 and rotated[0].endswith(".gz"), rotated  # compressed: a new inode

    after = w.send(w.bob.email, subject="After")
    assert w.event(w.bob, "delivered", message_id=after)["subject"] == "After"
    rotated_event = w.event(w.bob, "delivered", message_id=before)
    assert rotated_event["queue_id"] == queue_id
    assert DeliveryEvent.objects.filter(queue_id=queue_id).count() == 1
