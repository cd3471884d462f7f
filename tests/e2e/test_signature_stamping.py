"""Signatures stamped by the server, against the real daemons: a template activated on
alice@ (one user), pushed as the service's desired state (the adapter writes the
signature milter's file); alice submits through the real Postfix with SMTP AUTH; bob's
mailbox receives the message with the signature once in its text and its HTML part, the
attachment of a second message intact, and OpenDKIM's signature, made after the stamping,
verifies. A changed signature is stamped on the next message; with the milter stopped,
mail still flows, unstamped (its default_action=accept). Waits are on conditions."""
from __future__ import annotations

import email
import smtplib
import uuid
from email import policy
from email.message import EmailMessage

import dkim
import pytest

from mailservice import services
from mailservice.desired import desired_state
from mailservice.models import Permission
from signatures import services as signature_services
from signatures.models import Signature
from signatures.stamp import MARKER_HEADER
from tests.e2e.stack_logs import maildir_copy, wait_for
from tests.signatures.conftest import make_template

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

DOMAIN = "stamping.test"
FIELDS = [{"key": "first_name", "source": "auto"}, {"key": "last_name", "source": "auto"},
          {"key": "department", "source": "user"}, {"key": "company", "source": "auto"}]
PDF = bytes(range(256)) * 40


class World:
    def __init__(self, stack, owner, organisation):
        self.stack = stack
        self.backend = stack.backend()
        self.service = services.mail_service_create(actor=owner, organisation=organisation,
                                                    domain=DOMAIN, plan="premium", capacity=10)
        self.alice = services.address_create(actor=owner, service=self.service,
                                             local_part="alice")
        services.address_create(actor=owner, service=self.service, local_part="bob")
        services.access_grant(actor=owner, address=self.alice, user=owner,
                              permissions=[Permission.READ, Permission.SEND,
                                           Permission.MANAGE_SIGNATURE])
        _device, self.password = services.device_password_create(
            actor=owner, address=self.alice, name="laptop")
        template = make_template(owner, self.service, fields=FIELDS)
        job = signature_services.job_start(actor=owner, template=template, kind="activate",
                                           addresses=[self.alice])
        assert signature_services.job_run(job.pk).state == "done"
        self.signature = Signature.objects.get(address=self.alice, user=owner)
        self.owner = owner
        key = self.service.dkim_keys.get()
        self.selector, self.public_key = key.selector, key.public_key

    def set_department(self, department: str) -> None:
        signature_services.signature_update(actor=self.owner, signature=self.signature,
                                            values={"department": department})
        self.push()

    def push(self):
        self.backend.apply(desired_state(self.service))

    def dnsfunc(self, name, timeout=5):
        if name.decode().rstrip(".") == f"{self.selector}._domainkey.{DOMAIN}":
            return f"v=DKIM1; k=rsa; p={self.public_key}".encode()
        return None

    def _delivered(self, message_id: str) -> bytes | None:
        return maildir_copy(self.stack, DOMAIN, "bob", message_id)

    def send(self, message: EmailMessage, *, until=lambda raw: True) -> bytes:
        """Submit as alice until a copy for which `until` holds arrives, and return it as
        delivered. A push is effective when it returns (tests/e2e/__init__.py), so each
        message must be accepted and delivered; only OpenDKIM reads its new tables a moment
        after its signal, so the first copies may lack the new key's signature."""
        def sent_and_delivered():
            del message["Message-ID"]
            message["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@{DOMAIN}>"
            with smtplib.SMTP(self.stack.host, self.stack.submission_port, timeout=30) as smtp:
                smtp.login(self.alice.email, self.password)
                smtp.send_message(message)
            raw = wait_for(lambda: self._delivered(message_id), f"delivery of {message_id}")
            return raw if until(raw) else None
        return wait_for(sent_and_delivered, "a message delivered to bob@", deadline=90)


def dkim_signed(raw: bytes) -> bool:
    return email.message_from_bytes(raw)["DKIM-Signature"] is not None


def alternative(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = f"Alice <alice@{DOMAIN}>", f"bob@{DOMAIN}"
    message["Subject"] = subject
    message.set_content("Hello Bob,\n\nthe plan for Thursday.\n")
    message.add_alternative("<html><body><p>Hello Bob,</p><p>the plan for Thursday.</p>"
                            "</body></html>\n", subtype="html")
    return message


def parts(raw: bytes) -> dict[str, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    return {kind: message.get_body(preferencelist=(kind,)).get_content()
            for kind in ("plain", "html")}


@pytest.fixture
def world(mail_stack, owner, organisation):
    w = World(mail_stack, owner, organisation)
    yield w
    mail_stack.start_stamping()  # should a test have stopped it
    w.backend.remove_service(DOMAIN)


def test_submitted_mail_is_stamped_once_in_both_parts_and_still_verifies(world):
    world.set_department("Stamped-Department-One")
    raw = world.send(alternative("Plan"), until=dkim_signed)
    delivered = email.message_from_bytes(raw)
    assert delivered[MARKER_HEADER]
    texts = parts(raw)
    assert texts["plain"].count("Stamped-Department-One") == 1
    assert "\n-- \n" in texts["plain"].replace("\r\n", "\n")
    assert texts["html"].count("Stamped-Department-One") == 1
    assert texts["plain"].index("the plan for Thursday") < texts["plain"].index("-- ")
    # OpenDKIM runs after the stamping: it signed the body as delivered.
    verifier = dkim.DKIM(raw)
    assert verifier.verify(dnsfunc=world.dnsfunc), "the DKIM signature does not verify"
    assert verifier.domain == DOMAIN.encode()

    # An attachment goes through untouched; the body part above it is stamped.
    with_file = alternative("Figures")
    with_file.add_attachment(PDF, maintype="application", subtype="pdf", filename="figures.pdf")
    raw = world.send(with_file, until=dkim_signed)
    message = email.message_from_bytes(raw, policy=policy.default)
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "figures.pdf"
    assert attachment.get_content() == PDF
    assert parts(raw)["html"].count("Stamped-Department-One") == 1
    assert dkim.DKIM(raw).verify(dnsfunc=world.dnsfunc)


def test_a_changed_signature_is_stamped_on_the_next_message(world):
    world.set_department("Before-The-Change")
    raw = world.send(alternative("One"), until=dkim_signed)
    assert "Before-The-Change" in parts(raw)["plain"]
    world.set_department("After-The-Change")  # written to the milter's file by the push
    texts = parts(world.send(alternative("Two")))
    assert texts["plain"].count("After-The-Change") == 1
    assert texts["html"].count("After-The-Change") == 1
    assert "Before-The-Change" not in texts["plain"] + texts["html"]


def test_with_the_milter_stopped_mail_still_flows_unstamped(world, mail_stack):
    world.set_department("Never-Seen")
    world.send(alternative("Warm-up"), until=dkim_signed)  # the domain is served and signed
    mail_stack.stop_stamping()
    raw = world.send(alternative("Unstamped"))
    assert email.message_from_bytes(raw)[MARKER_HEADER] is None
    texts = parts(raw)
    assert "Never-Seen" not in texts["plain"] + texts["html"]
    assert dkim.DKIM(raw).verify(dnsfunc=world.dnsfunc)  # still signed, the signer is up
    mail_stack.start_stamping()
    raw = world.send(alternative("Stamped again"))
    assert parts(raw)["plain"].count("Never-Seen") == 1


def test_stamping_switched_off_and_unauthenticated_mail_are_not_stamped(world, mail_stack):
    world.set_department("Switch-Token")
    world.send(alternative("Warm-up"), until=dkim_signed)
    signature_services.stamping_update(actor=world.owner, address=world.alice, stamping=False)
    world.push()
    raw = world.send(alternative("Switched off"))
    assert email.message_from_bytes(raw)[MARKER_HEADER] is None
    assert "Switch-Token" not in "".join(parts(raw).values())

    # Port 25 (mail from outside, no SMTP AUTH) runs no signature milter at all.
    signature_services.stamping_update(actor=world.owner, address=world.alice, stamping=True)
    world.push()
    inbound = alternative("From outside")
    inbound["Message-ID"] = message_id = f"<{uuid.uuid4().hex}@{DOMAIN}>"
    with smtplib.SMTP(mail_stack.host, mail_stack.smtp_port, timeout=30) as smtp:
        smtp.send_message(inbound)
    raw = wait_for(lambda: world._delivered(message_id), "the inbound message")
    assert email.message_from_bytes(raw)[MARKER_HEADER] is None
    assert parts(world.send(alternative("On again")))["plain"].count("Switch-Token") == 1


def reply(subject: str) -> EmailMessage:
    """A reply as Gmail writes one: the new text, then the quoted history."""
    message = EmailMessage()
    message["From"], message["To"] = f"Alice <alice@{DOMAIN}>", f"bob@{DOMAIN}"
    message["Subject"], message["In-Reply-To"] = f"Re: {subject}", f"<first@{DOMAIN}>"
    message.set_content("Thursday suits me.\n\nOn Mon, 30 Nov 2026 at 09:00, Bob "
                        f"<bob@{DOMAIN}> wrote:\n> Shall we meet?\n")
    message.add_alternative(
        "<html><body><div>Thursday suits me.</div><div class=\"gmail_quote\">On Mon, 30 Nov "
        "2026, Bob wrote:<blockquote>Shall we meet?</blockquote></div></body></html>\n",
        subtype="html")
    return message


def test_a_reply_is_stamped_above_its_quoted_history_only_when_asked(world):
    world.set_department("Reply-Department")
    world.send(alternative("Warm-up"), until=dkim_signed)
    raw = world.send(reply("Meeting"))
    assert email.message_from_bytes(raw)[MARKER_HEADER] is None  # replies: off by default
    assert "Reply-Department" not in "".join(parts(raw).values())

    signature_services.stamping_update(actor=world.owner, address=world.alice, on_replies=True)
    world.push()
    # The milter reads its file again once the push changed it: the next copies.
    raw = world.send(reply("Meeting"), until=lambda raw: dkim_signed(raw) and email
                     .message_from_bytes(raw)[MARKER_HEADER] is not None)
    texts = parts(raw)
    plain, html = texts["plain"], texts["html"]
    assert plain.count("Reply-Department") == 1 and html.count("Reply-Department") == 1
    assert plain.index("Thursday suits me.") < plain.index("Reply-Department") < plain.index(
        "wrote:")
    assert html.index("Thursday suits me.") < html.index("Reply-Department") < html.index(
        "gmail_quote")
    assert dkim.DKIM(raw).verify(dnsfunc=world.dnsfunc)
