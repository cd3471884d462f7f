"""Senders limited to what the login may use, against the real Postfix submission service
with Dovecot SASL: the envelope sender (Postfix's reject_authenticated_sender_login_mismatch
over the sender_logins table the adapter writes) and the From: header (the sender milter
asking the same table)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from mailservice import services
from mailservice.desired import desired_state
from mailservice.models import Permission

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

DOMAIN = "senders.test"
SEND = [Permission.READ, Permission.SEND]


class World:
    def __init__(self, stack, owner, member, organisation):
        self.stack, self.owner = stack, owner
        self.backend = stack.backend()
        self.service = services.mail_service_create(actor=owner, organisation=organisation,
                                                    domain=DOMAIN, plan="premium", capacity=10)
        make = lambda local_part: services.address_create(  # noqa: E731
            actor=owner, service=self.service, local_part=local_part)
        self.alice, self.shared, self.bob, self.catchall = (
            make(n) for n in ("alice", "shared", "bob", "catchall"))
        services.alias_create(actor=owner, address=self.alice, local_part="sales")
        services.alias_create(actor=owner, address=self.bob, local_part="team")
        services.access_grant(actor=owner, address=self.alice, user=owner, permissions=SEND)
        self.shared_access = services.access_grant(actor=owner, address=self.shared, user=owner,
                                                   permissions=SEND)
        services.access_grant(actor=owner, address=self.bob, user=member, permissions=SEND)
        services.access_grant(actor=owner, address=self.catchall, user=owner,
                              permissions=[Permission.READ])
        _device, self.password = services.device_password_create(
            actor=owner, address=self.alice, name="laptop")
        _device, self.catchall_password = services.device_password_create(
            actor=owner, address=self.catchall, name="laptop")
        self.push()

    def push(self):
        self.backend.apply(desired_state(self.service))

    def submit(self, envelope: str, header_from: str | None = None, *, login=None, password=None):
        """Send through submission; returns None when accepted, else (code, reply text)."""
        message = EmailMessage()
        message["From"] = header_from or envelope
        message["To"], message["Subject"] = self.bob.email, "hello"
        message.set_content("hello\n")
        with smtplib.SMTP(self.stack.host, self.stack.submission_port, timeout=30) as smtp:
            smtp.login(login or self.alice.email, password or self.password)
            try:
                smtp.send_message(message, from_addr=envelope, to_addrs=[self.bob.email])
            except smtplib.SMTPRecipientsRefused as exc:
                # Postfix judges the sender at RCPT (smtpd_delay_reject).
                ((code, text),) = exc.recipients.values()
                return code, text.decode()
            except smtplib.SMTPDataError as exc:
                return exc.smtp_code, exc.smtp_error.decode()
        return None


@pytest.fixture
def world(mail_stack, owner, member, organisation):
    w = World(mail_stack, owner, member, organisation)
    yield w
    w.backend.remove_service(DOMAIN)


def test_a_login_sends_as_itself_its_aliases_and_the_addresses_its_person_may_send_as(world):
    assert world.submit(world.alice.email) is None
    assert world.submit(f"sales@{DOMAIN}") is None
    assert world.submit(world.shared.email) is None  # the owner has "send" on shared@
    assert world.submit(world.alice.email, f"Alice <{world.alice.email.upper()}>") is None


@pytest.mark.parametrize("sender", ["bob", "team", "catchall", "other"])
def test_an_envelope_sender_the_login_does_not_own_is_refused(world, sender):
    address = "someone@elsewhere.test" if sender == "other" else f"{sender}@{DOMAIN}"
    code, text = world.submit(address)
    assert code == 553, text
    assert "not owned by user alice@senders.test" in text


@pytest.mark.parametrize("sender", ["bob", "team", "catchall", "other"])
def test_a_from_header_the_login_does_not_own_is_refused(world, sender):
    address = "someone@elsewhere.test" if sender == "other" else f"{sender}@{DOMAIN}"
    code, text = world.submit(world.alice.email, f"Someone <{address}>")
    assert code == 550, text
    assert f"From: header address <{address}> is not one you may send as" in text
    assert "logged in as alice@senders.test" in text


def test_a_second_from_address_the_login_does_not_own_is_refused(world):
    code, text = world.submit(world.alice.email, f"{world.alice.email}, {world.bob.email}")
    assert code == 550 and f"<{world.bob.email}>" in text


def test_the_catchall_cannot_log_in_to_send(world):
    with pytest.raises(smtplib.SMTPAuthenticationError):
        world.submit(world.catchall.email, login=world.catchall.email,
                     password=world.catchall_password)


def test_a_send_permission_removed_refuses_the_next_message_after_the_push(world):
    assert world.submit(world.shared.email) is None
    services.access_update(actor=world.owner, access=world.shared_access,
                           permissions=[Permission.READ])
    world.push()
    code, text = world.submit(world.shared.email)
    assert code == 553, text
    code, text = world.submit(world.alice.email, world.shared.email)
    assert code == 550, text
    # Nothing else changed for the login's own address.
    assert world.submit(world.alice.email) is None


def test_with_the_from_check_down_submissions_wait_rather_than_pass_unchecked(world,
                                                                            mail_stack):
    """The sender milter is the only check of the From: header: while it is down Postfix
    answers a temporary failure (milter_default_action=tempfail, from the first command
    on), so the client keeps the message and sends it again, instead of a forged From
    passing unchecked."""
    def attempt(header_from=None):
        try:
            return world.submit(world.alice.email, header_from)
        except smtplib.SMTPAuthenticationError as exc:  # the milter is asked at connect
            return exc.smtp_code, exc.smtp_error.decode()

    assert attempt() is None
    mail_stack.stop_sender_milter()
    try:
        for header_from in (world.bob.email, None):
            code, text = attempt(header_from)
            assert 400 <= code < 500, (code, text)
    finally:
        mail_stack.start_sender_milter()
    assert attempt() is None
    assert attempt(world.bob.email)[0] == 550
