"""Sorting rules proven by real delivery: the address's desired state (rules compiled
into its active script) is applied to a private Dovecot + Postfix, sample messages are
delivered by SMTP and read back over IMAP."""
from pathlib import Path

import pytest

from mailservice import services
from manager.core.errors import ServiceError
from tests.e2e import stack_logs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SIEVE_DIR = Path(__file__).resolve().parent.parent / "sieve"
SAMPLES = SIEVE_DIR / "samples"


class Mailbox(stack_logs.Mailbox):
    def deliver(self, sample: str) -> str:
        """Send a sample .eml to the address through the inbound port; its Message-ID."""
        return self.deliver_bytes((SAMPLES / sample).read_bytes())


@pytest.fixture
def mailbox(mail_stack, owner, organisation, request):
    name = request.node.name.removeprefix("test_").replace("_", "-")[:30].strip("-")
    box = Mailbox(mail_stack, owner, organisation, f"{name}.rules.test")
    yield box
    box.remove()


def fb_rule(folder):
    return {"name": "Facebook", "conditions": [
        {"field": "from", "operator": "contains", "value": "facebook.com"}],
        "actions": [{"kind": "move", "argument": folder}]}


def test_a_standard_rule_files_facebook_mail_into_fb(mailbox):
    services.rule_create(actor=mailbox.owner, address=mailbox.address, **fb_rule("fb"))
    mailbox.apply()
    facebook = mailbox.deliver("facebook.eml")
    plain = mailbox.deliver("plain.eml")
    assert mailbox.find("fb", facebook) is not None
    assert mailbox.find("INBOX", plain) is not None
    assert mailbox.find("INBOX", facebook, wait=0) is None


def test_a_rule_with_a_missing_folder_creates_it(mailbox):
    services.rule_create(actor=mailbox.owner, address=mailbox.address,
                               **fb_rule("Social/Facebook 2026"))
    mailbox.apply()
    assert "Social/Facebook 2026" not in mailbox.backend.list_folders(mailbox.email)
    facebook = mailbox.deliver("facebook.eml")
    assert mailbox.find("Social/Facebook 2026", facebook) is not None
    assert "Social/Facebook 2026" in mailbox.backend.list_folders(mailbox.email)


def test_guide_example_2_files_the_list_and_rewrites_the_subject(mailbox):
    script = (SIEVE_DIR / "guide_example_2.sieve").read_text()
    services.rule_create(actor=mailbox.owner, address=mailbox.address, **fb_rule("fb"))
    services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                             script=script)
    mailbox.apply()
    # The guide asks for the folder to exist (its fileinto has no :create).
    mailbox.backend.create_folder(mailbox.email, "Mail List/SL-Devel")
    reply = mailbox.deliver("sl-devel-reply.eml")
    facebook = mailbox.deliver("facebook.eml")
    message = mailbox.find("Mail List/SL-Devel", reply)
    assert message is not None
    assert message["Subject"] == "Re: kernel 6.1 update"
    # The standard rules are kept but inactive in advanced mode.
    assert mailbox.find("INBOX", facebook) is not None


def test_guide_example_1_files_facebook_and_newsletters(mailbox):
    script = (SIEVE_DIR / "guide_example_1.sieve").read_text()
    services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                             script=script)
    mailbox.apply()
    for folder in ("fb", "nl"):
        mailbox.backend.create_folder(mailbox.email, folder)
    facebook = mailbox.deliver("facebook.eml")
    newsletter = mailbox.deliver("newsletter.eml")
    assert mailbox.find("fb", facebook) is not None
    assert mailbox.find("nl", newsletter) is not None


def test_switching_back_to_standard_reactivates_the_rules(mailbox):
    services.rule_create(actor=mailbox.owner, address=mailbox.address, **fb_rule("fb"))
    services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                             script=(SIEVE_DIR / "guide_example_2.sieve").read_text())
    services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="standard")
    mailbox.apply()
    facebook = mailbox.deliver("facebook.eml")
    assert mailbox.find("fb", facebook) is not None


def test_a_pattern_ending_in_a_backslash_never_stops_delivery(mailbox):
    """Such a :matches key made the engine abort at every delivery (mail deferred for ever):
    in a standard rule the final backslash now stands for itself, and an advanced script
    that still has one is refused before it is saved or pushed."""
    services.rule_create(actor=mailbox.owner, address=mailbox.address, name="Invoices",
                         conditions=[{"field": "subject", "operator": "matches",
                                      "value": "invoice*\\"}],
                         actions=[{"kind": "move", "argument": "bs"}])
    crashing = 'require "fileinto";\nif header :matches "subject" "abc\\\\" { fileinto "x"; }\n'
    with pytest.raises(ServiceError) as refused:
        services.sieve_set(actor=mailbox.owner, address=mailbox.address, mode="advanced",
                           script=crashing)
    assert refused.value.code == "invalid_sieve" and "engine" in refused.value.message
    mailbox.address.refresh_from_db()
    assert mailbox.address.sieve_mode == "standard"
    mailbox.apply()
    head = b"From: a@outside.test\r\nTo: " + mailbox.email.encode() + b"\r\n"
    match = mailbox.deliver_bytes(head + b"Subject: invoice 42\\\r\nMessage-ID: <bs1@outside.test>"
                                  b"\r\n\r\nbody\r\n")
    other = mailbox.deliver_bytes(head + b"Subject: hello\r\nMessage-ID: <bs2@outside.test>"
                                  b"\r\n\r\nbody\r\n")
    assert match == "<bs1@outside.test>" and other == "<bs2@outside.test>"
    assert mailbox.find("bs", match) is not None
    assert mailbox.find("INBOX", other) is not None
